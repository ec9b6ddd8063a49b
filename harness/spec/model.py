"""The sample spec: what an applicant submitted and how the lab drives it.

One YAML file per submitted sample (``sample_specs/``). The field names here are the
format labs write: extend, never rename.
"""

from __future__ import annotations

import posixpath
import string
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, Literal, get_args

from packaging.requirements import InvalidRequirement, Requirement
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from harness.files import check_path_text

NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


def _inside_sample(v: str) -> str:
    why = check_path_text(v)
    if why:
        raise ValueError(f"the path {why}")
    if v.startswith("/"):
        raise ValueError(f"{v} is absolute: name a file relative to the sample's working directory")
    norm = posixpath.normpath(v)
    if norm in (".", "..") or norm.startswith("../"):
        raise ValueError(f"{v} is not a file inside the sample's working directory")
    return v


def check_package_requirement(v: str) -> str:
    if v.lstrip().startswith("-"):
        raise ValueError(f"{v!r} is a pip option, not a package: name a package, e.g. 'cryptography==42.0.5'")
    try:
        req = Requirement(v)
    except InvalidRequirement as e:
        raise ValueError(f"not a package requirement (PEP 508): {str(e).splitlines()[0]}") from None
    if req.url:
        raise ValueError(f"{req.name} @ {req.url}: only packages from the lab's index, not a URL")
    return v


# A file the sample writes, relative to its working directory (never absolute, never above it).
SamplePath = Annotated[str, AfterValidator(_inside_sample)]
# A PEP 508 package requirement ("name[extra]>=1.0; marker"), never a pip option or a URL.
PackageRequirement = Annotated[str, AfterValidator(check_package_requirement)]
EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


@cache
def _takes_bool(annotation: Any) -> bool:
    """Whether true/false is a meaningful value somewhere in this annotation."""
    if annotation is bool or annotation is object or annotation is Any:
        return True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True  # its own fields decide
    return any(_takes_bool(a) for a in get_args(annotation) if isinstance(a, type) or get_args(a))


class TrueFalse:
    """Stands for a YAML true/false given where a number or text is expected, so the field's own
    validation refuses it (pydantic would otherwise read true as 1: a timeout of "true" seconds)."""

    def __init__(self, value: bool):
        self.value = value

    def __repr__(self) -> str:
        return "true" if self.value else "false"


def _refuse_bools(value: Any) -> Any:
    if isinstance(value, bool):
        return TrueFalse(value)
    if isinstance(value, list | tuple):
        return [_refuse_bools(v) for v in value]
    if isinstance(value, dict):
        return {k: _refuse_bools(v) for k, v in value.items()}
    return value


class Strict(BaseModel):
    # An unknown key is almost always a typo in a lab-written file: refuse it. An infinite or NaN
    # number is never a meaningful timeout, limit or amount.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_bool_for_numbers(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for name, value in data.items():
            f = cls.model_fields.get(name) if isinstance(name, str) else None
            if f is not None and not _takes_bool(f.annotation):  # type: ignore[arg-type]
                out[name] = _refuse_bools(value)
        return out


class Contact(Strict):
    name: NonEmpty
    phone: str | None = None
    email: str | None = None


class Party(Strict):
    name: NonEmpty
    address: str | None = None
    contact: Contact


class CertificationUnit(Strict):
    """The unit named in the certification application (rule 001 §5.2.1)."""

    product_name: NonEmpty
    model: NonEmpty
    version: NonEmpty


class SampleIdentity(Strict):
    name: NonEmpty
    version: NonEmpty
    kind: Literal["software", "image", "package"] = "software"
    condition: str = "完好，可正常安装运行"


class MediaLabel(Strict):
    """What rule 001 §8.1.2 asks the media to be labelled with."""

    product_name: NonEmpty
    version: NonEmpty
    producer: NonEmpty
    contact: NonEmpty


class Media(Strict):
    path: NonEmpty  # relative to the spec file; a file or a directory (tree hash)
    sha256: Sha256
    role: Literal["source", "package", "image", "build-context", "document", "other"] = "source"
    label: MediaLabel | None = None


class HardwareModel(Strict):
    """One line of the hardware list (rule 001 §8.1.1-8.1.2)."""

    model: NonEmpty
    configuration: NonEmpty
    units: int = Field(ge=1)
    os: NonEmpty
    base_software: list[str] = []


class Step(Strict):
    run: NonEmpty  # a shell command; {placeholders} are filled by the deployer
    timeout_s: float = Field(default=120, gt=0, le=86400)


class PortDecl(Strict):
    name: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
    port: int = Field(ge=1, le=65535)
    protocol: Literal["tcp", "udp"] = "tcp"
    tls: bool = False
    # The product cannot be told this port: it always listens on `port`. A local process then gets
    # exactly that port (so two such products need `isolation: namespace` to run side by side).
    fixed: bool = False


class HealthCheck(Strict):
    url: NonEmpty  # template, e.g. https://{host}:{ports.https}/health
    expect_status: int = 200
    timeout_s: float = Field(default=30, gt=0, le=3600)
    interval_s: float = Field(default=0.2, gt=0, le=60)


class Resources(Strict):
    """The minimum configuration the sample declares; containers are limited to it."""

    cpus: float = Field(default=1.0, gt=0, le=1024)
    memory_mb: int = Field(default=512, ge=16, le=1 << 24)


class ContainerSource(Strict):
    """How the sample becomes a container image. At most one of archive / build context; with
    neither, the media are copied into a fresh container of the lab base image and the install
    steps of the user documentation run there."""

    image_archive: str | None = None  # `docker save` output, relative to the spec
    build_context: str | None = None  # a directory whose Dockerfile starts FROM the lab base image
    base_image: str = "harness-lab/base:bookworm"
    wheels: list[PackageRequirement] = []  # built wheels the host downloads into the build context

    @model_validator(mode="after")
    def _one_source(self) -> ContainerSource:
        if self.image_archive and self.build_context:
            raise ValueError("give either image_archive or build_context, not both")
        return self


class Service(Strict):
    """A service the product needs (its documentation says so), started privately for each
    deployment by the lab and torn down with it. Templates read its connection values as
    ``{services.<name>.url}``, ``.host``, ``.port``, ``.user``, ``.password`` and ``.name``; the
    password is generated per deployment, so nothing about it is invented in the spec."""

    name: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
    kind: Literal["postgresql", "redis"]
    # PostgreSQL: the database made for the product and the role it logs in as (owner of that
    # database, not a superuser). Give them only where the product's documentation fixes them.
    database: Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_]{0,62}$")] = "sample"
    user: Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_]{0,62}$")] = "sample"


class Deployment(Strict):
    backend: Literal["process", "container", "terminal"] = "process"
    # namespace: a local process runs in a network namespace of its own, reached on an address of
    # the lab's range (not loopback), so a product that binds a fixed port or every interface runs
    # beside others, and is judged on what a client from the network gets. Containers and terminal
    # units are isolated by their nature; there this changes nothing.
    isolation: Literal["none", "namespace"] = "none"
    services: list[Service] = []
    container: ContainerSource = ContainerSource()
    install: list[Step] = []
    start: Step
    stop_signal: Literal["SIGTERM", "SIGINT"] = "SIGTERM"
    ports: list[PortDecl] = Field(min_length=1)
    health: HealthCheck
    env: dict[EnvName, str] = {}
    log_files: list[SamplePath] = []  # paths relative to the workdir, collected as evidence
    data_files: list[SamplePath] = []  # what the sample stores (db, files), readable by data checks
    resources: Resources = Resources()

    @model_validator(mode="after")
    def _unique_ports(self) -> Deployment:
        names = [p.name for p in self.ports]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"port names must be unique, repeated: {', '.join(sorted(dup))}")
        services = [s.name for s in self.services]
        dup = {n for n in services if services.count(n) > 1}
        if dup:
            raise ValueError(f"service names must be unique, repeated: {', '.join(sorted(dup))}")
        return self


class UseCase(Strict):
    id: NonEmpty
    title: NonEmpty
    section: NonEmpty  # where the documentation describes it
    scenario: str | None = None  # feature file, relative to the spec
    no_scenario_reason: str | None = None


class Documentation(Strict):
    """User documentation items rule 001 §8.1.2 asks for; each a path relative to the spec."""

    environment_requirements: NonEmpty
    scope: NonEmpty
    install_guide: NonEmpty
    operating_instructions: NonEmpty
    use_cases_document: NonEmpty
    use_cases: list[UseCase] = Field(min_length=1)
    openapi: str | None = None


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


HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]


class AmountEncoding(Strict):
    """How an operation writes money when not as the decimal amounts the suites use (yuan).

    ``minor-units``: an integer count of the currency's smallest unit (fen), i.e. amount x
    10**exponent. The named call ``fields`` are converted before the templates are filled (and so
    before signing); an amount that is not a whole number of minor units (0.001 yuan) is sent as a
    JSON number with a fraction (0.1), and a value that is not a plain number is sent unchanged, so
    the sample still judges every malformed amount itself. The named ``returns`` are converted
    back to decimal amounts when a check reads them."""

    encoding: Literal["minor-units"] = "minor-units"
    exponent: int = Field(default=2, ge=0, le=8)  # ISO 4217 minor unit: CNY 2 (1 yuan = 100 fen)
    fields: list[NonEmpty] = ["amount"]  # call fields holding amounts (names the suites pass)
    returns: list[NonEmpty] = []  # names in `returns` whose values are amounts


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


class Success(Strict):
    """What success of an operation looks like, as the product's documentation says. Many products
    answer 200 with an error body, or redirect a failed form login back to the login page: the
    status code alone decides nothing where this says more."""

    status: int | list[int] | None = None  # default: the operation's expect_status
    fields: dict[str, str] = {}  # dotted path -> the text it must equal ("code": "0")
    present: list[NonEmpty] = []  # dotted paths that must be present and not null/empty
    absent: list[NonEmpty] = []  # dotted paths that must be absent or null ("error")
    body_contains: list[NonEmpty] = []  # texts the answer must contain (HTML answers)
    body_lacks: list[NonEmpty] = []  # texts it must not contain ("Invalid password")
    location: str | None = None  # a redirect must go to a URL containing this
    location_not: str | None = None  # ... and never to one containing this (back to /login)
    cookie: str | None = None  # this cookie must be set by the answer (a login)


class CsrfToken(Strict):
    """Where a cookie-session product's anti-CSRF token comes from and how it is sent back."""

    page: str | None = None  # GET this path first (the login page, the form's page); None: use what the session has
    source: Literal["html", "cookie", "header", "json"] = "html"
    name: NonEmpty  # the hidden input's name, the cookie's name, the header's name or a dotted JSON path
    send_as: Literal["field", "header"] = "field"
    send_name: str | None = None  # the field or header it is sent in (default: ``name``)


OperationKind = Literal["read", "create", "update", "delete", "action"]
# What an operation does to a password, for the checks that judge password change and reset
# (5.auth.credential-change). Its templates name the values by these names: ``{password}`` the current
# password, ``{new_password}`` the new one, ``{reset_code}`` the code or token a reset needs; the
# account it addresses by the account's own values (``{username}``, ``{account_id}``).
# - ``password-change``: a logged-in account changes a password;
# - ``password-reset-request``: asks for a reset (the code goes out of band: mail, SMS);
# - ``password-reset``: sets a new password with the code the request sent.
OperationRole = Literal["password-change", "password-reset-request", "password-reset"]


class Operation(Strict):
    """One declared request. Strings in path/body/headers/query are templates over
    the call's fields, e.g. ``/api/accounts/{account_id}`` or ``{"amt": "{amount}"}``."""

    method: HttpMethod
    path: NonEmpty
    body: dict[str, object] | None = None
    query: dict[str, str] = {}
    headers: dict[str, str] = {}
    signed: bool = False
    # True: the session's credentials (the driver's auth schemes); False: none; a list: these schemes
    # instead (a product whose web pages ride on a login cookie while its API takes HTTP Basic).
    auth: bool | list[AuthScheme] = True
    expect_status: int = 200
    # Answer fields the suites read, as dotted paths into the JSON answer ("$": the whole answer).
    returns: dict[str, str] = {}
    # What the operation does; by default read for GET, delete for DELETE, update for PUT/PATCH,
    # create for POST. Say "action" for a state-changing GET (CSRF checks treat it as such).
    kind: OperationKind | None = None
    encoding: Literal["json", "form"] = "json"  # how the body is sent
    success: Success | None = None
    # Values taken from a successful answer into the session's values (name -> dotted path), so a
    # later request can name them (``{order_id}``, ``{wallet_key}``).
    capture: dict[str, NonEmpty] = {}
    csrf: CsrfToken | None = None  # an anti-CSRF token this request must carry
    # Credentials this request needs on top of the session's (a payment PIN, a per-wallet key).
    credentials: list[AuthScheme] = []
    # Never called by fuzzing, conformance or generic probes: it destroys or resets data, is for the
    # lab only, or is out of scope. The text says why.
    unsafe: str | None = None
    # Which password operation this is (see OperationRole). Generic probes never call such an
    # operation; only the credential checks do, on accounts they may change.
    role: OperationRole | None = None

    def inputs(self) -> list[str]:
        """The call fields this operation takes: every placeholder of its path, body, query and
        headers, in order (what injection and malformed-input checks fill)."""
        texts = [self.path, *self.query.values(), *self.headers.values(), *_strings(self.body)]
        names = [field.split(".")[0] for t in texts for _, field, _, _ in string.Formatter().parse(t) if field]
        return list(dict.fromkeys(names))

    def path_inputs(self) -> list[str]:
        """The placeholders of the path, query and body: what can address an object (headers carry
        credentials, not addresses)."""
        texts = [self.path, *self.query.values(), *_strings(self.body)]
        names = [field.split(".")[0] for t in texts for _, field, _, _ in string.Formatter().parse(t) if field]
        return list(dict.fromkeys(names))

    def effective_kind(self) -> OperationKind:
        if self.kind is not None:
            return self.kind
        return {"GET": "read", "DELETE": "delete", "PUT": "update", "PATCH": "update"}.get(self.method, "create")  # type: ignore[return-value]

    def changes_state(self) -> bool:
        return self.effective_kind() != "read"

    # Money on the wire in another form than decimal yuan (None: amounts are passed unchanged).
    amounts: AmountEncoding | None = None


class LoginOperation(Operation):
    auth: bool | list[AuthScheme] = False
    # Dotted path of the session token in the JSON answer. With cookie auth and no token in the
    # answer, the session is the cookie the login set (and ``token`` is that cookie's value).
    token_from: str | None = "token"
    sign_key_from: str | None = None  # where the per-session signing key comes from


def _strings(obj: object) -> list[str]:
    """Every string inside a JSON-like template (bodies nest)."""
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in _strings(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in _strings(v)]
    return []


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


class ProvisionStep(Strict):
    """One request of the product's own API that makes an account exist (register, open a wallet)."""

    operation: NonEmpty  # a declared operation (or "login")
    fields: dict[str, str] = {}  # call fields, templates over the account's values
    capture: dict[str, NonEmpty] = {}  # account value <- dotted path in the answer


class Provisioning(Strict):
    """How an account comes to exist through the product's API: run for every account declared with
    ``provision: true`` on each deployment, and for a fresh account whenever a check would use one
    up (the lockout check locks the one it tries). Fresh accounts get values from the templates
    below (``{random}`` is new for each)."""

    steps: list[ProvisionStep] = Field(min_length=1)
    username: NonEmpty = "lab{random}"
    password: NonEmpty = "Lab#{random}a1"
    values: dict[str, str] = {}  # other values a fresh account needs ("email": "lab{random}@example.test")


class ObjectKind(Strict):
    """Something accounts own (a wallet, an invoice, a project), and the operations on it. ``id``
    names the value that identifies one object: an account value (``{wallet_id}``) or what ``create``
    captured. Operations whose path names no such value are session-scoped ("my profile") and are
    never judged as reaching another account's data."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: NonEmpty
    create: str | None = None
    read: str | None = None
    listing: str | None = Field(default=None, alias="list")  # the spec says "list"
    update: str | None = None
    delete: str | None = None
    actions: list[NonEmpty] = []
    # Call fields for create/update: templates over the account's values; ``{random}`` is new for each
    # request, so checks can tell their own writes apart when they read the object back.
    fields: dict[str, str] = {}

    def operations(self) -> list[str]:
        names = [self.create, self.read, self.listing, self.update, self.delete, *self.actions]
        return [n for n in names if n]


class FlowStep(Strict):
    operation: NonEmpty
    fields: dict[str, str] = {}  # extra call fields (templates over the call's fields and captures)
    capture: dict[str, NonEmpty] = {}


class RestDriver(Strict):
    kind: Literal["rest"] = "rest"
    base_url: NonEmpty  # template: https://{host}:{ports.https}
    web_login_path: str | None = None
    # What the page after a successful web login shows (default: not the login page, no password field).
    web_login_success: Success | None = None
    tls_verify: bool = False  # self-signed certificates are normal in a test deployment
    timeout_s: float = Field(default=10, gt=0)
    # One scheme or several at once (a user token plus a per-wallet key).
    auth: AuthScheme | list[AuthScheme] = AuthScheme()
    # None: no login request (HTTP Basic or API keys on every request).
    login: LoginOperation | None = None
    logout: Operation | None = None
    operations: dict[str, Operation] = {}  # account, transfer, history, and any other
    # An operation made of several requests (create an order, then pay it): the checks' "transfer"
    # may be a flow; the last step is the one that moves money, each step with its own credentials.
    flows: dict[str, list[FlowStep]] = {}
    signing: Signing | None = None
    csrf: CsrfToken | None = None  # the token every state-changing request of a cookie session carries
    provision: Provisioning | None = None
    objects: dict[str, ObjectKind] = {}
    # Requests no tool of the lab may send (besides operations marked unsafe): "GET /api/reset",
    # "POST /admin/*". Conformance, fuzzing, crawls and error probes skip them.
    unsafe_paths: list[NonEmpty] = []
    accounts: list[Account] = Field(min_length=1)

    @model_validator(mode="after")
    def _signing_declared(self) -> RestDriver:
        unsigned = [n for n, op in self.operations.items() if op.signed and self.signing is None]
        if unsigned:
            raise ValueError(f"operations {', '.join(unsigned)} are signed but no 'signing' is declared")
        names = [a.name for a in self.accounts]
        if len(set(names)) != len(names):
            raise ValueError("test account names must be unique")
        known = set(self.operations) | {"login", "logout"}
        for name, flow in self.flows.items():
            if name in self.operations:
                raise ValueError(f"flow {name!r} has the name of an operation")
            for st in flow:
                if st.operation not in known:
                    raise ValueError(f"flow {name!r}: no operation {st.operation!r} is declared")
        for kind, obj in self.objects.items():
            missing = [n for n in obj.operations() if n not in known and n not in self.flows]
            if missing:
                raise ValueError(f"objects.{kind}: undeclared operations {', '.join(missing)}")
        if self.provision is not None:
            missing = [s.operation for s in self.provision.steps if s.operation not in known]
            if missing:
                raise ValueError(f"provision: undeclared operations {', '.join(missing)}")
        elif any(a.provision for a in self.accounts):
            raise ValueError("accounts marked 'provision: true' need 'provision' (how an account is created)")
        if self.login is None and any(s.kind in ("cookie",) for s in self.auth_schemes()):
            raise ValueError("cookie authentication needs a 'login' (the request that sets the cookie)")
        return self

    def auth_schemes(self) -> list[AuthScheme]:
        return list(self.auth) if isinstance(self.auth, list) else [self.auth]


class PythonDriver(Strict):
    """For a sample that does not speak REST: a class implementing harness.drivers.Driver."""

    kind: Literal["python"]
    entry_point: Annotated[str, StringConstraints(pattern=r"^[\w.]+:\w+$")]
    options: dict[str, object] = {}
    # The operations the driver offers, by name, so scenarios are validated before anything runs.
    operations: list[NonEmpty] = []
    login: bool = True  # whether it has a login and a logout (scenario steps need to know)
    accounts: list[Account] = Field(min_length=1)


class Limits(Strict):
    per_transaction: Decimal = Field(gt=0)
    daily: Decimal = Field(gt=0)
    currency: str = "CNY"
    decimals: int = Field(default=2, ge=0, le=8)


class DisasterRecovery(Strict):
    level: int = Field(ge=1, le=6)  # GB/T 20988 capability level
    rto_s: float = Field(gt=0)
    rpo_s: float = Field(ge=0)


class ServiceLevel(Strict):
    """The service level the sample declares beyond its P95 (``latency_p95_ms``). Every figure is
    optional: ``None`` means "not declared", and the load check then judges by the lab's stated
    default (and says so) or only reports what it measured."""

    concurrency: int | None = Field(default=None, ge=1, le=64)  # concurrent users the figures hold at
    p99_ms: float | None = Field(default=None, gt=0)
    throughput_rps: float | None = Field(default=None, gt=0)  # operations per second, at least
    error_rate: float | None = Field(default=None, ge=0, le=1)  # share of operations that may fail


class Parameters(Strict):
    """What the sample declares; suites compare what they observe against these. "Not declared" is a
    value: a check then judges against the lab's stated default (harness/policy.py) or the
    standard's requirement and says which, or hands the item to an engineer with what it observed."""

    session_idle_timeout_s: float | None = Field(default=None, gt=0, le=86400)
    lockout_threshold: int | None = Field(default=None, ge=1)
    password_min_length: int | None = Field(default=None, ge=1)
    limits: Limits | None = None
    dr: DisasterRecovery | None = None
    latency_p95_ms: float | None = Field(default=None, gt=0)
    service_level: ServiceLevel = ServiceLevel()
    tls_min_version: Literal["1.2", "1.3"] = "1.2"
    national_crypto: bool = False  # SM2/SM3/SM4 declared
    masking: dict[str, tuple[int, int]] = {"card_number": (6, 4), "id_number": (6, 4), "phone": (3, 4)}
    # Login attempts the product lets one client make per minute before it slows or refuses them.
    login_rate_limit_per_min: int | None = Field(default=None, ge=1)


class Applicability(Strict):
    applicable: bool = True
    reason: str | None = None

    @model_validator(mode="after")
    def _reason_when_not_applicable(self) -> Applicability:
        if not self.applicable and not (self.reason and self.reason.strip()):
            raise ValueError("a clause marked not applicable needs a reason")
        return self


class SampleSpec(Strict):
    spec_version: Literal[1] = 1
    applicant: Party
    producer: Party
    certification_unit: CertificationUnit
    sample: SampleIdentity
    basis: list[NonEmpty] = ["JR/T 0199-2020"]
    media: list[Media] = Field(min_length=1)
    hardware: list[HardwareModel] = []
    deployment: Deployment
    documentation: Documentation
    driver: Annotated[RestDriver | PythonDriver, Field(discriminator="kind")]
    parameters: Parameters = Parameters()
    # Clause or chapter ID -> applicability; a chapter entry covers its items.
    applicability: dict[str, Applicability] = {}

    @field_validator("hardware")
    @classmethod
    def _unique_models(cls, v: list[HardwareModel]) -> list[HardwareModel]:
        models = [h.model for h in v]
        if len(set(models)) != len(models):
            raise ValueError("each terminal model appears once in the hardware list")
        return v

    def account(self, name: str) -> Account:
        for a in self.driver.accounts:
            if a.name == name:
                return a
        raise KeyError(f"no test account named {name!r} in the spec")
