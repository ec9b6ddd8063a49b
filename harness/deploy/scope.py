"""The scope guard: a run may connect only to the (address, port) pairs its deployments produced.

It is asked where a connection is made, about the address actually dialled, not about a URL: every
HTTP client (``harness.deploy.guarded_http``: lab sessions, the driver, Schemathesis, the health
check), the browser (through the forward proxy in ``harness.probes.proxy``) and every scanner
(sslyze, the SM probe, the port scan) resolve a host through ``addresses()`` and dial only what it
returns. So a redirect, a URL that two parsers read differently or a name that resolves elsewhere
cannot leave the scope.

A deployment produces its declared ports on its address; a terminal unit is a machine of its own,
so all of its address except the lab's management channel (``scope_of``). Every refusal is kept
(``refusals_since``) for the evidence of the check that caused it; refusals are lab errors
(``OutOfScope``), never verdicts on the sample.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from harness import clock
from harness.errors import LabError

DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}
_KEPT_REFUSALS = 1000  # beyond this only the count grows: a runaway page must not fill the memory


class OutOfScope(LabError):
    """A connection to an address the run did not deploy. Always a lab error, never a verdict on the sample."""


@dataclass(frozen=True)
class Refusal:
    seq: int
    at: str  # ISO time
    via: str  # who tried: http, browser, sslyze, SM probe, port scan, redirect, ...
    target: str  # host:port or URL as asked
    reason: str
    kind: str = "connection"  # connection (refused) | redirect (not followed)

    def as_dict(self) -> dict[str, str]:
        return {"time": self.at, "kind": self.kind, "via": self.via, "target": self.target, "reason": self.reason}


@dataclass(frozen=True)
class Scope:
    """What one deployment produced: its declared ports on its address, or (``ports`` None) every
    port of an address it has alone except ``excluded``."""

    host: str
    ports: frozenset[int] | None
    excluded: frozenset[int] = frozenset()


def scope_of(deployment: Any) -> Scope:
    unit = getattr(deployment.target, "unit", None) or {}
    if unit.get("host") == deployment.host:
        # A terminal unit is a machine of its own (the exposure check scans all its ports); its
        # management channel (SSH) is the lab's, not the sample's.
        return Scope(deployment.host, None, frozenset({int(unit["port"])} if unit.get("port") else ()))
    return Scope(deployment.host, frozenset(int(p) for p in deployment.ports.values()))


def normalize(address: str) -> str:
    """One spelling per address: no brackets, IPv4-mapped IPv6 as IPv4."""
    ip = ipaddress.ip_address(address.strip("[]"))
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


class ScopeGuard:
    def __init__(self) -> None:
        self._pairs: set[tuple[str, int]] = set()
        self._whole: dict[str, frozenset[int]] = {}  # address -> excluded ports
        self._refusals: list[Refusal] = []
        self._count = 0
        self._lock = threading.Lock()

    # -- what is in scope -----------------------------------------------------------------------
    def allow(self, host: str, ports: Iterable[int]) -> None:
        """Allow exactly these ports of `host`'s addresses."""
        pairs = {(a, int(p)) for a in self._resolve(host) for p in ports}
        with self._lock:
            self._pairs |= pairs

    def allow_address(self, host: str, excluded: Iterable[int] = ()) -> None:
        """Allow every port of an address the deployment has alone, except `excluded`."""
        with self._lock:
            for a in self._resolve(host):
                self._whole[a] = frozenset(excluded)

    def revoke(self, host: str, ports: Iterable[int] | None = None) -> None:
        """Withdraw these ports of `host` (None: everything on its addresses)."""
        addrs = self._resolve(host)
        with self._lock:
            if ports is None:
                self._pairs = {(a, p) for a, p in self._pairs if a not in addrs}
                for a in addrs:
                    self._whole.pop(a, None)
            else:
                self._pairs -= {(a, int(p)) for a in addrs for p in ports}

    def allow_deployment(self, deployment: Any) -> Scope:
        scope = scope_of(deployment)
        if scope.ports is None:
            self.allow_address(scope.host, scope.excluded)
        else:
            self.allow(scope.host, scope.ports)
        return scope

    def revoke_deployment(self, deployment: Any) -> None:
        scope = scope_of(deployment)
        self.revoke(scope.host, scope.ports)

    @classmethod
    def for_deployment(cls, deployment: Any) -> ScopeGuard:
        """A guard holding one deployment's scope alone (its health check runs before the run's
        guard knows it)."""
        guard = cls()
        guard.allow_deployment(deployment)
        return guard

    def in_scope(self, address: str, port: int) -> bool:
        try:
            a = normalize(address)
        except ValueError:
            return False
        with self._lock:
            if (a, port) in self._pairs:
                return True
            excluded = self._whole.get(a)
        return excluded is not None and port not in excluded

    def describe(self) -> str:
        with self._lock:
            pairs = sorted(self._pairs, key=lambda ap: (ap[0], ap[1]))
            whole = sorted(self._whole.items())
        parts = [f"[{a}]:{p}" if ":" in a else f"{a}:{p}" for a, p in pairs]
        parts += [f"{a} (every port" + (f" but {', '.join(map(str, sorted(ex)))})" if ex else ")") for a, ex in whole]
        return ", ".join(parts) or "nothing deployed"

    # -- asking before a connection ---------------------------------------------------------------
    def addresses(self, host: str, port: int, via: str = "probe") -> list[str]:
        """The addresses of `host` that may be dialled on `port` (resolved once, here, so what is
        checked is what is dialled). OutOfScope, recorded, when there is none."""
        try:
            resolved = self._resolve(host)
        except OutOfScope as e:
            raise self._refuse(via, f"{host}:{port}", str(e)) from None
        ok = [a for a in sorted(resolved) if self.in_scope(a, port)]
        if not ok:
            shown = ", ".join(sorted(resolved))
            raise self._refuse(
                via,
                f"{host}:{port}",
                f"refused: {via} to {host}:{port}"
                + (f" ({shown})" if shown != host else "")
                + f" is outside this run's scope; in scope: {self.describe()}",
            )
        return ok

    def check(self, host: str, port: int, via: str = "probe") -> None:
        self.addresses(host, port, via)

    def check_address(self, host: str, via: str = "probe") -> None:
        """For what makes no connection (a packet capture, reading /proc): the address must be one a
        deployment produced, on some port."""
        try:
            resolved = self._resolve(host)
        except OutOfScope as e:
            raise self._refuse(via, host, str(e)) from None
        with self._lock:
            known = {a for a, _ in self._pairs} | set(self._whole)
        outside = resolved - known
        if outside:
            raise self._refuse(
                via,
                host,
                f"refused: {via} on {host} ({', '.join(sorted(outside))}) is outside this run's scope; "
                f"in scope: {self.describe()}",
            )

    def check_url(self, url: str, via: str = "http") -> None:
        """An early check of a URL (the connection is checked again when it is made). A URL that the
        standard library and urllib3 (what requests uses) read as different hosts is refused."""
        host, port, problem = _url_endpoint(url)
        if problem:
            raise self._refuse(via, url, f"refused: {url!r} {problem}")
        assert host is not None and port is not None
        self.check(host, port, via)

    def url_in_scope(self, url: str) -> bool:
        """Whether a URL's endpoint is in scope, without recording anything."""
        host, port, problem = _url_endpoint(url)
        if problem or host is None or port is None:
            return False
        try:
            return any(self.in_scope(a, port) for a in self._resolve(host))
        except OutOfScope:
            return False

    def connect(self, host: str, port: int, timeout: float | None, via: str = "probe") -> socket.socket:
        """A TCP connection to `host`:`port`, to an in-scope address only, its peer checked."""
        last: OSError | None = None
        for a in self.addresses(host, port, via):
            try:
                sock = socket.create_connection((a, port), timeout=timeout)
            except OSError as e:
                last = e
                continue
            self.verify_peer(sock, via)
            return sock
        assert last is not None
        raise last

    def verify_peer(self, sock: socket.socket, via: str = "probe") -> None:
        """After connecting: the socket's actual peer must be in scope (else it is closed)."""
        peer = sock.getpeername()
        if not self.in_scope(str(peer[0]), int(peer[1])):
            sock.close()
            raise self._refuse(
                via, f"{peer[0]}:{peer[1]}", f"refused: connected peer {peer[0]}:{peer[1]} is outside this run's scope"
            )

    # -- the record -------------------------------------------------------------------------------
    def record(self, via: str, target: str, reason: str, kind: str = "connection") -> None:
        """Note a refused connection, or (kind "redirect") a redirect out of the scope not followed."""
        with self._lock:
            self._count += 1
            if len(self._refusals) < _KEPT_REFUSALS:
                at = clock.instant()
                self._refusals.append(Refusal(self._count, at, via, target, reason, kind))

    def _refuse(self, via: str, target: str, reason: str) -> OutOfScope:
        self.record(via, target, reason)
        return OutOfScope(reason, zh=f"已拒绝：{via} 访问 {target} 超出本次测试范围")

    def mark(self) -> int:
        """A position in the record, for ``refusals_since``."""
        with self._lock:
            return self._count

    def refusals_since(self, mark: int) -> tuple[list[Refusal], int]:
        """(the kept refusals after `mark`, how many there were in all)."""
        with self._lock:
            return [r for r in self._refusals if r.seq > mark], self._count - mark

    # -- resolving --------------------------------------------------------------------------------
    @staticmethod
    def _resolve(host: str) -> set[str]:
        host = host.strip("[]")
        try:
            return {normalize(host)}
        except ValueError:
            pass
        try:
            infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except (socket.gaierror, UnicodeError) as e:
            raise OutOfScope(f"refused: cannot resolve {host!r}: {e}") from None
        return {normalize(str(i[4][0])) for i in infos}


def _url_endpoint(url: str) -> tuple[str | None, int | None, str]:
    """(host, port, problem) of a URL as both parsers read it; `problem` is "" when they agree."""
    from urllib3.util import parse_url

    try:
        std = urlsplit(url)
        std_host, std_port = std.hostname, std.port
        lib = parse_url(url)
    except ValueError as e:
        return None, None, f"is not a URL: {e}"
    scheme = (std.scheme or "").lower()
    if scheme not in DEFAULT_PORTS:
        return None, None, f"uses the scheme {scheme!r}; only http(s) and ws(s) are test traffic"
    if not std_host:
        return None, None, "names no host"
    lib_host = (lib.host or "").strip("[]").lower()
    if "\\" in std.netloc or lib_host != std_host.lower() or (lib.port or None) != std_port:
        return (
            None,
            None,
            (
                f"is read as host {std_host}:{std_port or '-'} by one parser and {lib_host or '-'}:{lib.port or '-'} "
                "by another (a parser differential)"
            ),
        )
    return std_host, std_port or DEFAULT_PORTS[scheme], ""


def record_refusals(evidence: Any, guard: ScopeGuard, mark: int) -> str:
    """Attach to a check's evidence what the guard refused since `mark`. Returns "" when no
    connection was refused, else one line saying so: then what the check saw is not the whole
    sample (a page missing what it could not load), so its verdict cannot stand."""
    kept, total = guard.refusals_since(mark)
    if not total:
        return ""
    evidence.attach_json(
        "范围守卫拒绝记录 (scope guard refusals)",
        {"recorded": total, "kept": len(kept), "refusals": [r.as_dict() for r in kept]},
    )
    refused = [r for r in kept if r.kind == "connection"]
    if not refused and len(kept) == total:
        return ""
    first = refused[0] if refused else None
    return (
        "the scope guard refused connections during this check"
        + (f" ({len(refused)} kept; first: {first.via} to {first.target})" if first else "")
        + "; what the check saw is not the whole sample, so its verdict cannot stand"
    )


# One guard per process: every probe (driver, scanner, browser proxy, sniffer) asks it.
GUARD = ScopeGuard()
