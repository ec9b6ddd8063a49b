"""Calibration of the network suite (chapter 11 and 9.exposure) on the reference sample: the
compliant build passes every network check; each planted defect fails exactly the checks it is
meant for (variant specs with only that defect, run with ``--only`` the network clauses); with
every one of them planted at once, the same checks fail and none errs.

Also unit tests of the judging functions and probes that need no sample."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from harness.checks import network as judge
from harness.intake import tree_sha256
from harness.store import Verdict, session
from tests.conftest import SPECS, harness_cli

CLAUSES = [
    "11.tls.protocol",
    "11.tls.ciphers",
    "11.tls.certificate",
    "11.tls.hsts",
    "11.crypto.national",
    "11.cleartext",
    "11.errors",
    "11.injection",
    "9.exposure",
]
N = "test_suites/network/"
PROTOCOL = N + "test_tls.py::test_no_protocol_below_the_minimum_is_offered"
CIPHERS = N + "test_tls.py::test_no_weak_cipher_suite_is_offered"
CERT = N + "test_tls.py::test_server_certificate_is_valid_for_the_declared_host"
HSTS = N + "test_tls.py::test_hsts_and_security_headers"
NATIONAL = N + "test_national_crypto.py::test_declared_national_algorithms_are_negotiable"
CLEARTEXT = N + "test_cleartext.py::test_no_sensitive_data_crosses_in_cleartext"
ERRORS = N + "test_errors.py::test_errors_do_not_disclose_internals"
INJECTION = N + "test_injection.py::test_inputs_resist_sql_and_command_injection"
EXPOSURE = N + "test_exposure.py::test_only_declared_ports_are_exposed"

# defect -> the network checks it must fail (weak-tls's SECLEVEL=0 DEFAULT list also offers
# RSA key exchange, so the cipher check rightly fails on it too; weak-ciphers is cipher-only).
EXPECTED = {
    "weak-tls": {PROTOCOL, CIPHERS},
    "weak-ciphers": {CIPHERS},
    "no-security-headers": {HSTS},
    "stack-trace": {ERRORS},
    "sqli": {INJECTION},
    "debug-port": {EXPOSURE},
    "cleartext-audit": {CLEARTEXT},
}


def _variant(tmp_path: Path, defects: list[str]) -> Path:
    base = yaml.safe_load((SPECS / "refpay.yaml").read_text(encoding="utf-8"))
    run = base["deployment"]["start"]["run"]
    if defects:
        run += " --defects " + ",".join(defects)
    # The media entry with the tree's current hash: this calibrates the checks on the sample as it
    # is in the working tree, whoever last edited it (the lab's own reference material).
    media = [{**m, "path": str((SPECS / m["path"]).resolve())} for m in base["media"]]
    for m in media:
        m["sha256"] = tree_sha256(Path(m["path"]))
    spec = tmp_path / f"refpay-{len(defects)}-{defects[0] if defects else 'compliant'}.yaml"
    over = {"extends": str(SPECS / "refpay.yaml"), "media": media, "deployment": {"start": {"run": run}}}
    spec.write_text(yaml.safe_dump(over, allow_unicode=True), encoding="utf-8")
    return spec


def _run(spec: Path) -> tuple[dict[str, Verdict], str]:
    r = harness_cli("run", str(spec), "--only", ",".join(CLAUSES), "--no-report")
    m = re.search(r"run (R-[\w-]+):", r.stdout)
    assert m, r.stdout + r.stderr
    with session() as s:
        vs = {v.check_id: v for v in s.scalars(select(Verdict).where(Verdict.run_id == m.group(1)))}
    return vs, r.stdout + r.stderr


def _outcomes(vs: dict[str, Verdict]) -> dict[str, str]:
    return {k.removeprefix(N): v.outcome for k, v in vs.items()}


@pytest.mark.slow
def test_compliant_build_passes_every_network_check(tmp_path: Path) -> None:
    vs, log = _run(_variant(tmp_path, []))
    assert set(vs) == {PROTOCOL, CIPHERS, CERT, HSTS, NATIONAL, CLEARTEXT, ERRORS, INJECTION, EXPOSURE}, log
    assert vs[NATIONAL].outcome == "not_applicable", log
    bad = {k: (v.outcome, v.detail[:300]) for k, v in vs.items() if k != NATIONAL and v.outcome != "pass"}
    assert not bad, bad


@pytest.mark.slow
@pytest.mark.parametrize("defect", sorted(EXPECTED))
def test_each_defect_fails_exactly_its_check(tmp_path: Path, defect: str) -> None:
    vs, log = _run(_variant(tmp_path, [defect]))
    failing = {k for k, v in vs.items() if v.outcome == "fail"}
    assert failing == EXPECTED[defect], (_outcomes(vs), log[-3000:])
    assert not [k for k, v in vs.items() if v.outcome == "error"], (_outcomes(vs), log[-3000:])


@pytest.mark.slow
def test_all_defects_at_once(tmp_path: Path) -> None:
    """The combined defective build plants every defect: the network checks stay robust."""
    everything = yaml.safe_load((Path(__file__).parent.parent / "samples/refpay/defects.yaml").read_text("utf-8"))
    vs, log = _run(_variant(tmp_path, [d["id"] for d in everything]))
    failing = {k for k, v in vs.items() if v.outcome == "fail"}
    assert failing == set().union(*EXPECTED.values()), (_outcomes(vs), log[-3000:])
    assert not [k for k, v in vs.items() if v.outcome == "error"], (_outcomes(vs), log[-3000:])


# -- judging, without a sample ----------------------------------------------------------------------
def test_cipher_suite_judging() -> None:
    assert judge.suite_weaknesses("TLS 1.3", "TLS_AES_128_GCM_SHA256", 128, False) == []
    assert judge.suite_weaknesses("TLS 1.2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 128, False) == []
    assert judge.suite_weaknesses("TLS 1.2", "TLS_RSA_WITH_AES_128_GCM_SHA256", 128, False) == ["无前向安全"]
    assert "3DES" in judge.suite_weaknesses("TLS 1.2", "TLS_RSA_WITH_3DES_EDE_CBC_SHA", 168, False)
    assert "RC4" in judge.suite_weaknesses("TLS 1.0", "TLS_ECDHE_RSA_WITH_RC4_128_SHA", 128, False)
    assert "匿名密钥交换" in judge.suite_weaknesses("TLS 1.2", "TLS_DH_anon_WITH_AES_128_CBC_SHA", 128, True)
    assert "无加密（NULL）" in judge.suite_weaknesses("TLS 1.2", "TLS_ECDHE_RSA_WITH_NULL_SHA", 0, False)


def _cert(days_from: int, days_to: int, names: list[str], bits: int = 2048) -> str:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "t")])
    now = datetime.now(UTC)
    sans: list[x509.GeneralName] = []
    for n in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            sans.append(x509.DNSName(n))
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now + timedelta(days=days_from))
        .not_valid_after(now + timedelta(days=days_to))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_certificate_judging() -> None:
    good = judge.judge_certificate([_cert(-1, 30, ["localhost", "127.0.0.1"])], "127.0.0.1")
    assert good.problems == [] and good.self_signed and any("自签名" in n for n in good.notes)
    assert any("不匹配" in p for p in judge.judge_certificate([_cert(-1, 30, ["localhost"])], "10.0.0.1").problems)
    assert any("过期" in p for p in judge.judge_certificate([_cert(-30, -1, ["a.example"])], "a.example").problems)
    assert any("尚未生效" in p for p in judge.judge_certificate([_cert(2, 30, ["a.example"])], "a.example").problems)
    assert any("1024" in p for p in judge.judge_certificate([_cert(-1, 30, ["a.example"], 1024)], "a.example").problems)
    assert judge.host_matches("api.example.com", ["*.example.com"], [])
    assert not judge.host_matches("a.b.example.com", ["*.example.com"], [])


def test_headers_and_error_judging() -> None:
    ok = {
        "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    }
    assert judge.header_problems(ok, over_tls=True) == []
    short = {**ok, "Strict-Transport-Security": "max-age=600"}
    assert any("低于一年" in p for p in judge.header_problems(short, over_tls=True))
    assert len(judge.header_problems({}, over_tls=True)) == 3
    assert len(judge.header_problems({}, over_tls=False)) == 2
    trace = 'Traceback (most recent call last):\n  File "/srv/app/x.py", line 3, in f'
    assert judge.error_leaks(trace)
    assert judge.error_leaks('sqlite3.OperationalError: near "\'": syntax error')
    assert not judge.error_leaks('{"error": "请求格式错误"}')
    assert judge.header_leaks({"Server": "Apache/2.4.57 (Debian)"}) and not judge.header_leaks({"Server": "refpay"})


def test_sm_probe_messages_are_well_formed() -> None:
    from harness.probes import sm

    hello = sm.tls13_sm_hello("pay.example")
    assert hello[0] == 0x16 and int.from_bytes(hello[3:5], "big") == len(hello) - 5
    assert bytes.fromhex("00c600c7") in hello and bytes.fromhex("0029") in hello
    assert sm.tlcp_hello()[1:3] == b"\x01\x01"
    # a ServerHello choosing TLS_SM4_GCM_SM3 under TLS 1.3 (supported_versions 0x0304)
    body = b"\x03\x03" + b"\x11" * 32 + b"\x00" + b"\x00\xc6" + b"\x00" + b"\x00\x06" + b"\x00\x2b\x00\x02\x03\x04"
    record = b"\x16\x03\x03" + (len(body) + 4).to_bytes(2, "big") + b"\x02" + len(body).to_bytes(3, "big") + body
    assert sm._judge(record, sm.TLS13_SM_SUITES, 0x0304)[:2] == (True, "TLS_SM4_GCM_SM3")
    assert sm._judge(b"\x15\x03\x03\x00\x02\x02\x28", sm.TLS13_SM_SUITES, 0x0304)[0] is False
