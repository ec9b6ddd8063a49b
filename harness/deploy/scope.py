"""The scope guard: the only addresses a run may touch are those its deployments produced."""

from __future__ import annotations

import ipaddress
import socket
import threading
from urllib.parse import urlsplit

from harness.errors import LabError


class OutOfScope(LabError):
    """A probe to an address the run did not deploy. Always a lab error, never a verdict on the sample."""


class ScopeGuard:
    def __init__(self) -> None:
        self._allowed: set[str] = set()
        self._lock = threading.Lock()

    def allow(self, host: str) -> None:
        with self._lock:
            self._allowed.update(self._addresses(host))

    def revoke(self, host: str) -> None:
        with self._lock:
            self._allowed.difference_update(self._addresses(host))

    @property
    def allowed(self) -> frozenset[str]:
        return frozenset(self._allowed)

    @staticmethod
    def _addresses(host: str) -> set[str]:
        host = host.strip("[]")
        try:
            return {str(ipaddress.ip_address(host))}
        except ValueError:
            pass
        try:
            infos = socket.getaddrinfo(host, None)
        except socket.gaierror as e:
            raise OutOfScope(f"cannot resolve {host!r}: {e}") from None
        return {str(ipaddress.ip_address(i[4][0])) for i in infos}

    def check(self, host: str) -> None:
        addrs = self._addresses(host)
        outside = addrs - self._allowed
        if outside:
            raise OutOfScope(
                f"refused: {host} ({', '.join(sorted(outside))}) is outside this run's scope; "
                f"in scope: {', '.join(sorted(self._allowed)) or 'nothing deployed'}"
            )

    def check_url(self, url: str) -> None:
        host = urlsplit(url).hostname
        if not host:
            raise OutOfScope(f"refused: {url!r} names no host")
        self.check(host)


# One guard per process: every probe (driver, scanner, sniffer) asks it.
GUARD = ScopeGuard()
