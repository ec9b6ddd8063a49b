"""TLS scanning with sslyze (kept, typed, JSON with a schema). Every scan passes the scope guard.

``scan()`` enumerates the protocol versions and the cipher suites accepted under each; with
``details=True`` it also keeps each accepted suite's properties (key size, anonymous, ephemeral
key) and the certificate chain the server sent (PEM, leaf first), for the cipher and certificate
checks. The judging lives in ``harness.checks.network``; this module only measures."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.deploy.scope import ScopeGuard
from harness.errors import LabError

PROTOCOLS = ("SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3")
_ATTR = {
    "SSL 2.0": "ssl_2_0_cipher_suites",
    "SSL 3.0": "ssl_3_0_cipher_suites",
    "TLS 1.0": "tls_1_0_cipher_suites",
    "TLS 1.1": "tls_1_1_cipher_suites",
    "TLS 1.2": "tls_1_2_cipher_suites",
    "TLS 1.3": "tls_1_3_cipher_suites",
}


class ProbeError(LabError):
    """The instrument failed (could not connect, crashed): a lab error, not a finding."""


@dataclass(frozen=True)
class SuiteInfo:
    """One accepted cipher suite as sslyze saw it."""

    protocol: str
    name: str  # the RFC name, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
    openssl_name: str
    key_size: int
    anonymous: bool
    ephemeral_key: str | None = None  # e.g. "ECDH X25519 253 bits"; None when the suite has none


@dataclass
class TlsScan:
    host: str
    port: int
    accepted: dict[str, list[str]] = field(default_factory=dict)  # protocol -> cipher suites
    raw_json: str = ""
    # Filled when scanned with details=True.
    suites: list[SuiteInfo] = field(default_factory=list)
    certificate_chain_pem: list[str] = field(default_factory=list)  # leaf first, as the server sent it
    server_name: str = ""  # the SNI name the scan used

    def offered_protocols(self) -> list[str]:
        return [p for p in PROTOCOLS if self.accepted.get(p)]


def _ephemeral(key: Any) -> str | None:
    if key is None:
        return None
    kind = getattr(getattr(key, "type", None), "name", "") or type(key).__name__
    curve = getattr(key, "curve_name", "") or ""
    size = getattr(key, "size", "")
    return " ".join(str(p) for p in (kind, curve, f"{size} bits" if size else "") if p)


def scan(
    host: str,
    port: int,
    guard: ScopeGuard,
    extra: set[Any] | None = None,
    *,
    details: bool = False,
    server_name: str | None = None,
) -> TlsScan:
    # sslyze dials `ip_address` itself: give it an address the guard allowed for this port.
    address = guard.addresses(host, port, via="sslyze")[0]
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
    if details:
        commands.add(ScanCommand.CERTIFICATE_INFO)
    location = ServerNetworkLocation(hostname=server_name or host, port=port, ip_address=address)
    scanner = Scanner()
    scanner.queue_scans([ServerScanRequest(server_location=location, scan_commands=commands)])
    result = next(iter(scanner.get_results()))
    if result.scan_status != ServerScanStatusEnum.COMPLETED or result.scan_result is None:
        raise ProbeError(f"sslyze could not connect to {host}:{port}: {result.connectivity_error_trace}")
    out = TlsScan(
        host=host,
        port=port,
        raw_json=ServerScanResultAsJson.model_validate(result).model_dump_json(indent=2),
        server_name=server_name or host,
    )
    for proto in PROTOCOLS:
        attempt = getattr(result.scan_result, _ATTR[proto])
        if attempt.status != ScanCommandAttemptStatusEnum.COMPLETED:
            raise ProbeError(f"sslyze could not test {proto} on {host}:{port}: {attempt.error_reason}")
        out.accepted[proto] = [c.cipher_suite.name for c in attempt.result.accepted_cipher_suites]
        if details:
            out.suites += [
                SuiteInfo(
                    protocol=proto,
                    name=c.cipher_suite.name,
                    openssl_name=c.cipher_suite.openssl_name,
                    key_size=c.cipher_suite.key_size,
                    anonymous=c.cipher_suite.is_anonymous,
                    ephemeral_key=_ephemeral(c.ephemeral_key),
                )
                for c in attempt.result.accepted_cipher_suites
            ]
    if details:
        attempt = result.scan_result.certificate_info
        if attempt.status != ScanCommandAttemptStatusEnum.COMPLETED or attempt.result is None:
            raise ProbeError(f"sslyze could not read the certificate of {host}:{port}: {attempt.error_reason}")
        from cryptography.hazmat.primitives.serialization import Encoding

        deployments = attempt.result.certificate_deployments
        if not deployments:
            raise ProbeError(f"sslyze received no certificate from {host}:{port}")
        out.certificate_chain_pem = [
            c.public_bytes(Encoding.PEM).decode() for c in deployments[0].received_certificate_chain
        ]
    return out
