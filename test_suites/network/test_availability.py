"""JR/T 0199-2020 chapter 11 网络安全: no single crafted input stops the service (11.availability.input).

Into every input of every declared operation that is not marked unsafe, and of the login: strings
that make nested-quantifier regular expressions backtrack (grown step by step), very long values,
deeply nested JSON, huge numbers and slow-query patterns (harness.checks.availability). While a
crafted request is still in flight, a control request (a cheap declared read, from another session)
must answer in time:

- the control does not answer in time, and again when the crafted request is repeated: one request
  stopped the service, a product availability failure;
- the control answers: the slow crafted request alone is an observation;
- the product never answers the control again: an error that says so (what follows cannot be judged).

The control is shown to work first. It runs after the target's other checks (``late``): a product
that stalls must not disturb them."""

from __future__ import annotations

import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from harness.checks import availability as av
from harness.checks.inputs import Slot, fits, locate, ordinary_values, placed, session_values
from harness.checks.transaction import brief, decimals_of, unit
from harness.drivers import DriverError, DriverSession, SampleTimeout
from harness.spec.model import Account
from harness.suite_support import usable_accounts
from harness.verdicts import not_applicable

BUDGET_S = 480.0


class InFlight:
    """One request sent on its own thread, so the check can look at the product meanwhile."""

    def __init__(self, send: Callable[[], requests.Response]):
        self.answer: requests.Response | None = None
        self.error: BaseException | None = None
        self.start = time.monotonic()
        self.end: float | None = None

        def run() -> None:
            try:
                self.answer = send()
            except BaseException as e:  # noqa: BLE001 - kept for the check (SampleTimeout, connection refused)
                self.error = e
            finally:
                self.end = time.monotonic()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def wait(self, seconds: float) -> bool:
        self.thread.join(timeout=max(seconds - (time.monotonic() - self.start), 0.0))
        return not self.thread.is_alive()

    @property
    def took(self) -> float:
        return (self.end or time.monotonic()) - self.start


@contextmanager
def _serialised(driver: Any) -> Iterator[None]:
    """Evidence transcripts stay whole while two requests are in flight."""
    hook = getattr(driver, "on_response", None)
    if hook is None:
        yield
        return
    lock = threading.Lock()

    def locked(resp: requests.Response, note: str) -> None:
        with lock:
            hook(resp, note)

    driver.on_response = locked
    try:
        yield
    finally:
        driver.on_response = hook


@contextmanager
def _deep_enough(deep: bool) -> Iterator[None]:
    """Room for the lab's own encoder to write a deeply nested value (it recurses once per level)."""
    old = sys.getrecursionlimit()
    if deep:
        sys.setrecursionlimit(max(old, 20_000))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


@dataclass
class Control:
    """A cheap declared read, sent from a session of its own."""

    driver: Any
    operation: str
    session: DriverSession | None
    usual_s: float = 0.0

    @property
    def deadline(self) -> float:
        return max(av.CONTROL_S, 10 * self.usual_s)

    def send(self) -> requests.Response:
        call = self.driver.prepare(self.operation, self.session)
        return self.driver.send(call, self.session, note=f"对照请求：{self.operation}")

    def answered_within(self, seconds: float) -> float | None:
        """Seconds the control took, None when it gave no answer in time (any HTTP answer counts:
        the question is whether the service answers at all)."""
        flight = InFlight(self.send)
        if flight.wait(seconds) and flight.answer is not None:
            return flight.took
        flight.wait(seconds + 15)
        return None


def _control(driver: Any, accts: list[Account]) -> Control:
    """The control read (the first declared read a session of its own can make by itself), shown
    to work three times before anything is judged."""
    reads = [(n, i) for n, i in driver.operations().items() if i.kind == "read" and not i.unsafe]
    reads.sort(key=lambda ni: (not ni[1].auth, len(ni[1].inputs)))
    if not reads:
        not_applicable(
            "样品驱动未声明任何查询操作，无法以对照请求判断服务是否仍在应答",
            en="the sample's driver declares no query operation, so no control request can tell whether the service "
            "still answers",
        )
    session = None
    if any(i.auth for _, i in reads) and accts:
        session = driver.session(accts[1] if len(accts) > 1 else accts[0])  # a session of its own
    tried = []
    for name, info in reads:
        if info.auth and session is None:
            continue
        control = Control(driver, name, session if info.auth else None)
        try:
            times = [_control_time(driver, control) for _ in range(3)]
        except DriverError as e:
            tried.append(f"{name}: {e}")
            continue
        control.usual_s = statistics.median(times)
        return control
    raise DriverError(
        "no declared read works as a control before any crafted input: " + ("; ".join(tried) or "no session"),
        zh="没有可用作对照的查询操作（在发送构造输入前即无法正常应答），无法判定",
    )


def _control_time(driver: Any, control: Control) -> float:
    t0 = time.monotonic()
    resp = control.send()
    took = time.monotonic() - t0
    if not driver.succeeded(control.operation, resp) or took > av.CONTROL_S:
        raise DriverError(f"{brief(resp)} in {took:.2f} s")
    return took


@dataclass
class Run:
    """The check's state: the control, the episodes, the budget."""

    driver: Any
    control: Control
    deployment: Any
    episodes: list[av.Episode] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    uncovered: list[str] = field(default_factory=list)
    sent: int = 0
    deadline: float = field(default_factory=lambda: time.monotonic() + BUDGET_S)

    def out_of_time(self) -> bool:
        return time.monotonic() > self.deadline

    def attempt(
        self, where: str, labels: tuple[str, str], family: str, send: Callable[[], requests.Response], usual_s: float
    ) -> av.Episode:
        """Send one crafted request; while it is in flight past the quick time, the control. ``labels``
        name what was sent, in Chinese and in English."""
        label, label_en = labels
        self.sent += 1
        quick = max(av.QUICK_S, 4 * usual_s)
        crafted = InFlight(send)
        if crafted.wait(quick):
            if isinstance(crafted.error, Throttled):
                raise crafted.error
            if crafted.error is not None and not isinstance(crafted.error, SampleTimeout | requests.ConnectionError):
                self.sent -= 1
                raise NotSent(crafted.error)  # the lab could not write it (an encoder's limit): nothing was sent
            return av.Episode(where, label, family, crafted.took, crafted.answer is not None, crafted_en=label_en)
        control_s = self.control.answered_within(self.control.deadline)
        crafted.wait(_timeout(self.driver) + 15)
        if isinstance(crafted.error, Throttled):
            raise crafted.error
        if isinstance(crafted.error, requests.ConnectionError):
            self.notes.append(f"{where} {label}：构造请求的连接被断开（{crafted.error}）")
        return av.Episode(
            where, label, family, crafted.took, crafted.answer is not None, True, control_s, crafted_en=label_en
        )

    def recover(self, episode: av.Episode) -> None:
        """After a stall: wait until the control answers again; an error when it never does."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < av.RECOVERY_S:
            if self.control.answered_within(self.control.deadline) is not None:
                episode.recovered_s = time.monotonic() - t0
                return
            time.sleep(1.0)
        alive = self.deployment.alive()
        state = "样品进程仍在运行但不再应答" if alive else "样品进程已退出"
        raise DriverError(
            f"after the crafted input {episode.crafted_en} into {episode.input} the sample gave no answer to the "
            f"control for {av.RECOVERY_S:g} s ({'still running, not answering' if alive else 'its process exited'}): "
            "nothing after it can be judged",
            zh=f"向 {episode.input} 发送构造输入（{episode.crafted}）后，对照请求 {av.RECOVERY_S:g} 秒内均无应答，"
            f"{state}，后续无法判定",
        )


def _timeout(driver: Any) -> float:
    return float(getattr(driver, "timeout_s", 10.0))


Maker = Callable[[Any], Callable[[], requests.Response]]


def _input(run: Run, where: str, make: Maker, slot: Slot, usual_s: float, renew: Callable[[], None]) -> None:
    """Every crafted value into one input; stops at the first stall (reproduced) for that input.
    ``make(value)`` prepares the request now and returns what sends it; ``renew()`` opens a fresh
    session (after a stall the old one may have expired, and an expired session answers before
    any validation is reached)."""
    for fam in av.FAMILIES:
        n, stalls = av.LADDER_START, 0
        while n <= av.LADDER_MAX:
            if run.out_of_time():
                run.uncovered.append(where)
                return
            value = fam.value(n)
            build = lambda v=value: make(placed(slot, v))  # noqa: E731 - one crafted request, built when sent
            label = (f"{fam.name} {len(value)} 字符", f"{fam.name_en} of {len(value)} characters")
            ep = _try(run, where, label, fam.name, build, usual_s)
            if ep is None:
                break
            run.episodes.append(ep)
            if ep.stalled:
                # Wait for the product, then the same length again (and longer ones, if the machine
                # was quicker this time): a second stall of this family is the reproduction.
                run.recover(ep)
                renew()
                stalls += 1
                if stalls >= 2:
                    return
                continue
            if not ep.answered:
                break  # slow alone, the service kept answering: an observation; longer strings add nothing
            n = av.next_length(n, ep.crafted_s - usual_s)
    for c in av.one_shots():
        if run.out_of_time():
            run.uncovered.append(where)
            return
        if not fits(slot, c.value):
            continue
        stalls = 0
        for _ in range(2):  # once, and once more after a stall
            with _deep_enough(c.deep):
                ep = _try(run, where, (c.name, c.name_en), c.name, lambda v=c.value: make(placed(slot, v)), usual_s)
            if ep is None:
                break
            run.episodes.append(ep)
            if not ep.stalled:
                break
            stalls += 1
            run.recover(ep)
            renew()
        if stalls >= 2:
            return


def _try(
    run: Run, where: str, labels: tuple[str, str], family: str, build: Callable[[], Any], usual_s: float
) -> av.Episode | None:
    """One crafted request, or None (noted) when the lab cannot build or encode it."""
    label = labels[0]
    try:
        send = build()
    except (DriverError, TypeError, ValueError) as e:
        run.notes.append(f"{where} {label}：无法构造该请求，未发送（{e}）"[:300])
        return None
    try:
        return run.attempt(where, labels, family, send, usual_s)
    except NotSent as e:
        run.notes.append(f"{where} {label}：实验室无法编码该请求，未发送（{e}）"[:300])
        return None


def _operations(run: Run, accts: list[Account], payee: Account | None, amount: Any) -> int:
    driver = run.driver
    covered = 0
    ids = driver.object_ids()
    for name, info in driver.operations().items():
        if info.unsafe or not info.inputs:
            continue
        for name_in in info.inputs:
            if run.out_of_time():
                run.uncovered.append(f"{name}.{name_in}")
                continue
            # A fresh session per input: a session that expired meanwhile would answer before any
            # validation and hide what the input does.
            held: dict[str, Any] = {"s": driver.session(accts[0]) if info.auth and accts else None}
            sess = held["s"]
            if info.auth and sess is None:
                run.notes.append(f"{name}：需要登录会话，未能取得")
                break
            own = session_values(sess)
            if name_in in own and name_in not in info.path_inputs and name_in not in ids and info.changes_state():
                run.notes.append(f"{name}.{name_in}：为账户本身的数据（写操作），保持真实值")
                continue
            if info.kind == "delete" and name_in not in ids and name_in not in info.path_inputs:
                run.notes.append(f"{name}.{name_in}：删除操作只向其对象标识发送构造输入（其余输入被接受即会删除）")
                continue
            fields = ordinary_values(info.inputs, sess, payee, amount)
            try:
                slot = locate(driver, name, sess, fields, name_in)
            except DriverError as e:
                run.notes.append(f"{name}.{name_in}：无法构造请求（{e}）")
                continue
            if not slot.seen:
                continue
            usual = _usual(driver, name, sess, {**fields, name_in: placed(slot, "1")})

            def make(
                value: Any, name: str = name, held: Any = held, fields: Any = fields, name_in: str = name_in
            ) -> Any:
                sess = held["s"]
                call = driver.prepare(name, sess, **{**fields, name_in: value})  # prepared (and signed) now
                return lambda: driver.send(call, sess, note=f"构造输入：{name}.{name_in}")

            def renew(held: Any = held) -> None:
                if held["s"] is not None:
                    held["s"] = driver.session(held["s"].account)

            _input(run, f"{name}.{name_in}", make, slot, usual, renew)
            covered += 1
    return covered


def _usual(driver: Any, name: str, sess: Any, fields: dict[str, Any]) -> float:
    """The operation's usual answer time with an ordinary value (median of three)."""
    times = []
    for _ in range(3):
        t0 = time.monotonic()
        try:
            driver.send(driver.prepare(name, sess, **fields), sess, note=f"{name}：常规输入（计时基线）")
        except SampleTimeout:
            raise DriverError(f"{name} does not answer an ordinary request in time: nothing can be judged") from None
        times.append(time.monotonic() - t0)
    return statistics.median(times)


def _login(run: Run, acct: Account) -> int:
    """The login's user name and password (for a user nobody has: no lockout is touched). The
    product's own throttling of failed logins stops this part, and is noted."""
    driver = run.driver
    nobody = f"{(acct.username or 'u')[:3]}{uuid.uuid4().hex[:8]}"
    wrong = f"Wrong-{uuid.uuid4().hex[:8]}"
    covered = 0
    before = driver.patient
    driver.patient = False  # a throttled answer is an answer; waiting it out is not this check's business
    try:
        usual = statistics.median(_login_time(driver, acct, nobody, wrong) for _ in range(3))
        for where in ("username", "password"):

            def make(value: Any, where: str = where) -> Callable[[], requests.Response]:
                u, p = (value, wrong) if where == "username" else (nobody, value)
                ghost = Account(name="crafted", username=str(u), password=str(p), values=acct.values)
                return lambda: _unthrottled(driver.login(ghost))

            _input(run, f"login.{where}", make, Slot("body"), usual, lambda: None)
            covered += 1
    finally:
        driver.patient = before
    return covered


def _login_time(driver: Any, acct: Account, nobody: str, wrong: str) -> float:
    t0 = time.monotonic()
    _unthrottled(driver.login(Account(name="crafted", username=nobody, password=wrong, values=acct.values)))
    return time.monotonic() - t0


class NotSent(Exception):
    """The lab's own encoding refused the crafted value: it never reached the product."""


class Throttled(Exception):
    """The product throttles the lab's failed logins: its own rate limit answered, not the login."""


def _unthrottled(resp: requests.Response) -> requests.Response:
    if resp.status_code == 429:  # the throttling answer the driver itself knows (Retry-After)
        raise Throttled
    return resp


@pytest.mark.late(4)
@pytest.mark.timeout(BUDGET_S + 2 * av.RECOVERY_S + 300)
@pytest.mark.clause("11.availability.input")
def test_crafted_input_does_not_stop_the_service(driver, deployment, params, evidence):
    accts = usable_accounts(driver)
    control = _control(driver, accts)
    run = Run(driver, control, deployment)
    payee = next((a for a in driver.accounts() if accts and a.name != accts[0].name), accts[0] if accts else None)
    try:
        with _serialised(driver):
            covered = _operations(run, accts, payee, unit(decimals_of(params)))
            if driver.can_login() and accts:
                try:
                    covered += _login(run, accts[0])
                except Throttled:
                    run.notes.append("登录：样品对本实验室的登录失败限速（429），登录输入未发送构造输入")
    finally:  # also when the sample stopped answering for good: what led there is the evidence
        failures, slow = av.judge(run.episodes)
        evidence.attach_json(
            "构造输入与对照请求",
            {
                "对照请求": {"操作": control.operation, "常规用时（秒）": round(control.usual_s, 3)},
                "对照时限（秒）": control.deadline,
                "不可用": [e.row() for e in failures],
                "慢但服务仍应答": [e.row() for e in slow],
                "全部尝试": [e.row() for e in run.episodes],
                "说明": run.notes,
                "超出时间预算未覆盖": run.uncovered,
            },
        )
    evidence.observe(
        f"向 {covered} 处输入发送 {run.sent} 个构造输入（病态正则串、超长、深层嵌套、超大数、慢查询模式），"
        f"期间以 {control.operation} 为对照（常规 {control.usual_s:.2f} 秒，时限 {control.deadline:g} 秒）："
        + (
            "；".join(
                f"{e.input} 的{e.crafted}使对照请求在时限内无应答（复现），{e.recovered_s or 0:.0f} 秒后恢复"
                for e in failures
            )
            if failures
            else "对照请求均在时限内应答"
        )
        + (f"；另有 {len(slow)} 个构造输入应答缓慢但服务仍应答（观察项）" if slow else ""),
        en=f"{run.sent} crafted inputs (pathological-regex strings, very long, deeply nested, huge numbers, "
        f"slow-query patterns) into {covered} inputs, with {control.operation} as the control (usually "
        f"{control.usual_s:.2f} s, limit {control.deadline:g} s): "
        + (
            "; ".join(
                f"{e.crafted_en} into {e.input} left the control unanswered (reproduced), recovered after "
                f"{e.recovered_s or 0:.0f} s"
                for e in failures
            )
            if failures
            else "the control always answered in time"
        )
        + (f"; {len(slow)} crafted inputs were slow while the service kept answering (observations)" if slow else ""),
    )
    assert not failures, "; ".join(f"{e.crafted_en} into {e.input} stopped the service" for e in failures)
    if run.sent == 0:
        raise DriverError("no crafted input could be sent to any input: nothing was judged")
    if run.uncovered:
        raise DriverError(
            f"the time budget ({BUDGET_S:g} s) ran out before every input was covered: {', '.join(run.uncovered[:8])}"
        )
