"""How the REST driver's declarations meet the wire: amounts in minor units, path templates, the
roles of an operation's fields, and rendering a declared template.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from harness.drivers.base import DriverError
from harness.spec.model import AmountEncoding, AuthScheme, CsrfToken, Operation, RestDriver
from harness.templating import TemplateError, render

_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def to_wire_amount(enc: AmountEncoding, value: Any) -> Any:
    """A decimal amount as the sample writes it (``minor-units``: 1.00 -> 100 with exponent 2).

    A value that is not a whole number of minor units becomes a JSON number with a fraction
    (0.001 -> 0.1) and anything that is not a plain finite number (text, NaN, "1e3") is left as it
    is: the sample, not the driver, must refuse a malformed amount."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        if not _PLAIN_NUMBER.fullmatch(value.strip()):
            return value
        value = value.strip()
    elif not isinstance(value, int | float | Decimal):
        return value
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        return value
    if not d.is_finite():
        return value
    minor = d.scaleb(enc.exponent)
    if minor == minor.to_integral_value():
        return int(minor)
    return float(minor)


def from_wire_amount(enc: AmountEncoding, raw: Any) -> Decimal:
    """An amount the sample returned in minor units, as a decimal amount (100 -> 1.00)."""
    if isinstance(raw, bool) or not isinstance(raw, int | str) or not re.fullmatch(r"-?\d+", str(raw).strip()):
        raise ValueError(f"{raw!r} is not a whole number of minor units")
    return Decimal(int(str(raw).strip())).scaleb(-enc.exponent)


def _same_path(template: str, path: str) -> bool:
    """Whether a concrete or templated path is the declared template (placeholders match any segment)."""
    rx = re.sub(r"\\\{[^/]*?\\\}", "[^/]+", re.escape(template))
    norm = re.sub(r"\{[^/]*?\}", "x", path)
    return re.fullmatch(rx, norm) is not None or re.fullmatch(rx, path) is not None


def _placeholder(value: object) -> str | None:
    """The call field a template stands for when it is exactly one placeholder (``"{amount}"``)."""
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1].isidentifier():
        return value[1:-1]
    return None


def _field_roles(op: Operation) -> dict[str, str]:
    """Request fields (body, query) that carry exactly one call field: ``{"walletNo": "from_account"}``."""
    fields = {**op.query, **(op.body if isinstance(op.body, dict) else {})}
    return {k: role for k, v in fields.items() if (role := _placeholder(v)) is not None}


def _role_unsafe(op: Operation) -> str | None:
    """Why a password operation is never sent by a generic probe: it would change a test account's
    password (or send reset codes) in the middle of a run. Only the credential checks send it."""
    if op.role is None:
        return None
    return f"{op.role}: changes or resets a password; only the credential checks send it"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _render(template: str, values: dict[str, Any], what: str) -> str:
    try:
        return render(template, values)
    except TemplateError as e:
        raise DriverError(f"{what}: {e}") from None


def _names_for(desc: RestDriver, values: dict[str, Any]) -> RestDriver:
    """The description with the names a product derives from where it runs filled in: a cookie or
    header named after the port it serves on (``session_P{ports.http}``), whatever the lab chose."""

    def name(text: str | None, what: str) -> str | None:
        if text is None or "{" not in text:
            return text
        try:
            return render(text, values)
        except TemplateError as e:
            raise DriverError(f"{what}: {e} (names may use the deployment's {{host}} and {{ports.NAME}})") from None

    def scheme(s: AuthScheme) -> AuthScheme:
        return s.model_copy(update={"cookie": name(s.cookie, "auth cookie"), "header": name(s.header, "auth header")})

    def csrf(c: CsrfToken | None) -> CsrfToken | None:
        if c is None:
            return None
        return c.model_copy(update={"name": name(c.name, "csrf name"), "send_name": name(c.send_name, "csrf name")})

    def op(o: Operation) -> Operation:
        auth = [scheme(s) for s in o.auth] if isinstance(o.auth, list) else o.auth
        return o.model_copy(
            update={"auth": auth, "credentials": [scheme(s) for s in o.credentials], "csrf": csrf(o.csrf)}
        )

    auth = [scheme(s) for s in desc.auth] if isinstance(desc.auth, list) else scheme(desc.auth)
    return desc.model_copy(
        update={
            "auth": auth,
            "csrf": csrf(desc.csrf),
            "login": op(desc.login) if desc.login is not None else None,
            "logout": op(desc.logout) if desc.logout is not None else None,
            "operations": {n: op(o) for n, o in desc.operations.items()},
        }
    )
