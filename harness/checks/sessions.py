"""Using a session to see whether it still works: the probe every session check relies on.

A session is judged by one authenticated read the sample declared: ``account`` when there is one,
otherwise the first authenticated, safe read operation whose inputs the session's own values fill.
Every check that judges a session first shows the probe can tell (a genuine session reads, a
request without a credential is refused), so a refusal later is the credential's, not the API's.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import requests

from harness.checks.answers import brief
from harness.drivers import DriverError, DriverSession
from harness.verdicts import not_applicable


def probe_operation(driver: Any) -> str:
    ops = driver.operations()
    usable = {n: i for n, i in ops.items() if i.kind == "read" and i.auth and not i.unsafe}
    # The session's own credential must decide the answer: prefer reads authenticated by it.
    ranked = sorted(usable, key=lambda n: (not usable[n].by_session, n != "account"))
    if ranked:
        return str(ranked[0])
    not_applicable(
        "样品驱动未声明需认证的查询操作，无法检验会话是否有效",
        en="the sample's driver declares no query operation that needs authentication, so no session can be checked "
        "for validity",
    )
    raise AssertionError("unreachable")


def read_with(
    driver: Any, session: DriverSession, note: str, operation: str | None = None
) -> tuple[requests.Response, bool]:
    """Use the session once: (answer, whether it is the operation's declared success)."""
    op = operation or probe_operation(driver)
    resp = driver.send(driver.prepare(op, session), session, note=note)
    return resp, bool(driver.succeeded(op, resp))


@dataclass
class Controls:
    """What the probe answered to the genuine session, to no credential and to a garbage one."""

    operation: str
    genuine: requests.Response
    missing: requests.Response
    garbage: requests.Response

    def rows(self) -> list[dict[str, str]]:
        return [
            {"对照": "真实凭证", "应答": brief(self.genuine)},
            {"对照": "不带凭证", "应答": brief(self.missing)},
            {"对照": "随机无效凭证", "应答": brief(self.garbage)},
        ]


def negative_controls(driver: Any, session: DriverSession, operation: str | None = None) -> Controls:
    """Show the probe can tell a valid credential from none and from garbage; a lab error if not
    (nothing a forged or revoked credential does can then be judged)."""
    op = operation or probe_operation(driver)
    genuine, ok = read_with(driver, session, "对照：真实凭证", op)
    if not ok:
        raise DriverError(f"a genuine session cannot use {op!r} ({genuine.status_code} {genuine.text[:200]})")
    missing, missing_ok = read_with(driver, session.without_credentials(), "对照：不带凭证", op)
    junk = secrets.token_urlsafe(max(8, min(len(session.token), 48)) if session.token else 24)
    garbage, garbage_ok = read_with(driver, session.with_token(junk), "对照：随机无效凭证", op)
    if missing_ok or garbage_ok:
        which = "不带凭证" if missing_ok else "随机无效凭证"
        raise DriverError(
            f"{op!r} also succeeds with {'no credential' if missing_ok else 'a random credential'} "
            f"({which}): the probe cannot tell a valid session, so forged or revoked ones cannot be judged",
            zh=f"操作 {op} 在{which}时也成功，无法据此判断凭证是否有效",
        )
    return Controls(op, genuine, missing, garbage)
