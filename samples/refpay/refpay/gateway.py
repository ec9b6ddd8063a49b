"""``refpay gateway``: the entry point in front of several ``serve --instance`` processes that share
one data directory. A TCP pass-through (TLS ends at the instances, so clients see the service's
own certificate): each new connection goes to the next instance in turn; an instance that refuses
or does not answer a connection is skipped and left out, so clients are served by the others while
it is down, until a health probe (one connection every ``RECHECK_S`` seconds, never a client's)
finds it accepting connections again. Only when every instance is out are clients tried on them.

Instance names are resolved when the gateway starts and again by the probe (an instance started
again may have a new address), never on a client's connection: a name that no longer resolves
(a stopped container's) can take seconds to fail, and clients must not wait on it.

Connections already open to an instance that dies are closed with it: a client retries on a new
connection, which goes to a live instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
from dataclasses import dataclass, field

log = logging.getLogger("refpay.gateway")
CONNECT_TIMEOUT_S = 2.0
RECHECK_S = 1.0  # how often an instance left out is probed


@dataclass
class Upstream:
    host: str
    port: int
    down: bool = False
    probe: asyncio.Task[None] | None = None
    address: str | None = None  # resolved: what client connections dial

    async def resolve(self) -> None:
        infos = await asyncio.to_thread(socket.getaddrinfo, self.host, self.port, type=socket.SOCK_STREAM)
        self.address = str(infos[0][4][0])

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass
class Gateway:
    upstreams: list[Upstream]
    failover: bool = True  # False: the 'no-failover' defect
    _next: int = 0
    active: set[asyncio.Task[None]] = field(default_factory=set)

    def candidates(self) -> list[Upstream]:
        """The instances in service, starting with the next in turn (all of them when none is),
        unless the gateway does not fail over."""
        n = len(self.upstreams)
        order = [self.upstreams[(self._next + i) % n] for i in range(n)]
        self._next = (self._next + 1) % n
        if not self.failover:
            return order[:1]  # planted: the instance in turn, dead or alive
        return [u for u in order if not u.down] or order

    async def connect(self) -> tuple[Upstream, asyncio.StreamReader, asyncio.StreamWriter] | None:
        for up in self.candidates():
            # Planted 'no-failover': the name resolved on every connection, like everything else naive.
            host = (up.address or up.host) if self.failover else up.host
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(host, up.port), CONNECT_TIMEOUT_S)
            except (OSError, TimeoutError) as exc:
                if self.failover:
                    self.take_out(up, exc)
                continue
            return up, reader, writer
        return None

    def take_out(self, up: Upstream, exc: BaseException) -> None:
        if not up.down:
            log.warning("event=upstream_down upstream=%s error=%s", up, type(exc).__name__)
        up.down = True
        if up.probe is None or up.probe.done():
            up.probe = asyncio.create_task(self._probe(up))

    @staticmethod
    async def _probe(up: Upstream) -> None:
        """One connection at a time until the instance accepts again; then it is back in service."""
        while up.down:
            await asyncio.sleep(RECHECK_S)
            try:
                await up.resolve()  # as long as it takes: only this probe waits on it
                assert up.address is not None
                _r, w = await asyncio.wait_for(asyncio.open_connection(up.address, up.port), CONNECT_TIMEOUT_S)
            except (OSError, TimeoutError):
                continue
            w.close()
            up.down = False
            log.info("event=upstream_up upstream=%s", up)

    async def handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self.active.add(task)
        try:
            found = await self.connect()
            if found is None:
                log.warning("event=no_upstream client=%s", client_w.get_extra_info("peername"))
                return
            _up, up_r, up_w = found
            await asyncio.gather(_pipe(client_r, up_w), _pipe(up_r, client_w))
            up_w.close()
        finally:
            client_w.close()
            if task is not None:
                self.active.discard(task)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (OSError, RuntimeError):
        writer.close()  # one side is gone: so is the other


def parse_upstreams(raw: list[str]) -> list[Upstream]:
    """``HOST:PORT`` items, given one per ``--upstream`` or comma-separated."""
    out = []
    for item in (part.strip() for value in raw for part in value.split(",")):
        if not item:
            continue
        host, sep, port = item.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"--upstream {item!r} is not HOST:PORT")
        out.append(Upstream(host.strip("[]"), int(port)))
    if not out:
        raise ValueError("give at least one --upstream HOST:PORT")
    return out


async def _serve(gateway: Gateway, host: str, port: int) -> None:
    for up in gateway.upstreams:
        try:
            await up.resolve()
        except OSError as exc:
            gateway.take_out(up, exc)  # not up yet: the probe finds it
    server = await asyncio.start_server(gateway.handle, host, port, reuse_address=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info(
        "event=gateway_started listen=%s:%s upstreams=%s failover=%s",
        host,
        port,
        ",".join(map(str, gateway.upstreams)),
        "yes" if gateway.failover else "no",
    )
    async with server:
        await stop.wait()
    for task in list(gateway.active):
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.gather(*gateway.active, return_exceptions=True)
    log.info("event=gateway_stopped")


def run(host: str, port: int, upstreams: list[Upstream], defects: frozenset[str]) -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    gateway = Gateway(upstreams, failover="no-failover" not in defects)
    try:
        asyncio.run(_serve(gateway, host, port))
    except OSError as exc:
        log.error("event=gateway_failed error=%s", exc)
        return 1
    return 0
