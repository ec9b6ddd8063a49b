"""What the conformance run makes of the answers: findings and the run's outcome, the lab's own
response check (no stack trace), and an answer as the ``requests.Response`` drivers judge.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from typing import Any

import requests

from harness.drivers.http import dig

STACK_TRACE = re.compile(
    r"Traceback \(most recent call last\)|\bat [\w$.]+\([\w$]+\.java:\d+\)|"
    r"File \"[^\"]+\", line \d+|\bStack ?trace\b|Exception in thread",
    re.IGNORECASE,
)


@dataclass
class Finding:
    operation: str
    account: str
    checks: list[str]
    title: str
    message: str
    status: int | None
    curl: str
    source: str  # coverage | fuzz | limits | login

    def key(self) -> tuple[str, str, str]:
        return (self.operation, ",".join(sorted(self.checks)), self.title)


@dataclass
class Outcome:
    operations: list[str] = field(default_factory=list)
    requests: int = 0
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)
    by_operation: dict[str, dict[str, int]] = field(default_factory=dict)  # op -> status -> count
    notes: list[str] = field(default_factory=list)
    log: list[dict[str, Any]] = field(default_factory=list)


def positive(case: Any) -> bool:
    meta = getattr(case, "meta", None)
    mode = getattr(getattr(meta, "generation", None), "mode", None)
    return str(getattr(mode, "value", mode)) == "positive"


def no_stack_trace(ctx: Any, response: Any, case: Any) -> bool | None:
    """No answer carries a stack trace (JR/T 0199 error handling: no internals disclosed)."""
    from schemathesis.core.failures import Failure

    text = response.text if isinstance(response.text, str) else ""
    m = STACK_TRACE.search(text)
    if m:
        raise Failure(
            operation=case.operation.label,
            title="Stack trace in the response",
            message=f"the answer discloses a stack trace: …{text[max(0, m.start() - 40) : m.end() + 80]}…",
        )
    return None


def as_requests_response(response: Any) -> requests.Response:
    """A Schemathesis answer as the ``requests.Response`` drivers judge (``driver.succeeded``)."""
    from http.cookies import CookieError, SimpleCookie

    from requests.structures import CaseInsensitiveDict

    out = requests.Response()
    out.status_code = int(response.status_code)
    out._content = bytes(response.content or b"")
    headers: CaseInsensitiveDict[str] = CaseInsensitiveDict()
    for name, values in response.headers.items():
        headers[name] = ", ".join(values) if name.lower() != "set-cookie" else values[-1]
        if name.lower() == "set-cookie":
            for raw in values:
                with contextlib.suppress(CookieError):
                    for morsel in SimpleCookie(raw).values():
                        out.cookies.set(morsel.key, morsel.value)
    out.headers = headers
    out.encoding = response.encoding
    out.url = str(getattr(response.request, "url", "") or "")
    return out


def declared_answer_field(body: Any, path: str) -> Any:
    return dig(body, path)
