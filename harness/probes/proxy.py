"""The browser's only way out: a forward proxy on 127.0.0.1 that connects nowhere the scope guard
does not allow.

Chromium is launched with this proxy for every scheme and with no bypass, loopback included
(``harness.probes.browser``), so every connection a page makes (documents, redirects the browser
follows, fetches, WebSockets, which Chromium always tunnels with CONNECT) arrives here as
``CONNECT host:port`` or an absolute-form HTTP request. The proxy resolves the host itself, asks the
guard about (address, port), dials only an allowed address and checks the peer. A refused CONNECT
gets 403 (the browser shows a tunnel error); a refused plain request is closed without an answer, so
the page fails to load rather than showing a page the proxy made up. Every refusal is recorded by
the guard and reported to the browser's current page log.

Why hand-written: proxy.py runs its acceptors in other processes and dials upstream itself after
its plugin hook, so the guard could not see the address actually dialled; mitmproxy intercepts TLS
and brings a large dependency tree. What is needed here is small: CONNECT tunnelling and relaying
one plain request per connection (``Connection: close`` both ways), with asyncio from the standard
library.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

from harness.deploy.scope import OutOfScope, ScopeGuard

HEAD_LIMIT = 256 * 1024  # the longest request or response head relayed (cookies can be long)
CONNECT_TIMEOUT_S = 10.0
HEAD_TIMEOUT_S = 30.0
_PROXY_HEADERS = (b"proxy-connection", b"proxy-authorization")
_CONNECTION_HEADERS = (b"connection", b"keep-alive")
DRAIN_GRACE_S = 30.0  # once one direction has ended, how long the other may still run


class ScopeProxy:
    """One proxy per browser, on an ephemeral port, served by its own event loop in a thread (the
    Playwright sync API keeps a loop of its own in the caller's thread)."""

    def __init__(self, guard: ScopeGuard, on_refused: Callable[[str], None] | None = None, via: str = "browser"):
        self.guard = guard
        self.on_refused = on_refused
        self.via = via
        self.port = 0
        self.refused: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ScopeProxy:
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                self._server = loop.run_until_complete(
                    asyncio.start_server(self._client, "127.0.0.1", 0, limit=HEAD_LIMIT)
                )
                self.port = int(self._server.sockets[0].getsockname()[1])
            except BaseException as e:  # noqa: BLE001 - handed to the starting thread
                failure.append(e)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=serve, name="scope-proxy", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure or not self.port:
            raise OSError(f"the browser's scope proxy did not start: {failure[0] if failure else 'timeout'}")
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for t in list(self._tasks):
                t.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            loop.stop()

        with contextlib.suppress(RuntimeError):  # the loop is already gone
            asyncio.run_coroutine_threadsafe(shutdown(), loop)
        thread.join(10)
        self._loop = self._thread = self._server = None

    # -- one client connection --------------------------------------------------------------------
    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass  # a client or upstream that went away, or a malformed request: nothing to relay
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            if task is not None:
                self._tasks.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT_S)
        request_line, _, rest = head.partition(b"\r\n")
        method, target, version = request_line.decode("latin-1").split(" ", 2)
        if method.upper() == "CONNECT":
            host, port = _split_authority(target, 443)
            upstream = await self._dial(host, port, f"CONNECT {target}")
            if upstream is None:
                writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                await writer.drain()
                return
            up_reader, up_writer = upstream
            writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            await writer.drain()
            await _pipe_both(reader, writer, up_reader, up_writer)
            return
        parts = urlsplit(target)
        if parts.scheme.lower() != "http" or not parts.hostname:
            self._refused(target)  # https goes by CONNECT; anything else is not the browser's traffic
            return
        upstream = await self._dial(parts.hostname, parts.port or 80, target)
        if upstream is None:
            return  # closed without an answer: the page fails to load
        up_reader, up_writer = upstream
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        upgrade = any(line.lower().startswith(b"upgrade:") for line in rest.split(b"\r\n"))
        up_writer.write(f"{method} {path} {version}\r\n".encode("latin-1") + _rewrite_headers(rest, upgrade))
        await up_writer.drain()
        await _pipe_both(reader, writer, up_reader, up_writer, rewrite_response=not upgrade)

    async def _dial(self, host: str, port: int, what: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        loop = asyncio.get_running_loop()
        try:  # resolving may block: off the loop
            addresses = await loop.run_in_executor(None, self.guard.addresses, host, port, self.via)
        except OutOfScope:
            self._refused(what)
            return None
        for address in addresses:
            try:
                up_reader, up_writer = await asyncio.wait_for(
                    asyncio.open_connection(address, port, limit=HEAD_LIMIT), CONNECT_TIMEOUT_S
                )
            except (TimeoutError, OSError):
                continue
            peer = up_writer.get_extra_info("peername")
            if peer is None or not self.guard.in_scope(str(peer[0]), int(peer[1])):
                up_writer.close()
                self.guard.record(self.via, what, f"refused: connected peer {peer} is outside this run's scope")
                self._refused(what)
                return None
            return up_reader, up_writer
        return None

    def _refused(self, what: str) -> None:
        self.refused.append(what)
        if self.on_refused is not None:
            self.on_refused(what)


def _split_authority(authority: str, default_port: int) -> tuple[str, int]:
    if authority.startswith("["):
        host, _, rest = authority[1:].partition("]")
        port = rest.removeprefix(":")
    else:
        host, _, port = authority.rpartition(":") if ":" in authority else (authority, "", "")
    return host, int(port) if port else default_port


def _rewrite_headers(block: bytes, keep_connection: bool) -> bytes:
    """The header block for the next hop: no proxy headers, and ``Connection: close`` (one request
    per connection) unless the request upgrades (a WebSocket sent as plain HTTP)."""
    dropped = _PROXY_HEADERS if keep_connection else _PROXY_HEADERS + _CONNECTION_HEADERS
    kept = [ln for ln in block.split(b"\r\n") if ln and ln.split(b":", 1)[0].strip().lower() not in dropped]
    if not keep_connection:
        kept.append(b"Connection: close")
    return b"\r\n".join(kept) + b"\r\n\r\n"


async def _pipe_both(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    up_reader: asyncio.StreamReader,
    up_writer: asyncio.StreamWriter,
    rewrite_response: bool = False,
) -> None:
    async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, first_head: bool) -> None:
        try:
            if first_head:  # the browser must not reuse this connection for another host
                head = await src.readuntil(b"\r\n\r\n")
                status, _, headers = head.partition(b"\r\n")
                upgrade = b" 101 " in status + b" "
                dst.write(status + b"\r\n" + _rewrite_headers(headers, upgrade))
                await dst.drain()
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            with contextlib.suppress(OSError, RuntimeError):
                if dst.can_write_eof():
                    dst.write_eof()

    # Both directions until one ends; then the other gets a grace period (a server that ignores
    # ``Connection: close``, a browser that keeps its side open) before it is cut.
    tasks = {
        asyncio.ensure_future(pump(reader, up_writer, False)),
        asyncio.ensure_future(pump(up_reader, writer, rewrite_response)),
    }
    try:
        _done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if pending:
            _done, pending = await asyncio.wait(pending, timeout=DRAIN_GRACE_S)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        up_writer.close()
        with contextlib.suppress(OSError):
            await up_writer.wait_closed()
