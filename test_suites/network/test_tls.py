"""JR/T 0199-2020 chapter 11 网络安全: transport-layer protocol versions."""

import pytest

from harness.deploy import GUARD
from harness.probes import tls
from harness.verdicts import not_applicable

_ORDER = list(tls.PROTOCOLS)


@pytest.mark.clause("11.tls.protocol")
def test_no_protocol_below_the_minimum_is_offered(deployment, spec, params, evidence):
    tls_ports = [p for p in spec.deployment.ports if p.tls]
    if not tls_ports:
        not_applicable("样品未声明 TLS 端口")
    minimum = f"TLS {params.tls_min_version}"
    too_old = _ORDER[: _ORDER.index(minimum)]
    problems = []
    for decl in tls_ports:
        port = deployment.ports[decl.name]
        result = tls.scan(deployment.host, port, GUARD)
        evidence.attach_text(f"sslyze 扫描结果 {decl.name}", result.raw_json, kind="json", ext=".json")
        offered = result.offered_protocols()
        evidence.observe(f"端口 {decl.name} 提供协议：{', '.join(offered) or '无'}")
        bad = [p for p in offered if p in too_old]
        if bad:
            problems.append(f"{decl.name}: offers {', '.join(bad)} (below {minimum})")
    assert not problems, "; ".join(problems)
