"""A steady, bounded load of real operations through the driver: logins, account reads and signed
transfers from several test accounts, at a fixed number of concurrent users.

The driver builds every request (URL, fields, signature, nonce, timestamp: nothing here knows a
sample); an asyncio client (aiohttp) sends them, so a few users on a 2-core bench cost little CPU and
the timing of each operation is its own. Each user is a closed loop: log in, then account reads and
transfers in a seeded random mix, logging in again every ``relogin_every`` operations and after any
failure (a restarted sample may have forgotten every session). Every operation becomes one
``OpSample``, kept in memory and written out as the raw samples of the evidence.

The load runs on its own thread and event loop, so a check can kill the sample while it runs;
``stop`` ends it within one request timeout. Nothing here judges: see ``harness.checks.service``.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import random
import ssl
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp

from harness.deploy.scope import ScopeGuard
from harness.drivers import Call, DriverError, DriverSession
from harness.drivers.base import payee_fields
from harness.spec.model import Account

LOGIN, READ, TRANSFER = "login", "account", "transfer"
TRANSFER_AMOUNT = Decimal("0.01")  # small enough that no balance or daily limit is ever reached
FAILURE_PAUSE_S = 0.05  # after a failed operation: a user retries, it does not spin


@dataclass(frozen=True)
class OpSample:
    """One operation as the load saw it. Times are ``time.monotonic()`` seconds."""

    op: str  # login | account | transfer
    account: str  # the test account's name
    user: int  # which concurrent user sent it
    start: float
    end: float
    status: int | None  # HTTP status; None when no answer came (refused, reset, timed out)
    ok: bool  # answered as the spec declares
    ref: str = ""  # a transfer's ID as the sample acknowledged it
    to_account: str = ""  # a transfer's payee
    error: str = ""  # what went wrong, in a few words

    @property
    def latency_ms(self) -> float:
        return (self.end - self.start) * 1000

    @property
    def answered(self) -> bool:
        return self.status is not None


@dataclass(frozen=True)
class LoadPlan:
    concurrency: int
    duration_s: float
    read_share: float = 0.6  # the rest are signed transfers
    relogin_every: int = 40
    seed: int = 0


@dataclass
class _Answer:
    """What driver.succeeded and driver.returned need of an answer: status, headers, JSON."""

    status_code: int
    text: str
    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.text)


def write_samples(samples: list[OpSample], path: Path, t0: float) -> Path:
    """The raw samples as CSV: one row per operation, times in seconds from ``t0``."""
    names = [f.name for f in fields(OpSample)]
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow([*names, "latency_ms"])
        for s in samples:
            row = asdict(s)
            row["start"] = f"{s.start - t0:.6f}"
            row["end"] = f"{s.end - t0:.6f}"
            w.writerow([*(row[n] for n in names), f"{s.latency_ms:.3f}"])
    return path


class Load:
    """``accounts`` log in round-robin, one per user; each pays the next account in the list."""

    def __init__(
        self,
        driver: Any,
        guard: ScopeGuard,
        accounts: list[Account],
        plan: LoadPlan,
    ):
        if len(accounts) < 2:
            raise ValueError("a load with transfers needs at least two test accounts")
        self.driver = driver
        self.guard = guard
        self.accounts = accounts
        self.plan = plan
        self.samples: list[OpSample] = []  # appended by the load's thread only
        self.started_at = 0.0
        self.ended_at = 0.0  # when the users were told to stop
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None
        desc = getattr(driver, "desc", None)
        self.timeout_s = float(getattr(desc, "timeout_s", 10.0))
        self.tls_verify = bool(getattr(desc, "tls_verify", False))

    # -- control (any thread) ---------------------------------------------------------------------
    def start(self) -> None:
        self.started_at = time.monotonic()
        self._thread = threading.Thread(target=self._main, name="harness-load", daemon=True)
        self._thread.start()

    def stop(self) -> list[OpSample]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout_s + 10)
            if self._thread.is_alive():
                raise DriverError("the load generator did not stop within its request timeout")
        if self._failure is not None:
            raise DriverError(f"the load generator failed: {self._failure!r}") from self._failure
        return list(self.samples)

    def run(self) -> list[OpSample]:
        """Start, run for the plan's duration, stop."""
        self.start()
        self._stop.wait(self.plan.duration_s)
        return self.stop()

    def snapshot(self) -> list[OpSample]:
        return list(self.samples)

    # -- the load's thread ------------------------------------------------------------------------
    def _main(self) -> None:
        try:
            asyncio.run(self._users())
        except BaseException as e:  # noqa: BLE001 - handed to the caller by stop()
            self._failure = e

    async def _users(self) -> None:
        ctx: ssl.SSLContext | bool = ssl.create_default_context() if self.tls_verify else False
        connector = aiohttp.TCPConnector(limit=0, ssl=ctx, force_close=False)
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        # trust_env=False: no proxy from the environment, as for every lab session.
        async with aiohttp.ClientSession(connector=connector, timeout=timeout, trust_env=False) as http:
            users = [asyncio.create_task(self._user(http, i)) for i in range(self.plan.concurrency)]
            deadline = self.started_at + self.plan.duration_s
            while not self._stop.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            self.ended_at = time.monotonic()
            for u in users:
                u.cancel()
            for u in users:
                with contextlib.suppress(asyncio.CancelledError):
                    await u

    async def _user(self, http: aiohttp.ClientSession, n: int) -> None:
        rng = random.Random(self.plan.seed * 1000 + n)
        account = self.accounts[n % len(self.accounts)]
        payee = self.accounts[(n + 1) % len(self.accounts)]
        session: DriverSession | None = None
        done = 0
        while True:
            if session is None or (self.plan.relogin_every and done % self.plan.relogin_every == 0 and done):
                session = await self._login(http, n, account)
                done += 1
                if session is None:
                    await asyncio.sleep(FAILURE_PAUSE_S)
                continue
            if rng.random() < self.plan.read_share:
                ok = await self._read(http, n, session)
            else:
                ok = await self._transfer(http, n, session, payee)
            done += 1
            if not ok:
                session = None  # whatever failed, the next operation starts from a fresh login
                await asyncio.sleep(FAILURE_PAUSE_S)

    async def _send(self, http: aiohttp.ClientSession, call: Call) -> tuple[int | None, str, str]:
        """(status, body, error). Transport failures are answers of the load, not exceptions."""
        self.guard.check_url(call.url)
        headers = dict(call.headers)
        data = None
        if call.json is not None:
            headers.setdefault("Content-Type", "application/json")
            data = json.dumps(call.json, ensure_ascii=False, default=str).encode()
        try:
            async with http.request(
                call.method, call.url, headers=headers, params=call.params or None, data=data, allow_redirects=False
            ) as r:
                return r.status, await r.text(errors="replace"), ""
        except (TimeoutError, aiohttp.ClientError, OSError) as e:
            return None, "", type(e).__name__

    def _record(self, **kw: Any) -> OpSample:
        s = OpSample(**kw)
        self.samples.append(s)
        return s

    async def _login(self, http: aiohttp.ClientSession, n: int, account: Account) -> DriverSession | None:
        call = self.driver.prepare(LOGIN, None, **account.known())
        t = time.monotonic()
        status, text, error = await self._send(http, call)
        end = time.monotonic()
        session = None
        if status is not None:
            try:
                session = self.driver.session_from(account, _Answer(status, text))
            except DriverError as e:
                error = str(e)[:120]
        self._record(
            op=LOGIN, account=account.name, user=n, start=t, end=end, status=status, ok=session is not None,
            error=error,
        )  # fmt: skip
        return session

    async def _read(self, http: aiohttp.ClientSession, n: int, session: DriverSession) -> bool:
        call = self.driver.prepare(READ, session)
        t = time.monotonic()
        status, text, error = await self._send(http, call)
        ok = status is not None and self.driver.succeeded(READ, _Answer(status, text))
        self._record(
            op=READ, account=session.account.name, user=n, start=t, end=time.monotonic(), status=status, ok=ok,
            error=error,
        )  # fmt: skip
        return ok

    async def _transfer(self, http: aiohttp.ClientSession, n: int, session: DriverSession, payee: Account) -> bool:
        call = self.driver.prepare(TRANSFER, session, **payee_fields(payee), amount=TRANSFER_AMOUNT)
        t = time.monotonic()
        status, text, error = await self._send(http, call)
        end = time.monotonic()
        ok = status is not None and self.driver.succeeded(TRANSFER, _Answer(status, text))
        ref = ""
        if ok:
            try:
                ref = str(self.driver.returned(_Answer(status or 0, text), TRANSFER, "transfer_id"))
            except DriverError as e:  # accepted, but the answer lacks its declared ID
                ok, error = False, str(e)[:120]
        self._record(
            op=TRANSFER, account=session.account.name, user=n, start=t, end=end, status=status, ok=ok, ref=ref,
            to_account=payee.name, error=error,
        )  # fmt: skip
        return ok


def latency_histogram(
    samples: list[OpSample], path: Path, *, declared_p95_ms: float, measured_p95_ms: float, title: str
) -> Path:
    """The latency picture for the report: one histogram per operation (answered as declared),
    log-spaced bins, the declared and the measured P95 as vertical lines. matplotlib, headless."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    from matplotlib import pyplot as plt

    # Chinese labels need a CJK font (the lab set-up installs fonts-wqy-microhei).
    cjk = [f.name for f in font_manager.fontManager.ttflist if "WenQuanYi" in f.name or "Noto Sans CJK" in f.name]
    plt.rcParams["font.family"] = [*cjk[:1], "DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False
    ops = sorted({s.op for s in samples if s.ok})
    lat = [s.latency_ms for s in samples if s.ok]
    fig, ax = plt.subplots(figsize=(8, 4.2), dpi=110)
    if lat:
        lo, hi = max(min(lat), 0.1), max(max(lat), declared_p95_ms) * 1.2
        bins = [lo * (hi / lo) ** (i / 40) for i in range(41)]
        ax.hist([[s.latency_ms for s in samples if s.ok and s.op == op] for op in ops], bins=bins, stacked=True,
                label=ops)  # fmt: skip
        ax.set_xscale("log")
    ax.axvline(declared_p95_ms, color="crimson", linestyle="--", label=f"声明 P95 declared {declared_p95_ms:g} ms")
    ax.axvline(measured_p95_ms, color="black", linestyle=":", label=f"实测 P95 measured {measured_p95_ms:.1f} ms")
    ax.set_xlabel("响应时间 latency (ms, log)")
    ax.set_ylabel("操作数 operations")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
