"""How the lab drives the sample: a REST driver (operations, provisioning, object kinds, flows) or a
Python driver class.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from harness.spec.auth import Account, AuthScheme, CsrfToken, Signing
from harness.spec.fields import NonEmpty, Strict
from harness.spec.operations import LoginOperation, Operation, Success


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
