"""TLS scanning with sslyze (kept, typed, JSON with a schema). Every scan passes the scope guard."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.deploy.scope import ScopeGuard

PROTOCOLS = ("SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3")
_ATTR = {
    "SSL 2.0": "ssl_2_0_cipher_suites",
    "SSL 3.0": "ssl_3_0_cipher_suites",
    "TLS 1.0": "tls_1_0_cipher_suites",
    "TLS 1.1": "tls_1_1_cipher_suites",
    "TLS 1.2": "tls_1_2_cipher_suites",
    "TLS 1.3": "tls_1_3_cipher_suites",
}


class ProbeError(Exception):
    """The instrument failed (could not connect, crashed): a lab error, not a finding."""


@dataclass
class TlsScan:
    host: str
    port: int
    accepted: dict[str, list[str]] = field(default_factory=dict)  # protocol -> cipher suites
    raw_json: str = ""

    def offered_protocols(self) -> list[str]:
        return [p for p in PROTOCOLS if self.accepted.get(p)]


def scan(host: str, port: int, guard: ScopeGuard, extra: set[Any] | None = None) -> TlsScan:
    guard.check(host)
    from sslyze import (
        ScanCommand,
        ScanCommandAttemptStatusEnum,
        Scanner,
        ServerNetworkLocation,
        ServerScanRequest,
        ServerScanResultAsJson,
        ServerScanStatusEnum,
    )

    commands = {getattr(ScanCommand, _ATTR[p].upper()) for p in PROTOCOLS} | (extra or set())
    location = ServerNetworkLocation(hostname=host, port=port, ip_address=host)
    scanner = Scanner()
    scanner.queue_scans([ServerScanRequest(server_location=location, scan_commands=commands)])
    result = next(iter(scanner.get_results()))
    if result.scan_status != ServerScanStatusEnum.COMPLETED or result.scan_result is None:
        raise ProbeError(f"sslyze could not connect to {host}:{port}: {result.connectivity_error_trace}")
    out = TlsScan(
        host=host, port=port, raw_json=ServerScanResultAsJson.model_validate(result).model_dump_json(indent=2)
    )
    for proto in PROTOCOLS:
        attempt = getattr(result.scan_result, _ATTR[proto])
        if attempt.status != ScanCommandAttemptStatusEnum.COMPLETED:
            raise ProbeError(f"sslyze could not test {proto} on {host}:{port}: {attempt.error_reason}")
        out.accepted[proto] = [c.cipher_suite.name for c in attempt.result.accepted_cipher_suites]
    return out
