"""JR/T 0199-2020 chapter 11 网络安全: national cryptographic algorithms (SM2/SM3/SM4) on the wire,
when the sample declares them: RFC 8998 TLS 1.3 TLS_SM4_*_SM3 or TLCP (GB/T 38636) suites."""

from dataclasses import asdict

import pytest

from harness.checks.network import client_host_name
from harness.deploy import GUARD
from harness.probes import sm
from harness.verdicts import not_applicable


@pytest.mark.clause("11.crypto.national")
def test_declared_national_algorithms_are_negotiable(deployment, spec, params, evidence):
    if not params.national_crypto:
        not_applicable("样品未声明支持国密算法（parameters.national_crypto 为 false）")
    tls_ports = [p for p in spec.deployment.ports if p.tls]
    if not tls_ports:
        not_applicable("样品声明支持国密算法，但未声明任何安全传输端口")
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
        if not any(r.supported for r in results):
            problems.append(f"{decl.name}: neither RFC 8998 nor TLCP SM suites negotiated")
    assert not problems, "; ".join(problems)
