"""JR/T 0199-2020 chapter 11 网络安全: the TLS channel (protocol versions, cipher suites, server
certificate) and the HTTP security headers that go with it."""

from datetime import UTC, datetime

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
        not_applicable(
            "样品不提供 TCP 服务端口，不涉及传输层加密",
            en="the sample offers no TCP service port: transport-layer encryption does not apply",
        )
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
        bad = [p for p in offered if p in too_old]
        evidence.observe(
            f"端口 {decl.name} 提供协议：{', '.join(offered) or '无'}（声明最低 {minimum}）"
            + (f"，其中低于最低版本：{', '.join(bad)}" if bad else ""),
            en=f"Port {decl.name} offers {', '.join(offered) or 'no protocol'} (declared minimum {minimum})"
            + (f"; below the minimum: {', '.join(bad)}" if bad else ""),
        )
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
        weak_names = [f"{t['protocol']} {t['suite']}" for t in table if t["weak"]]
        evidence.observe(
            f"端口 {decl.name} 接受 {len(result.suites)} 个密码套件，其中前向安全 {pfs} 个，弱套件 {len(weak)} 个"
            + (f"：{'；'.join(weak[:6])}" if weak else ""),
            en=f"Port {decl.name} accepts {len(result.suites)} cipher suites, {pfs} of them forward-secret, "
            f"{len(weak)} weak" + (f": {'; '.join(weak_names[:6])}" if weak else ""),
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
        days = (report.not_after - datetime.now(UTC)).days
        evidence.observe(
            f"端口 {decl.name} 证书 {report.subject}，签发者 {report.issuer}，{report.key}，{report.signature}，"
            f"有效期 {report.not_before:%Y-%m-%d} 至 {report.not_after:%Y-%m-%d}"
            + (f"（剩余 {days} 天）" if days >= 0 else "")
            + f"，名称 {', '.join(report.names)}；访问名 {name}"
            + (f"；发现 {len(report.problems)} 处问题：{'；'.join(report.problems)}" if report.problems else ""),
            en=f"Port {decl.name}: certificate {report.subject}, issued by {report.issuer}, {report.key}, "
            f"{report.signature}, valid {report.not_before:%Y-%m-%d} to {report.not_after:%Y-%m-%d}"
            + (f" ({days} days left)" if days >= 0 else "")
            + f", names {', '.join(report.names)}; reached as {name}"
            + (_cert_problems_en(report, name) if report.problems else ""),
        )
        if report.self_signed:
            evidence.hint(
                f"端口 {decl.name} 的证书为自签名：型式试验部署中常见，记为观察，不作为不符合；"
                "正式部署应使用受信任机构签发的证书",
                en=f"The certificate on port {decl.name} is self-signed: common in a type-test deployment, noted, "
                "not a nonconformity; a production deployment should use a certificate from a trusted issuer",
            )
        problems += [f"{decl.name}: {p}" for p in report.problems]
    assert not problems, "; ".join(problems)


def _cert_problems_en(report, name):
    """The certificate's problems in English, from the same fields judge_certificate decided on."""
    now = datetime.now(UTC)
    out = []
    kind, _, bits = report.key.rpartition(" ")
    if bits.isdigit() and int(bits) < (judge.MIN_RSA_BITS if kind == "RSA" else judge.MIN_EC_BITS):
        out.append(f"{report.key} key is too short")
    if any(h in report.signature.lower() for h in judge.WEAK_SIGNATURE_HASHES):
        out.append(f"signed with a weak digest ({report.signature})")
    if now < report.not_before:
        out.append("not yet valid")
    if now > report.not_after:
        out.append("expired")
    if not any(judge.host_matches(name, [n], [n]) for n in report.names if n):
        out.append(f"its names do not match the address {name}")
    return f"; {len(report.problems)} problem(s): " + "; ".join(out or ["see the evidence file"])


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
            return [
                *out,
                (reads[0], None, (f"无法登录（{e.zh}）" if e.zh else "无法登录", "no session could be opened")),
            ]
        resp = driver.call(reads[0], s)
        out.append((reads[0], resp, None if driver.succeeded(reads[0], resp) else _NOT_SUCCESS))
    return out


_NOT_A_PAGE = ("非正常页面（错误或跳转应答）", "not a page the sample serves normally (an error or a redirect)")
_NOT_SUCCESS = ("操作未成功，非正常应答", "the operation did not succeed")


@pytest.mark.clause("11.tls.hsts")
def test_hsts_and_security_headers(driver, spec, evidence):
    base = driver.web_base_url() or ""
    if not base:
        not_applicable(
            "样品不是以 HTTP 接口驱动，无应答头可查",
            en="the sample is not driven through an HTTP interface: there are no response headers to check",
        )
    over_tls = base.lower().startswith("https://")
    problems = []
    judged = 0
    for label, resp, skipped in _header_samples(driver):
        if skipped is not None:
            status = f"应答 {resp.status_code}，" if resp is not None else ""
            evidence.observe(
                f"{_label_zh(label)} {status}{skipped[0]}，不据其判定安全响应头",
                en=f"{_label_en(label)}: {skipped[1]}; its headers are not judged",
            )
            continue
        judged += 1
        found = judge.header_problems(resp.headers, over_tls)
        hsts = resp.headers.get("Strict-Transport-Security")
        missing = [h for h in _HEADERS if _header_missing(resp.headers, h, over_tls)]
        evidence.observe(
            f"{_label_zh(label)} 应答 {resp.status_code}，HSTS：{hsts or '无'}"
            + (f"，问题：{'；'.join(found)}" if found else "，安全响应头齐全"),
            en=f"{_label_en(label)} answered {resp.status_code}, HSTS: {hsts or 'none'}"
            + (f"; missing or weak: {', '.join(missing)}" if found else "; security headers complete"),
        )
        problems += [f"{label}: {p}" for p in found]
    if not over_tls:
        evidence.observe(
            "样品基础地址为明文 HTTP，HSTS 不适用，仅检查其余安全响应头",
            en="The sample's base address is plain HTTP: HSTS does not apply; the other security headers were checked",
        )
    if not judged:
        raise DriverError("no answer the sample serves normally (a page or a successful read) to judge headers on")
    assert not problems, "; ".join(problems)


_HEADERS = ("Strict-Transport-Security", "X-Content-Type-Options", "X-Frame-Options")


def _header_missing(headers, name, over_tls):
    """Whether one header is what judge.header_problems finds missing or weak (for the English text)."""
    if name == "Strict-Transport-Security":
        return over_tls and (judge.hsts_max_age(headers.get(name)) or 0) < judge.HSTS_MIN_MAX_AGE
    if name == "X-Content-Type-Options":
        return (headers.get(name) or "").strip().lower() != "nosniff"
    csp = (headers.get("Content-Security-Policy") or "").lower()
    return (headers.get(name) or "").strip().upper() not in ("DENY", "SAMEORIGIN") and "frame-ancestors" not in csp


def _label_zh(label):
    """A sample's read operation by what it does (“GET /” stays as it is)."""
    if label.startswith("GET "):
        return label
    return "账户查询" if label == "account" else f"读取操作“{label}”"


def _label_en(label):
    if label.startswith("GET "):
        return label
    return "the account view" if label == "account" else f"the read operation '{label}'"
