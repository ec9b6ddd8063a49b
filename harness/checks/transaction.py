"""Shared machinery of the JR/T 0199-2020 chapter 5 (交易安全) suite (test_suites/transaction/).

Everything here works through the driver protocol and the spec: no URL, field name, error text or
account of any particular sample. Pieces:

- money: amounts in the sample's declared precision (``params.limits.decimals``);
- signed transfers that keep a per-deployment ledger of what this suite moved out of each account
  (the daily-limit check uses it to say where the declared boundary should fall);
- response fingerprints, to compare refusals without being fooled by echoed amounts or IDs;
- signature surgery for the integrity check (a signature over other values, or over fewer fields);
- (session-token forgery lives in harness/checks/tokens.py);
- parallel sends (a barrier, then all at once) for the concurrency and idempotency checks;
- the idle-session clock: sessions opened when the suite starts on a target, so the expiry check,
  ordered last, only waits for what remains of the declared idle time;
- ordering: checks marked ``late(rank)`` move to the end of their target's block.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

import requests

from harness.checks.answers import brief as brief  # re-exported: the suites import them from here too
from harness.checks.answers import fingerprint as fingerprint
from harness.drivers import Call, DriverError, DriverSession
from harness.drivers.base import payee_fields as payee_fields
from harness.spec.model import Account
from harness.suite_support import accepted

TRANSFER = "transfer"


# -- money ---------------------------------------------------------------------------------------
def unit(decimals: int) -> Decimal:
    """The smallest amount the sample declared it handles (0.01 for two decimals)."""
    return Decimal(1).scaleb(-decimals)


def decimals_of(params: Any) -> int:
    """The declared precision of amounts; two decimals (yuan and fen) when no limits are declared."""
    return int(params.limits.decimals) if getattr(params, "limits", None) is not None else 2


def money(value: Decimal | int | str, decimals: int) -> Decimal:
    """An amount rounded down to the declared precision (never up: it must stay payable)."""
    return Decimal(value).quantize(unit(decimals), rounding=ROUND_DOWN)


# -- the suite's ledger of outgoing transfers ----------------------------------------------------
class Ledger:
    """What the suite's checks had accepted as outgoing transfers, per deployment and account.

    Only a guide (the daily-limit check says where it expects the boundary); no verdict rests on it,
    because other suites may move money too and a sample may answer success without debiting."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._out: dict[tuple[int, str], Decimal] = {}

    def add(self, key: int, account: str, amount: Decimal) -> None:
        with self._lock:
            self._out[(key, account)] = self._out.get((key, account), Decimal(0)) + amount

    def total(self, key: int, account: str) -> Decimal:
        with self._lock:
            return self._out.get((key, account), Decimal(0))


LEDGER = Ledger()


def ledger_key(driver: Any) -> int:
    """One deployment, one ledger (the driver is rebuilt per check; its deployment is not)."""
    return id(getattr(driver, "deployment", driver))


def transfer_call(driver: Any, session: DriverSession, to: Account, amount: Any, **fields: Any) -> Call:
    return driver.prepare(TRANSFER, session, **{**payee_fields(to), "amount": amount, **fields})


def send_transfer(
    driver: Any, call: Call, session: DriverSession, note: str, payer: Account | None = None, amount: Any = None
) -> requests.Response:
    """Send a prepared transfer; an accepted one goes into the ledger under ``payer``."""
    resp = driver.send(call, session, note=note)
    if payer is not None and amount is not None and accepted(driver, TRANSFER, resp):
        with contextlib.suppress(InvalidOperation):
            LEDGER.add(ledger_key(driver), payer.name, Decimal(str(amount)))
    return resp


def transfer(driver: Any, session: DriverSession, to: Account, amount: Any, note: str = "") -> requests.Response:
    """A correctly signed transfer from the session's own account."""
    call = transfer_call(driver, session, to, amount)
    return send_transfer(driver, call, session, note or f"转账 {amount}", session.account, amount)


def move_funds(
    driver: Any, session: DriverSession, to: Account, amount: Decimal, per_transaction: Decimal, note: str
) -> Decimal:
    """Move up to ``amount`` in pieces no larger than the per-transaction limit; the amount moved
    (it stops at the first refusal: the caller decides whether that matters)."""
    moved = Decimal(0)
    while moved < amount:
        piece = min(per_transaction, amount - moved)
        if not accepted(driver, TRANSFER, transfer(driver, session, to, piece, note)):
            break
        moved += piece
    return moved


# -- signature surgery ---------------------------------------------------------------------------
def sign_over(driver: Any, key: str, values: dict[str, Any], fields: Sequence[str]) -> str:
    """The signature the declared scheme gives ``values`` if it covered only ``fields`` (plus the
    nonce and timestamp, which every signature covers)."""
    return str(driver.sign_values(values, key, list(fields)))


def decoy(value: Any, known_ids: Sequence[str]) -> Any:
    """A different value of the same kind: another account's ID, another amount, other text."""
    if isinstance(value, bool):
        return not value
    text = str(value)
    if text in known_ids:
        others = [i for i in known_ids if i != text]
        if others:
            return others[0]
    if isinstance(value, int):
        return value + 1
    try:
        d = Decimal(text)
    except InvalidOperation:
        return text + "0"
    if d.is_finite():
        bumped = d + 1
        return bumped if isinstance(value, Decimal) else (float(bumped) if isinstance(value, float) else str(bumped))
    return text + "0"


def shown(value: Any) -> str:
    """A sent value as the request's JSON writes it (``true``, ``null``), for an observation: never a
    Python repr such as ``True`` or ``None``."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    return str(value)


# -- parallel sends ------------------------------------------------------------------------------
def send_parallel(
    driver: Any,
    calls: Sequence[Call],
    session: DriverSession,
    note: str,
    after: Callable[[requests.Response], None],
    warm: Call | None = None,
) -> list[requests.Response | BaseException]:
    """Send all calls at once (threads released together by a barrier); the answers in call order,
    or the exception a send raised. Each thread first sends ``warm`` (a harmless read) so every
    connection is open before the barrier: the real requests then arrive within milliseconds.
    ``after`` sees each answer (the ledger); the driver's evidence hook is serialised so
    transcripts stay whole."""
    hook = getattr(driver, "on_response", None)
    lock = threading.Lock()
    if hook is not None:

        def locked(resp: requests.Response, text: str) -> None:
            with lock:
                hook(resp, text)

        driver.on_response = locked
    barrier = threading.Barrier(len(calls))

    def fire(i: int) -> requests.Response:
        if warm is not None:
            driver.send(warm, session, note=f"预热连接 #{i + 1}")
        barrier.wait(timeout=30)
        resp: requests.Response = driver.send(calls[i], session, note=f"{note} #{i + 1}")
        with lock:
            after(resp)
        return resp

    try:
        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            futures = [pool.submit(fire, i) for i in range(len(calls))]
            out: list[requests.Response | BaseException] = []
            for f in futures:
                exc = f.exception()
                out.append(exc if exc is not None else f.result())
            return out
    finally:
        if hook is not None:
            driver.on_response = hook


# -- the idle-session clock ----------------------------------------------------------------------
def expiry_margin(timeout_s: float) -> float:
    """How far past (or before) the declared idle time the expiry check looks: 10 %, 1-30 s."""
    return min(max(1.0, 0.1 * timeout_s), 30.0)


@dataclass
class Exchange:
    """One request the clock made, kept for the expiry check's evidence."""

    response: requests.Response
    note: str
    sent: float  # time.time() before sending
    received: float  # time.time() after the answer


@dataclass
class IdleClock:
    """Two sessions opened as soon as the suite reaches a target:

    - ``idle`` is never used until the expiry check, which waits until the declared idle time plus
      a margin has passed since its login answer, then uses it: it must be refused;
    - ``probe`` is used once by a timer thread at the declared idle time minus the margin (counted
      from before its login was sent): it should still work. That shows the idle session did not die
      for some other reason (a sample keeping one session per user, a restart) before its time.
    """

    account: Account
    timeout_s: float
    margin_s: float
    driver: Any = None
    idle: DriverSession | None = None
    probe: DriverSession | None = None
    idle_login: Exchange | None = None
    probe_login: Exchange | None = None
    probe_touch: Exchange | None = None
    start_control: Exchange | None = None
    start_ok: bool = False
    problem: str | None = None
    log: list[Exchange] = field(default_factory=list)
    _timer: threading.Timer | None = None
    _pending: list[tuple[requests.Response, str]] = field(default_factory=list)

    def record(self, resp: requests.Response, note: str) -> None:
        self._pending.append((resp, note))

    def _exchange(self, action: Callable[[], Any]) -> tuple[Any, Exchange]:
        self._pending.clear()
        t0 = time.time()
        result = action()
        t1 = time.time()
        resp, note = self._pending[-1] if self._pending else (None, "")
        if resp is None:
            raise DriverError("the driver made no HTTP request")
        ex = Exchange(resp, note, t0, t1)
        self.log.append(ex)
        return result, ex

    def start(self, driver: Any) -> None:
        """Show a fresh session works now (a third session, used at once), open both sessions and
        arm the probe. Failures are kept for the check to report."""
        from harness.checks.sessions import read_with

        self.driver = driver
        try:
            control = driver.session(self.account)
            (_resp, self.start_ok), self.start_control = self._exchange(
                lambda: read_with(driver, control, "开始时新会话使用（对照）")
            )
            self.idle, self.idle_login = self._exchange(lambda: driver.session(self.account))
            self.probe, self.probe_login = self._exchange(lambda: driver.session(self.account))
        except Exception as e:  # noqa: BLE001 - reported by the expiry check as a lab error
            self.problem = f"{type(e).__name__}: {e}"
            return
        assert self.probe_login is not None
        delay = self.probe_login.sent + self.timeout_s - self.margin_s - time.time()
        self._timer = threading.Timer(max(0.0, delay), self._touch_probe)
        self._timer.daemon = True
        self._timer.start()

    def _touch_probe(self) -> None:
        from harness.checks.sessions import read_with

        assert self.probe is not None
        probe = self.probe
        try:
            _, self.probe_touch = self._exchange(lambda: read_with(self.driver, probe, "对照会话：空闲时长到达前使用"))
        except Exception as e:  # noqa: BLE001
            self.problem = f"probe: {type(e).__name__}: {e}"

    def wait_probe(self) -> None:
        if self._timer is not None:
            self._timer.join(timeout=self.timeout_s + 60)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


# -- ordering ------------------------------------------------------------------------------------
def _target_of(item: Any) -> Any:
    callspec = getattr(item, "callspec", None)
    target = callspec.params.get("deployment") if callspec is not None else None
    return getattr(target, "model", target)


def late_rank(item: Any) -> int:
    m = item.get_closest_marker("late")
    return int(m.args[0]) if m is not None and m.args else (1 if m is not None else 0)


def order_late(items: list[Any]) -> None:
    """Move each item marked ``late(rank)`` right after the last item of its target (lower ranks
    first), keeping everything else where it is: the checks that use up a resource (a day's
    transfer limit) or wait (session expiry) run when the rest of the target's checks are done."""
    late = sorted((i for i in items if late_rank(i) > 0), key=late_rank)
    for item in late:
        items.remove(item)
        target = _target_of(item)
        last = max((n for n, other in enumerate(items) if _target_of(other) == target), default=len(items) - 1)
        items.insert(last + 1, item)
