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


class Deployment(Strict):
    backend: Literal["process", "container", "terminal"] = "process"
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
    """A test account the applicant provides; the PII fields let data checks find leaks."""

    name: NonEmpty  # how suites refer to it
    username: NonEmpty
    password: NonEmpty
    account_id: NonEmpty
    card_number: str | None = None
    id_number: str | None = None
    phone: str | None = None
    balance: Decimal | None = None
    sign_secret: str | None = None  # when signing.key is "account": the per-account secret
    # Destructive uses a check may put this account to ("lockout": it may be locked). Other checks
    # leave such accounts alone, so the order checks run in never changes a verdict.
    purposes: list[Literal["lockout"]] = []


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


class Operation(Strict):
    """One declared request. Strings in path/body/headers/query are templates over
    the call's fields, e.g. ``/api/accounts/{account_id}`` or ``{"amt": "{amount}"}``."""

    method: HttpMethod
    path: NonEmpty
    body: dict[str, object] | None = None
    query: dict[str, str] = {}
    headers: dict[str, str] = {}
    signed: bool = False
    auth: bool = True
    expect_status: int = 200
    # Answer fields the suites read, as dotted paths into the JSON answer.
    returns: dict[str, str] = {}

    def inputs(self) -> list[str]:
        """The call fields this operation takes: every placeholder of its path, body, query and
        headers, in order (what injection and malformed-input checks fill)."""
        texts = [self.path, *self.query.values(), *self.headers.values()]
        texts += [v for v in (self.body or {}).values() if isinstance(v, str)]
        names = [field.split(".")[0] for t in texts for _, field, _, _ in string.Formatter().parse(t) if field]
        return list(dict.fromkeys(names))

    # Money on the wire in another form than decimal yuan (None: amounts are passed unchanged).
    amounts: AmountEncoding | None = None


class LoginOperation(Operation):
    auth: bool = False
    token_from: NonEmpty = "token"  # dotted path in the JSON answer
    sign_key_from: str | None = None  # where the per-session signing key comes from


class AuthScheme(Strict):
    kind: Literal["bearer", "header", "cookie"] = "bearer"
    header: str = "Authorization"
    prefix: str = "Bearer "
    cookie: str | None = None


class Signing(Strict):
    """How transaction requests are signed."""

    algorithm: Literal["hmac-sha256", "hmac-sm3"] = "hmac-sha256"
    key: Literal["session", "account"] = "session"  # session: from login; account: secret per account
    fields: list[NonEmpty] = Field(min_length=1)  # body fields covered by the signature
    nonce_field: NonEmpty = "nonce"
    timestamp_field: NonEmpty = "timestamp"
    timestamp_unit: Literal["s", "ms"] = "ms"
    signature_field: NonEmpty = "signature"
    signature_in: Literal["body", "header"] = "body"
    canonical: Literal["sorted-kv", "ordered-values"] = "sorted-kv"
    separator: str = "&"
    encoding: Literal["hex", "base64"] = "hex"


class RestDriver(Strict):
    kind: Literal["rest"] = "rest"
    base_url: NonEmpty  # template: https://{host}:{ports.https}
    web_login_path: str | None = None
    tls_verify: bool = False  # self-signed certificates are normal in a test deployment
    timeout_s: float = Field(default=10, gt=0)
    auth: AuthScheme = AuthScheme()
    login: LoginOperation
    logout: Operation | None = None
    operations: dict[str, Operation] = {}  # account, transfer, history, and any other
    signing: Signing | None = None
    accounts: list[Account] = Field(min_length=1)

    @model_validator(mode="after")
    def _signing_declared(self) -> RestDriver:
        unsigned = [n for n, op in self.operations.items() if op.signed and self.signing is None]
        if unsigned:
            raise ValueError(f"operations {', '.join(unsigned)} are signed but no 'signing' is declared")
        names = [a.name for a in self.accounts]
        if len(set(names)) != len(names):
            raise ValueError("test account names must be unique")
        return self


class PythonDriver(Strict):
    """For a sample that does not speak REST: a class implementing harness.drivers.Driver."""

    kind: Literal["python"]
    entry_point: Annotated[str, StringConstraints(pattern=r"^[\w.]+:\w+$")]
    options: dict[str, object] = {}
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


class Parameters(Strict):
    """What the sample declares; suites compare what they observe against these."""

    session_idle_timeout_s: float = Field(gt=0, le=86400)
    lockout_threshold: int = Field(ge=1)
    password_min_length: int = Field(default=8, ge=1)
    limits: Limits
    dr: DisasterRecovery
    latency_p95_ms: float = Field(gt=0)
    tls_min_version: Literal["1.2", "1.3"] = "1.2"
    national_crypto: bool = False  # SM2/SM3/SM4 declared
    masking: dict[str, tuple[int, int]] = {"card_number": (6, 4), "id_number": (6, 4), "phone": (3, 4)}


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
    parameters: Parameters
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
