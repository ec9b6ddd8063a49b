"""JR/T 0199-2020 chapter 11 网络安全: national cryptographic algorithms (SM2/SM3/SM4) on the wire,
when the sample declares them: RFC 8998 TLS 1.3 TLS_SM4_*_SM3 or TLCP (GB/T 38636) suites."""

import socket
import ssl
from dataclasses import asdict

import pytest

from harness.checks.network import client_host_name
from harness.deploy import GUARD
from harness.probes import sm
from harness.probes.tls import ProbeError
from harness.verdicts import not_applicable


@pytest.mark.clause("11.crypto.national")
def test_declared_national_algorithms_are_negotiable(deployment, spec, params, evidence):
    if not params.national_crypto:
        not_applicable(
            "样品未声明支持国密算法（parameters.national_crypto 为 false）",
            en="the sample does not declare support for the national (SM) algorithms "
            "(parameters.national_crypto is false)",
        )
    tls_ports = [p for p in spec.deployment.ports if p.tls]
    if not tls_ports:
        not_applicable(
            "样品声明支持国密算法，但未声明任何安全传输端口",
            en="the sample declares support for the national (SM) algorithms but no secure transport port",
        )
    name = client_host_name(spec, deployment)
    problems = []
    for decl in tls_ports:
        results = sm.probe(deployment.host, deployment.ports[decl.name], GUARD, server_name=name)
        evidence.attach_json(f"国密握手探测 {decl.name}", [asdict(r) for r in results])
        for r in results:
            evidence.observe(
                f"端口 {decl.name} 以 {r.protocol} 仅提供 {'、'.join(r.offered)}：{r.answer}",
                en=f"Port {decl.name}, {r.protocol} offering only {', '.join(r.offered)}: "
                + (f"the server chose {r.chosen}" if r.supported else "no national-algorithm suite was negotiated"),
            )
        port = deployment.ports[decl.name]
        if not any(_tls_record(r.server_bytes_hex) for r in results) and not _speaks_tls(deployment.host, port, name):
            # Neither probe got a TLS record back and no ordinary TLS handshake completes there: the
            # probe cannot tell "no SM suites" from "not reached", so its refusal proves nothing.
            raise ProbeError(f"{decl.name}: no TLS answer at all on port {port}: the SM probes could not be judged")
        if not any(r.supported for r in results):
            problems.append(f"{decl.name}: neither RFC 8998 nor TLCP SM suites negotiated")
    assert not problems, "; ".join(problems)


def _tls_record(server_hex: str) -> bool:
    """Whether the server's first bytes are a TLS handshake or alert record."""
    data = bytes.fromhex(server_hex)
    return len(data) >= 5 and data[0] in (0x15, 0x16) and data[1] in (0x01, 0x03)


def _speaks_tls(host, port, server_name):
    """Whether an ordinary TLS handshake completes on the port (the probe's positive control)."""
    GUARD.check(host)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection((host, port), timeout=5) as raw,
            ctx.wrap_socket(raw, server_hostname=server_name),
        ):
            return True
    except (OSError, ssl.SSLError):
        return False
