"""HTTP for test traffic, guarded where the connection is made.

A ``LabSession`` (what ``lab_session`` returns: the driver, Schemathesis and the health check all
send through one) dials through urllib3 connection classes that resolve the host once, ask the
scope guard about every address and the port, dial only an address it allows, and check the
socket's actual peer before a byte is sent. A URL that parsers read differently, a name that
resolves elsewhere or a redirect cannot reach another address: whatever urllib3 decided to dial
is what is checked.

Redirects are never followed: the caller sees the 3xx answer itself, and a redirect whose target
is outside the scope is noted in the guard's record (the evidence of the check).
"""

from __future__ import annotations

import functools
import ssl
import sys
from typing import Any
from urllib.parse import urljoin

import requests
from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util import connection
from urllib3.util.ssl_ import create_urllib3_context

from harness.deploy.scope import OutOfScope, ScopeGuard


class _GuardedConnect:
    """Replaces urllib3's ``_new_conn``: resolve, check (address, port), dial, check the peer."""

    guard: ScopeGuard
    host: str
    port: int
    timeout: Any
    source_address: Any
    socket_options: Any
    _dns_host: str

    def __init__(self, *args: Any, guard: ScopeGuard, **kwargs: Any) -> None:
        self.guard = guard
        super().__init__(*args, **kwargs)

    def _new_conn(self) -> Any:
        last: OSError | None = None
        for address in self.guard.addresses(self._dns_host, self.port, via="http"):
            try:
                sock = connection.create_connection(
                    (address, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except TimeoutError as e:
                raise ConnectTimeoutError(
                    self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
                ) from e
            except OSError as e:
                last = e
                continue
            self.guard.verify_peer(sock, via="http")
            sys.audit("http.client.connect", self, self.host, self.port)
            return sock
        raise NewConnectionError(self, f"Failed to establish a new connection: {last}")  # type: ignore[arg-type]


class GuardedHTTPConnection(_GuardedConnect, HTTPConnection):
    pass


class GuardedHTTPSConnection(_GuardedConnect, HTTPSConnection):
    pass


class _ReusedConnectionRetry:
    """A kept-alive connection the product has already closed is what a client finds out only by
    sending on it: the request meets a reset before any answer (a server that closes after every
    answer without saying ``Connection: close`` does this to every second request). As browsers do,
    such a request is sent once more on a new connection: it never reached the product. A failure on
    a fresh connection, or a second one, is the product's answer (an error) as before."""

    def _make_request(self, conn: Any, *args: Any, **kwargs: Any) -> Any:
        reused = getattr(conn, "lab_requests", 0) > 0
        conn.lab_requests = getattr(conn, "lab_requests", 0) + 1
        try:
            return super()._make_request(conn, *args, **kwargs)  # type: ignore[misc]
        except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError):
            if not reused:
                raise
            conn.close()  # the next request on it dials again, through the guard
            conn.lab_requests = 1
            return super()._make_request(conn, *args, **kwargs)  # type: ignore[misc]


class _GuardedHTTPPool(_ReusedConnectionRetry, HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class _GuardedHTTPSPool(_ReusedConnectionRetry, HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class _GuardedPoolManager(PoolManager):
    def __init__(self, guard: ScopeGuard, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.guard = guard
        self.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}

    def _new_pool(self, scheme: str, host: str, port: int, request_context: dict[str, Any] | None = None) -> Any:
        pool = super()._new_pool(scheme, host, port, request_context)
        pool.conn_kw["guard"] = self.guard
        if (
            scheme == "https"
            and pool.conn_kw.get("ssl_context") is None
            and getattr(pool, "cert_reqs", None) == "CERT_NONE"
        ):
            # Unverified (a test deployment's self-signed certificate): without a context of its own,
            # urllib3 builds one per connection and loads the system's CA store into it, unused,
            # which was a third of the lab's own CPU in a run.
            pool.conn_kw["ssl_context"] = _unverified_context()
        return pool


@functools.cache
def _unverified_context() -> ssl.SSLContext:
    ctx = create_urllib3_context(cert_reqs=ssl.CERT_NONE)
    ctx.check_hostname = False
    return ctx


class GuardedAdapter(HTTPAdapter):
    """A requests transport adapter whose every connection passes the scope guard. No proxies:
    test traffic goes straight to the deployment."""

    def __init__(self, guard: ScopeGuard, **kwargs: Any) -> None:
        self.guard = guard  # before super().__init__, which builds the pool manager
        super().__init__(**kwargs)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        self._pool_connections, self._pool_maxsize, self._pool_block = connections, maxsize, block
        self.poolmanager = _GuardedPoolManager(
            self.guard, num_pools=connections, maxsize=maxsize, block=block, **pool_kwargs
        )

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        raise OutOfScope(f"refused: test traffic never goes through a proxy ({proxy})")


class LabSession(requests.Session):
    """A requests session for test traffic: guarded connections, no redirects followed, nothing
    taken from the environment (proxy variables, a CA bundle overriding ``verify``)."""

    def __init__(self, guard: ScopeGuard, verify: bool = False) -> None:
        super().__init__()
        self.guard = guard
        self.trust_env = False
        self.verify = verify
        self.mount("http://", GuardedAdapter(guard))
        self.mount("https://", GuardedAdapter(guard))

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        target = super().get_redirect_target(resp)
        if target:
            # Not followed whatever the caller asked; one that leads outside the scope is recorded.
            url = urljoin(resp.url, target)
            if not self.guard.url_in_scope(url):
                self.guard.record(
                    "http",
                    url,
                    f"{resp.status_code} from {resp.url} to {url} not followed: outside this run's scope",
                    kind="redirect",
                )
        return None
