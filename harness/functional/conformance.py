"""API conformance (接口一致性): Schemathesis checks every operation the sample's OpenAPI document
describes, authenticated through the sample's driver and inside the scope guard.

Schemathesis does the generating and the judging (coverage cases, a few fuzzed cases per
operation with Hypothesis shrinking, and its response checks). The lab adds only what a
generic tool cannot know, all of it asked of the driver through the driver protocol (so a sample
driven by Python code is checked exactly like one described in REST terms):

* binding: a document's operation is the declared operation with the same method and path
  template (``OperationInfo.path``); which request fields carry the payer, the payee, the amount
  or the user name is the declared operation's ``field_roles``;
* authentication: a fresh session per ordinary test account, its credential where the driver
  puts it (``driver.credentials``);
* the signing envelope: in a generated body, the payer field and the nonce/timestamp
  (``driver.stamp``) are replaced by the session's values and the signature recomputed
  (``driver.sign_values``) where the driver's signing puts it (only where the generated value is
  valid for its schema, so a negative case stays negative); otherwise every state-changing
  request would stop at the signature check and nothing behind it would be tested;
* declared-limit cases: for the operation bound to ``transfer``, amounts at the declared limits
  and one decimal beyond the declared precision;
* safety: the login operation is never sent with a declared account's user name and a generated
  password (that would count towards its lockout); such names are replaced by an unknown one.
  Each account logs in once with its declared password (a success, which also resets its counter).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import requests
import yaml

from harness.deploy.base import lab_session
from harness.deploy.scope import OutOfScope, ScopeGuard
from harness.drivers import DriverSession, OperationInfo
from harness.functional.conformance_answers import (
    STACK_TRACE,
    Finding,
    Outcome,
    as_requests_response,
    declared_answer_field,
    no_stack_trace,
    positive,
)
from harness.functional.openapi_binding import Bound, Resolver, norm_path, outside_references, path_roles
from harness.spec.model import Account, SampleSpec

# What other modules import from here, kept where they look for it.
_path_roles = path_roles
__all__ = [
    "STACK_TRACE",
    "UNKNOWN_USER",
    "ConformanceRun",
    "Finding",
    "Outcome",
    "as_requests_response",
    "declared_answer_field",
    "no_stack_trace",
    "outside_references",
]


UNKNOWN_USER = "lab-unknown-user"


class ConformanceRun:
    """``driver`` is any implementation of the driver protocol (``harness.drivers.Driver``)."""

    def __init__(
        self,
        spec: SampleSpec,
        openapi_path: Path,
        driver: Any,
        guard: ScopeGuard,
        *,
        max_examples: int = 8,
        time_budget_s: float = 60.0,
    ):
        self.spec = spec
        self.driver = driver
        self.openapi_path = openapi_path
        self.base_url = str(driver.web_base_url() or "").rstrip("/")
        self.tls_verify = bool(driver.tls_verify)
        self.timeout_s = float(driver.timeout_s)
        # Anonymous requests; an account's own go on its session's jar. Guarded like all test traffic.
        self.http = lab_session(self.tls_verify, guard)
        self._login: Callable[[Account], DriverSession] = driver.session
        self.check_url: Callable[[str], None] = guard.check_url
        self.max_examples = max_examples
        self.time_budget_s = time_budget_s
        self.doc = yaml.safe_load(openapi_path.read_text(encoding="utf-8"))
        self.resolver = Resolver(self.doc)
        self.outcome = Outcome()
        self._found: dict[tuple[str, str, str], Finding] = {}
        self._start = 0.0
        self._unknown_users = {a.username for a in driver.accounts() if a.username}
        self._ops: dict[tuple[str, str], tuple[str, OperationInfo]] | None = None

    # -- binding OpenAPI operations to the declared ones ----------------------------------------
    def _declared_ops(self) -> dict[tuple[str, str], tuple[str, OperationInfo]]:
        """Declared operations by (method, path template). An operation's own request is bound before
        a multi-step operation that ends in it."""
        infos: list[OperationInfo] = []
        if self.driver.can_login():
            infos.append(self.driver.info("login"))
        if self.driver.can_logout():
            infos.append(self.driver.info("logout"))
        infos += list(self.driver.operations().values())
        ops: dict[tuple[str, str], tuple[str, OperationInfo]] = {}
        for info in infos:
            if info.method and info.path:
                ops.setdefault((info.method.upper(), norm_path(info.path)), (info.name, info))
        return ops

    def _bind(self, operation: Any) -> Bound:
        if self._ops is None:
            self._ops = self._declared_ops()
        found = self._ops.get((operation.method.upper(), norm_path(operation.path)))
        raw = self.doc.get("paths", {}).get(operation.path, {}).get(operation.method.lower(), {})
        raw = self.resolver.resolve(raw)
        props: dict[str, Any] = {}
        body = raw.get("requestBody", {}).get("content", {})
        for media, content in body.items():
            if "json" in media:
                props = content.get("schema", {}).get("properties", {}) or {}
        path_params = {
            p["name"]: p.get("schema", {})
            for p in raw.get("parameters", [])
            + self.resolver.resolve(self.doc.get("paths", {}).get(operation.path, {}).get("parameters", []))
            if p.get("in") == "path"
        }
        return Bound(found[0] if found else None, found[1] if found else None, props, path_params)

    @staticmethod
    def _valid(value: Any, schema: dict[str, Any]) -> bool:
        bits = {"int32": 31, "int64": 63}.get(str(schema.get("format")))
        if bits and isinstance(value, int) and not -(2**bits) <= value < 2**bits:
            return False
        try:
            jsonschema.validate(value, schema)
        except jsonschema.ValidationError:
            return False
        except jsonschema.SchemaError:
            return True
        return True

    # -- shaping a generated case ----------------------------------------------------------------
    def _needs_auth(self, operation: Any, bound: Bound) -> bool:
        if bound.op is not None:
            return bool(bound.op.auth)
        raw = self.doc.get("paths", {}).get(operation.path, {}).get(operation.method.lower(), {})
        security = raw.get("security", self.doc.get("security", []))
        return bool(security) and all(bool(s) for s in security)

    def _auth(self, session: DriverSession) -> tuple[dict[str, str], dict[str, str]]:
        """The session's credential headers and query parameters (its cookies go in its own jar)."""
        headers, params = self.driver.credentials(session)
        return dict(headers), dict(params)

    @staticmethod
    def _mutated(case: Any) -> str | None:
        """The parameter a negative case was generated to break (left as generated)."""
        meta = getattr(case, "meta", None)
        data = getattr(getattr(meta, "phase", None), "data", None)
        return getattr(data, "parameter", None)

    def _shape(self, case: Any, bound: Bound, session: DriverSession, declared_login: bool = False) -> None:
        operation = case.operation
        broken = self._mutated(case)
        if self._needs_auth(operation, bound) and not operation.schema.is_security_param_negated(case):
            headers, params = self._auth(session)
            case.headers = {**(case.headers or {}), **headers}
            if params:
                case.query = {**(case.query or {}), **params}
        acct = session.account
        own = {k: v for k, v in {"account_id": acct.account_id, "from_account": acct.account_id}.items() if v}
        if bound.op is not None and bound.op.path and isinstance(case.path_parameters, dict):
            roles = path_roles(operation.path, bound.op.path)  # the document's name -> the call field
            for name, value in list(case.path_parameters.items()):
                role = roles.get(name)
                if role in own and name != broken and self._valid(value, bound.path_params.get(name, {})):
                    case.path_parameters[name] = own[role]
        body = case.body
        if bound.op is None or not isinstance(body, dict):
            return
        body_roles = bound.op.field_roles
        if bound.name == "login" and not declared_login:
            user_keys = [k for k, r in body_roles.items() if r == "username"]
            for k in user_keys:
                if isinstance(body.get(k), str) and body[k] in self._unknown_users:
                    body[k] = UNKNOWN_USER  # never a generated password against a declared account
            return
        for k, body_role in body_roles.items():
            if body_role in own and k in body and k != broken and self._valid(body[k], bound.body_props.get(k, {})):
                body[k] = own[body_role]
        s = self.driver.signing()
        if not (bound.op.signed and s is not None):
            return
        for k, v in self.driver.stamp().items():
            if k in body and k != broken and self._valid(body[k], bound.body_props.get(k, {})):
                body[k] = v
        if s.signature_in == "body":
            sig_ok = (
                s.signature_field in body
                and s.signature_field != broken
                and self._valid(body[s.signature_field], bound.body_props.get(s.signature_field, {}))
            )
            if sig_ok:
                body[s.signature_field] = self._sign(session, body)
        else:
            case.headers = {**(case.headers or {}), s.signature_field: self._sign(session, body)}

    def _sign(self, session: DriverSession, body: dict[str, Any]) -> str:
        return str(self.driver.sign_values(body, self.driver.signing_key(session)))

    # -- sending and judging ---------------------------------------------------------------------
    def _checks(self) -> list[Any]:
        from schemathesis.checks import not_a_server_error
        from schemathesis.specs.openapi.checks import (
            content_type_conformance,
            negative_data_rejection,
            response_schema_conformance,
            status_code_conformance,
        )

        return [
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
            negative_data_rejection,
            no_stack_trace,
        ]

    def _out_of_time(self) -> bool:
        return time.monotonic() - self._start > self.time_budget_s

    def _send(self, case: Any, bound: Bound, state: dict[str, Any], source: str) -> Any:
        """Send one shaped case; record a finding (keeping the smallest reproduction); raise it for
        Hypothesis so it can shrink."""
        from schemathesis.core.failures import Failure, FailureGroup

        session: DriverSession = state["session"]
        if case.method and case.method.upper() != case.operation.method.upper():
            return None  # a method the document does not declare for this path: not a documented operation
        self._shape(case, bound, session, declared_login=source == "login")
        url = self.base_url + case.formatted_path
        self.check_url(url)
        label = f"{case.operation.method.upper()} {case.operation.path}"
        self.outcome.requests += 1
        try:
            response = case.call(
                base_url=self.base_url,
                session=session.http or self.http,  # the account's own cookie jar
                verify=self.tls_verify,
                timeout=self.timeout_s,
            )
        except requests.RequestException as e:
            # No complete answer (e.g. a TRACE the server drops): nothing to compare with the document.
            method = case.method or case.operation.method
            self.outcome.notes.append(f"{label}（以 {method.upper()} 发送）未得到完整应答：{type(e).__name__}")
            return None
        counts = self.outcome.by_operation.setdefault(label, {})
        counts[str(response.status_code)] = counts.get(str(response.status_code), 0) + 1
        self.outcome.log.append(
            {
                "account": session.account.name,
                "operation": label,
                "source": source,
                "status": response.status_code,
                "ms": round(response.elapsed * 1000, 1),
            }
        )
        if bound.name == "logout" and self.driver.succeeded("logout", as_requests_response(response)):
            state["session"] = self._login(session.account)  # that session is gone; carry on with a new one
        try:
            case.validate_response(response, checks=self._checks())
        except (FailureGroup, Failure) as exc:
            failures = list(exc.exceptions) if isinstance(exc, FailureGroup) else [exc]
            curl = case.as_curl_command(verify=self.tls_verify, base_url=self.base_url)
            for f in failures:
                finding = Finding(
                    operation=label,
                    account=session.account.name,
                    checks=list(getattr(f, "checks", ()) or [type(f).__name__]),
                    title=str(getattr(f, "title", type(f).__name__)),
                    message=str(getattr(f, "message", "") or f"应答状态 {response.status_code}：{response.text[:300]}"),
                    status=response.status_code,
                    curl=curl,
                    source=source,
                )
                old = self._found.get(finding.key())
                if old is None or len(finding.curl) <= len(old.curl):
                    self._found[finding.key()] = finding
            raise
        return response

    def _coverage_cases(self, operation: Any) -> Iterator[Any]:
        from schemathesis import GenerationMode
        from schemathesis.generation.drivers import CoverageGenerator
        from schemathesis.generation.feedback import FeedbackSources
        from schemathesis.generation.overrides import Override

        gen = operation.schema.config.generation_for(operation=operation, phase="coverage")
        yield from CoverageGenerator(
            operation=operation,
            generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
            generation_config=gen,
            auth_storage=None,
            override=Override(),
            feedback=FeedbackSources(),
        )

    def _fuzz(self, operation: Any, bound: Bound, state: dict[str, Any]) -> None:
        import hypothesis
        from hypothesis import HealthCheck, Phase, given, settings
        from schemathesis import GenerationMode

        strategy = operation.as_strategy(generation_mode=GenerationMode.POSITIVE) | operation.as_strategy(
            generation_mode=GenerationMode.NEGATIVE
        )

        @settings(
            max_examples=self.max_examples,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.generate, Phase.shrink],
            verbosity=hypothesis.Verbosity.quiet,
            report_multiple_bugs=True,
        )
        @given(case=strategy)
        def fuzz(case: Any) -> None:
            if self._out_of_time():
                return
            self._send(case, bound, state, "fuzz")

        with contextlib.suppress(AssertionError, BaseExceptionGroup):  # kept in self._found
            fuzz()

    def _limit_cases(self, operation: Any, bound: Bound, payer: Account) -> list[Any]:
        """Amounts at the declared limits, and one decimal beyond the declared precision, for the
        operation the spec binds to `transfer` (Hypothesis rarely hits such values by chance)."""
        if bound.name != "transfer" or bound.op is None:
            return []
        amount_keys = [k for k, role in bound.op.field_roles.items() if role == "amount"]
        if not amount_keys:
            return []
        lim = self.spec.parameters.limits
        if lim is None:
            return []  # no declared limits: nothing to probe at their boundaries
        step = Decimal(1).scaleb(-lim.decimals)
        values = [
            str(lim.per_transaction.quantize(step)),
            str((lim.per_transaction + step).quantize(step)),
            str(step),
            str(step / 10),  # one decimal beyond the declared precision: must be refused, not crash
            "0",
        ]
        template = next((c for c in self._coverage_cases(operation) if isinstance(c.body, dict) and positive(c)), None)
        if template is None:
            return []  # no valid body documented to vary
        payees = [a for a in self.driver.accounts() if not a.purposes and a.name != payer.name]
        payee_keys = [k for k, role in bound.op.field_roles.items() if role == "to_account"]
        cases = []
        for text in values:
            body = dict(template.body)
            for k in payee_keys:
                body[k] = payees[0].account_id if payees else body.get(k)
            wire = self.driver.wire_value(bound.name, "amount", text)  # e.g. yuan -> fen
            for k in amount_keys:
                body[k] = wire
            cases.append(operation.Case(body=body, media_type=template.media_type))
        return cases

    def _each_operation(self) -> Iterator[Any]:
        import schemathesis

        schema = schemathesis.openapi.from_path(str(self.openapi_path))
        schema.config.update(base_url=self.base_url)
        from schemathesis.core.result import Ok

        for result in schema.get_all_operations():
            if isinstance(result, Ok):
                yield result.ok()
            else:  # the document describes an operation no tool can read: a finding in itself
                err = result.err()
                f = Finding(
                    "接口文档", "-", ["document"], "接口文档中的操作无法解析", str(err)[:500], None, "", "document"
                )
                self._found[f.key()] = f

    def run(self, accounts: list[Account]) -> Outcome:
        outside = outside_references(self.doc, self.openapi_path.parent)
        if outside:
            # Schemathesis would fetch these itself (plain requests, redirects followed, no guard).
            raise OutOfScope(
                "refused: the interface document refers outside itself and its folder, which the lab "
                f"does not fetch: {', '.join(outside[:5])}"
                + (f" (+{len(outside) - 5} more)" if len(outside) > 5 else ""),
                zh="接口文档引用了文档及其目录以外的资源，实验室不获取：" + "、".join(outside[:5]),
            )
        self._start = time.monotonic()
        operations = list(self._each_operation())
        self.outcome.operations = [f"{o.method.upper()} {o.path}" for o in operations]
        for n, acct in enumerate(accounts):
            # The first account takes every operation through the coverage phase; each further
            # account (its own fresh session) repeats what depends on who is asking.
            first = n == 0
            state: dict[str, Any] = {"session": self._login(acct)}
            for operation in operations:
                bound = self._bind(operation)
                unsafe = self.driver.unsafe(operation.method, operation.path)
                if unsafe is not None:
                    self.outcome.notes.append(
                        f"{operation.method.upper()} {operation.path}: 规格标为不安全操作，未发送（{unsafe}）"
                    )
                    continue
                if bound.op is None and operation.method.upper() not in ("GET", "HEAD", "OPTIONS"):
                    self.outcome.notes.append(
                        f"{operation.method.upper()} {operation.path}: 规格未声明对应操作，"
                        "为免以非测试身份改变状态，仅检查只读操作"
                    )
                    continue
                if bound.name == "login":
                    self._declared_login(operation, bound, state)
                if not first and not self._needs_auth(operation, bound):
                    continue
                sources: list[tuple[str, Iterator[Any]]] = [("limits", iter(self._limit_cases(operation, bound, acct)))]
                if first:
                    sources.insert(0, ("coverage", self._coverage_cases(operation)))
                for source, cases in sources:
                    for case in cases:
                        if self._out_of_time():
                            break
                        with contextlib.suppress(AssertionError, BaseExceptionGroup):  # kept in self._found
                            self._send(case, bound, state, source)
                if not self._out_of_time():
                    self._fuzz(operation, bound, state)
            if self._out_of_time():
                self.outcome.notes.append(f"达到时间上限 {self.time_budget_s:.0f} s，其余用例未发送")
                break
        self.outcome.findings = sorted(self._found.values(), key=lambda f: (f.operation, f.title))
        self.outcome.seconds = time.monotonic() - self._start
        # Dedupe the notes (one per account otherwise).
        self.outcome.notes = list(dict.fromkeys(self.outcome.notes))
        return self.outcome

    def _declared_login(self, operation: Any, bound: Bound, state: dict[str, Any]) -> None:
        """The account's own login with its declared password: the documented success answer."""
        assert bound.op is not None
        acct = state["session"].account
        call = self.driver.prepare("login", None, **acct.known())
        if call.form is not None:
            case = operation.Case(body=call.form, media_type="application/x-www-form-urlencoded")
        else:
            case = operation.Case(body=call.json, media_type="application/json")
        with contextlib.suppress(AssertionError, BaseExceptionGroup):  # kept in self._found
            self._send(case, bound, state, "login")
