"""JR/T 0199-2020 chapter 11 网络安全: the TLS channel (protocol versions, cipher suites, server
certificate) and the HTTP security headers that go with it."""

import pytest

from harness.checks import network as judge
from harness.drivers import DriverError
from harness.probes import tls
from harness.suite_support import usable_accounts
from harness.verdicts import not_applicable

_ORDER = list(tls.PROTOCOLS)


def _tls_ports(spec, evidence):
    """The declared TLS ports. The standard requires protection in transit: a sample that serves
    only plain TCP fails the TLS items ("no TLS offered"); they are not "not applicable"."""
    ports = [p for p in spec.deployment.ports if p.tls]
    if ports:
        return ports
    plain = [p for p in spec.deployment.ports if p.protocol == "tcp"]
    if not plain:
        not_applicable("样品不提供 TCP 服务端口，不涉及传输层加密")
    names = "、".join(f"{p.name}（{p.port}）" for p in plain)
    evidence.observe(
        f"样品声明的服务端口 {names} 均不提供 TLS：数据以明文传输",
        en=f"None of the declared ports ({names}) offers TLS",
    )
    raise AssertionError(f"no TLS offered on any declared port ({names})")


@pytest.mark.clause("11.tls.protocol")
def test_no_protocol_below_the_minimum_is_offered(deployment, spec, params, evidence, tls_scan):
    minimum = f"TLS {params.tls_min_version}"
    too_old = _ORDER[: _ORDER.index(minimum)]
    problems = []
    for decl in _tls_ports(spec, evidence):
        result = tls_scan(deployment.ports[decl.name])
        evidence.attach_text(f"sslyze 扫描结果 {decl.name}", result.raw_json, kind="json", ext=".json")
        offered = result.offered_protocols()
        evidence.observe(f"端口 {decl.name} 提供协议：{', '.join(offered) or '无'}（声明最低 {minimum}）")
        bad = [p for p in offered if p in too_old]
        if bad:
            problems.append(f"{decl.name}: offers {', '.join(bad)} (below {minimum})")
    assert not problems, "; ".join(problems)


@pytest.mark.clause("11.tls.ciphers")
def test_no_weak_cipher_suite_is_offered(deployment, spec, evidence, tls_scan):
    problems = []
    for decl in _tls_ports(spec, evidence):
        result = tls_scan(deployment.ports[decl.name])
        evidence.attach_text(f"sslyze 扫描结果 {decl.name}", result.raw_json, kind="json", ext=".json")
        table = []
        weak = []
        for s in result.suites:
            why = judge.suite_weaknesses(s.protocol, s.name, s.key_size, s.anonymous)
            row = {"protocol": s.protocol, "suite": s.name, "openssl": s.openssl_name, "key_bits": s.key_size}
            table.append({**row, "ephemeral_key": s.ephemeral_key, "weak": why})
            if why:
                weak.append(f"{s.protocol} {s.name}（{'、'.join(why)}）")
        evidence.attach_json(f"密码套件判定 {decl.name}", table)
        pfs = sum(1 for s in result.suites if judge.forward_secret(s.protocol, s.name))
        evidence.observe(
            f"端口 {decl.name} 接受 {len(result.suites)} 个密码套件，其中前向安全 {pfs} 个，弱套件 {len(weak)} 个"
            + (f"：{'；'.join(weak[:6])}" if weak else "")
        )
        if weak:
            problems.append(f"{decl.name}: weak suites {', '.join(weak)}")
        if result.suites and pfs == 0:
            problems.append(f"{decl.name}: no forward-secret suite at all")
    assert not problems, "; ".join(problems)


@pytest.mark.clause("11.tls.certificate")
def test_server_certificate_is_valid_for_the_declared_host(deployment, spec, evidence, tls_scan):
    name = judge.client_host_name(spec, deployment)
    problems = []
    for decl in _tls_ports(spec, evidence):
        result = tls_scan(deployment.ports[decl.name])
        evidence.attach_text(
            f"证书链 {decl.name}", "".join(result.certificate_chain_pem), kind="certificate", ext=".pem"
        )
        report = judge.judge_certificate(result.certificate_chain_pem, name)
        evidence.attach_json(f"证书判定 {decl.name}", report.as_json())
        evidence.observe(
            f"端口 {decl.name} 证书 {report.subject}，签发者 {report.issuer}，{report.key}，{report.signature}，"
            f"有效期 {report.not_before:%Y-%m-%d} 至 {report.not_after:%Y-%m-%d}，名称 {', '.join(report.names)}；"
            f"访问名 {name}" + ("；" + "；".join(report.notes) if report.notes else "")
        )
        problems += [f"{decl.name}: {p}" for p in report.problems]
    assert not problems, "; ".join(problems)


def _header_samples(driver):
    """(label, answer, why not judged) for the pages to look at: the base URL and the web login page
    (each judged only when it is a page the sample serves, 2xx, not an error page), and one
    authenticated read when the driver can open a session (judged only when it is the operation's
    declared success)."""
    out = []
    for label, path in (("GET /", "/"), (f"GET {driver.web_login_path()}", driver.web_login_path())):
        if path:
            resp = driver.get_url(path, note=f"安全响应头：{label}")
            out.append((label, resp, None if 200 <= resp.status_code < 300 else _NOT_A_PAGE))
    accts = usable_accounts(driver)
    reads = [n for n, i in driver.operations().items() if i.kind == "read" and i.auth and not i.unsafe]
    if accts and reads:
        try:
            s = driver.session(accts[0])
        except DriverError as e:
            return [*out, (reads[0], None, (f"无法登录（{e.zh or e}）", "no session could be opened"))]
        resp = driver.call(reads[0], s)
        out.append((reads[0], resp, None if driver.succeeded(reads[0], resp) else _NOT_SUCCESS))
    return out


_NOT_A_PAGE = ("非正常页面（错误或跳转应答）", "not a page the sample serves normally (an error or a redirect)")
_NOT_SUCCESS = ("操作未成功，非正常应答", "the operation did not succeed")


@pytest.mark.clause("11.tls.hsts")
def test_hsts_and_security_headers(driver, spec, evidence):
    base = driver.web_base_url() or ""
    if not base:
        not_applicable("样品不是以 HTTP 接口驱动，无应答头可查")
    over_tls = base.lower().startswith("https://")
    problems = []
    judged = 0
    for label, resp, skipped in _header_samples(driver):
        if skipped is not None:
            status = f"应答 {resp.status_code}，" if resp is not None else ""
            evidence.observe(
                f"{label} {status}{skipped[0]}，不据其判定安全响应头",
                en=f"{label}: {skipped[1]}; its headers are not judged",
            )
            continue
        judged += 1
        found = judge.header_problems(resp.headers, over_tls)
        hsts = resp.headers.get("Strict-Transport-Security", "无")
        evidence.observe(
            f"{label} 应答 {resp.status_code}，HSTS：{hsts}"
            + (f"，问题：{'；'.join(found)}" if found else "，安全响应头齐全"),
            en=f"{label} answered {resp.status_code}, HSTS: {hsts if hsts != '无' else 'none'}"
            + (f", {len(found)} problems" if found else ", security headers present"),
        )
        problems += [f"{label}: {p}" for p in found]
    if not over_tls:
        evidence.observe(
            "样品基础地址为明文 HTTP，HSTS 不适用，仅检查其余安全响应头",
            en="The sample's base URL is plain HTTP: HSTS does not apply, the other headers are checked",
        )
    if not judged:
        raise DriverError("no answer the sample serves normally (a page or a successful read) to judge headers on")
    assert not problems, "; ".join(problems)
