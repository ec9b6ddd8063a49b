"""The applicant's test accounts and how the product authenticates them: auth schemes, CSRF
tokens, and request signing.
"""

from __future__ import annotations

import string
from decimal import Decimal
from typing import Literal

from pydantic import field_validator, model_validator

from harness.spec.fields import NonEmpty, Strict


class Account(Strict):
    """A test account the applicant provides; the PII fields let data checks find leaks.

    Only ``name`` is always needed: a product that signs in with an API key has no password, and
    one that keeps no "account" has no account number. Whatever else identifies the account or
    authenticates it (a user ID, a second account number, a per-wallet key, an API key) goes in
    ``values``, by the names the driver's templates use (``{user_id}``, ``{api_key}``)."""

    name: NonEmpty  # how suites refer to it
    username: str | None = None
    password: str | None = None
    account_id: str | None = None
    card_number: str | None = None
    id_number: str | None = None
    phone: str | None = None
    balance: Decimal | None = None
    sign_secret: str | None = None  # when signing.key is "account": the per-account secret
    values: dict[str, str] = {}  # any other identifier or credential, by template name
    # Created through the product's own API (driver.provision) on every deployment before the checks
    # run; values the answers assign (IDs, keys) are captured into the account's values.
    provision: bool = False
    # Destructive uses a check may put this account to ("lockout": it may be locked). Other checks
    # leave such accounts alone, so the order checks run in never changes a verdict.
    purposes: list[Literal["lockout"]] = []

    @field_validator("values")
    @classmethod
    def _no_shadowing(cls, v: dict[str, str]) -> dict[str, str]:
        clash = sorted(set(v) & set(ACCOUNT_FIELDS))
        if clash:
            raise ValueError(f"{', '.join(clash)}: give these as the account's own fields, not under values")
        return v

    def known(self) -> dict[str, str]:
        """Every value the spec declares for this account, by template name (``{username}`` ...)."""
        out = {f: str(getattr(self, f)) for f in ACCOUNT_FIELDS if getattr(self, f) is not None}
        out.update(self.values)
        return out


# The account fields templates may name directly (besides ``values``).
ACCOUNT_FIELDS = ("username", "password", "account_id", "card_number", "id_number", "phone", "balance", "sign_secret")


class AuthScheme(Strict):
    """How a request carries a credential. Every account has its own cookie jar and its own values:
    a request made for alice never carries what bob's login set.

    - ``bearer`` / ``header``: ``{header}: {prefix}{value}`` (value: the session token by default);
    - ``cookie``: the cookies the account's login set (a named ``cookie`` must be among them); with a
      token in the login answer, ``{cookie}={value}`` is sent instead;
    - ``basic``: HTTP Basic with ``username``/``password`` (templates) on every request, no login;
    - ``query``: ``?{param}={value}`` (an API key in the query string).
    ``value`` and the basic templates name the session's values: the account's declared values,
    ``{token}``, and whatever the login or provisioning captured (``{wallet_key}``)."""

    kind: Literal["bearer", "header", "cookie", "basic", "query"] = "bearer"
    header: str = "Authorization"
    prefix: str = "Bearer "
    cookie: str | None = None
    value: NonEmpty = "{token}"
    param: str | None = None  # the query parameter for kind "query"
    username: NonEmpty = "{username}"
    password: NonEmpty = "{password}"

    @model_validator(mode="after")
    def _complete(self) -> AuthScheme:
        if self.kind == "query" and not self.param:
            raise ValueError("an auth scheme of kind 'query' needs 'param' (the query parameter's name)")
        return self


class CsrfToken(Strict):
    """Where a cookie-session product's anti-CSRF token comes from and how it is sent back."""

    page: str | None = None  # GET this path first (the login page, the form's page); None: use what the session has
    source: Literal["html", "cookie", "header", "json"] = "html"
    name: NonEmpty  # the hidden input's name, the cookie's name, the header's name or a dotted JSON path
    send_as: Literal["field", "header"] = "field"
    send_name: str | None = None  # the field or header it is sent in (default: ``name``)


class SigningExample(Strict):
    """The worked example of the product's documentation: given these request values and this key,
    the signature is this. ``spec check`` proves the driver reproduces it before anything runs."""

    values: dict[str, str]  # every value the canonical string uses (fields, nonce, timestamp)
    key: NonEmpty
    signature: NonEmpty
    source: str | None = None  # where the documentation gives it ("接口文档 3.2 节")


class Signing(Strict):
    """How transaction requests are signed, in any documented form.

    The canonical string is one of: ``sorted-kv`` (``a=1&b=2`` in name order), ``ordered-values``
    (values in ``fields`` order), ``ordered-kv`` (``a=1&b=2`` in ``fields`` order), ``json-sorted``
    / ``json-ordered`` (a compact JSON object of those fields), or ``template``: the documentation's
    own string with placeholders over the request's values and ``{key}``
    (``"amount={amount}&to={to}&key={key}"``). ``hmac-*`` algorithms key the MAC with the signing
    key; plain digests (``md5``, ``sha256``, ``sm3``) hash the canonical string, which then carries
    the key itself (a template with ``{key}``, or ``append_key``)."""

    algorithm: Literal["hmac-sha256", "hmac-sha1", "hmac-sha512", "hmac-sm3", "md5", "sha1", "sha256", "sm3"] = (
        "hmac-sha256"
    )
    # session: from the login answer (login.sign_key_from); account: the account's sign_secret;
    # value: the ``key_value`` template over the session's values ({wallet_key}, a lab-held key).
    key: Literal["session", "account", "value"] = "session"
    key_value: str | None = None
    fields: list[NonEmpty] = []  # request fields the signature covers (a template names its own)
    nonce_field: str | None = "nonce"  # None: the product uses no nonce
    timestamp_field: str | None = "timestamp"  # None: no timestamp
    timestamp_unit: Literal["s", "ms"] = "ms"
    signature_field: NonEmpty = "signature"
    signature_in: Literal["body", "header", "query"] = "body"
    canonical: Literal["sorted-kv", "ordered-values", "ordered-kv", "json-sorted", "json-ordered", "template"] = (
        "sorted-kv"
    )
    template: str | None = None  # the canonical string, when canonical is "template"
    separator: str = "&"
    skip_empty: bool = False  # key=value forms leave out fields whose value is empty
    append_key: str | None = None  # appended to the canonical string before a plain digest ("&key={key}")
    encoding: Literal["hex", "hex-upper", "base64"] = "hex"
    example: SigningExample | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Signing:
        if self.canonical == "template":
            if not self.template:
                raise ValueError("canonical 'template' needs 'template' (the documented canonical string)")
            if not self.fields:
                names = [f for _, f, _, _ in string.Formatter().parse(self.template) if f]
                skip = {"key", self.nonce_field, self.timestamp_field}
                self.fields = [n for n in dict.fromkeys(names) if n not in skip]
        elif not self.fields:
            raise ValueError("'fields' must list the request fields the signature covers")
        if self.key == "value" and not self.key_value:
            raise ValueError("key 'value' needs 'key_value' (a template such as \"{wallet_key}\")")
        return self
