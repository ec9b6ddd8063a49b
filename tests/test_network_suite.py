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

from harness.checks import injection
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
    "11.availability.input",
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
AVAILABILITY = N + "test_availability.py::test_crafted_input_does_not_stop_the_service"

# defect -> the network checks it must fail (weak-tls's SECLEVEL=0 DEFAULT list also offers
# RSA key exchange, so the cipher check rightly fails on it too; weak-ciphers is cipher-only).
EXPECTED = {
    "weak-tls": {PROTOCOL, CIPHERS},
    "weak-ciphers": {CIPHERS},
    "no-security-headers": {HSTS},
    "stack-trace": {ERRORS},
    "sqli": {INJECTION},
    "sqli-lookup": {INJECTION},
    "redos": {AVAILABILITY},
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
    assert set(vs) == {PROTOCOL, CIPHERS, CERT, HSTS, NATIONAL, CLEARTEXT, ERRORS, INJECTION, EXPOSURE, AVAILABILITY}, (
        log
    )
    assert vs[NATIONAL].outcome == "not_applicable", log
    bad = {k: (v.outcome, v.detail[:300]) for k, v in vs.items() if k != NATIONAL and v.outcome != "pass"}
    assert not bad, bad


@pytest.mark.slow
@pytest.mark.full_calibration  # one run per defect: the test command runs them all at once (below)
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


# -- injection, crafted input and input placement: judging without a sample ------------------------
def _seen(status: int, ok: bool, body: str, values: tuple[str, ...] = ()) -> injection.Seen:
    return injection.Seen(status, ok, (status, body), frozenset(values))


def test_boolean_pair_judgement() -> None:
    base = _seen(200, True, '{"account": "#"}', ("alice", "6222**"))
    junk = _seen(404, False, '{"error": "not found"}')
    # The value was evaluated: the true condition answers like the genuine request, the false one like junk.
    assert injection.boolean_reason("and", base, base, junk, junk)
    # Kept as data: both conditions answer like an invalid value.
    assert injection.boolean_reason("and", base, junk, junk, junk) is None
    # A difference the invalid value does not explain (the false condition unlike junk) decides nothing.
    odd = _seen(400, False, '{"error": "bad characters"}')
    assert injection.boolean_reason("and", base, base, odd, junk) is None
    # Without a genuine request that succeeded, the "and" form cannot be explained by the baseline.
    assert injection.boolean_reason("and", None, base, junk, junk) is None
    assert injection.boolean_reason("and", junk, base, junk, junk) is None
    # "or": success against refusal, or rows that neither the false nor the junk answer has.
    assert injection.boolean_reason("or", None, base, junk, junk)
    empty = _seen(200, True, '{"items": []}')
    rows = _seen(200, True, '{"items": [#]}', ("alice", "bob", "carol"))
    assert injection.boolean_reason("or", None, rows, empty, empty)
    one_more = _seen(200, True, '{"items": [# ]}', ("alice",))
    assert injection.boolean_reason("or", None, one_more, empty, empty) is None
    # The declared accounts' identifiers in a refused answer are no injection.
    echoed = _seen(404, False, '{"error": "6001 not found"}', ("6001",))
    assert injection.boolean_reason("or", None, echoed, junk, junk) is None
    assert injection.reason_en(injection.boolean_reason("or", None, rows, empty, empty) or "").startswith("the true")


def test_payload_pairs_are_twins() -> None:
    import random

    rnd = random.Random(7)
    for pair in injection.boolean_pairs("6001", rnd) + injection.login_username_pairs("alice", rnd):
        t, f = pair.texts()
        assert t != f and len(t) == len(f), pair  # same shape, one literal apart
    for pair in injection.boolean_pairs("6001", rnd):
        if pair.form == "and":
            assert pair.true.startswith("6001") and pair.false.startswith("6001")
    assert all(isinstance(p.true, dict) for p in injection.nosql_pairs(rnd))
    for tp in injection.time_pairs("6001", body=False):
        assert tp.slow != tp.control and "\n" not in tp.slow
    assert any("\n" in tp.slow for tp in injection.time_pairs("x", body=True))
    shapes = " ".join(tp.shape for tp in injection.time_pairs("x"))
    for dialect in ("PostgreSQL", "MySQL", "SQL Server", "Oracle", "SQLite", "shell"):
        assert dialect in shapes


def test_time_delay_needs_the_control_twice() -> None:
    d = injection.MIN_DELAY_S
    assert injection.delay_shown([(3.1, 0.05), (3.2, 0.04)], d)
    assert not injection.delay_shown([(3.1, 0.05)], d)  # one round is not confirmation
    assert not injection.delay_shown([(3.1, 0.05), (0.2, 0.05)], d)  # not reproduced
    assert not injection.delay_shown(
        [(3.1, 3.0), (3.2, 3.1)], d
    )  # the control is as slow: the machine, not the payload


def test_seen_hides_what_the_request_said() -> None:
    import requests

    def answer(body: str, status: int = 404) -> requests.Response:
        r = requests.Response()
        r.status_code, r._content = status, body.encode()
        return r

    hide = ["6001' AND 'k'='k", "6001' AND 'k'='q", "6001", "6001xyz"]
    t = injection.Seen.of(answer("{\"error\": \"no account 6001' AND 'k'='k\"}"), False, hide)
    f = injection.Seen.of(answer("{\"error\": \"no account 6001' AND 'k'='q\"}"), False, hide)
    assert t.fp == f.fp  # the echoed payload is not a difference


def test_input_places_and_values() -> None:
    from decimal import Decimal

    from harness.checks import inputs
    from harness.drivers import Call, DriverSession
    from harness.spec.model import Account

    call = Call("op", "GET", "https://h/api/things/hx1/items", params={"q": "hx2"}, json={"a": {"b": "hx3"}})
    call.headers["X-Key"] = "hx4"
    assert [inputs.slot_of(call, m).place for m in ("hx1", "hx2", "hx3", "hx4", "hx5")] == [
        "path",
        "query",
        "body",
        "header",
        "unseen",
    ]
    path = inputs.Slot("path")
    assert inputs.placed(path, "a#b?c/d%") == "a%23b%3Fc%2Fd%25"
    assert inputs.placed(path, "x' OR '1'='1") == "x'%20OR%20'1'='1"
    assert inputs.placed(inputs.Slot("query"), "a#b") == "a#b"  # the HTTP library encodes query values
    assert not inputs.fits(inputs.Slot("body"), {"$ne": 1}) and inputs.fits(inputs.Slot("body", True), {"$ne": 1})
    assert not inputs.fits(inputs.Slot("header"), "a\nb") and inputs.fits(inputs.Slot("body"), "a\nb")
    alice = Account(name="alice", username="alice", account_id="6001", values={"wallet_id": "w1"})
    bob = Account(name="bob", username="bob", account_id="6002")
    s = DriverSession(account=alice, token="t", values={"order_id": "o-9", "token": "t"})
    own = inputs.session_values(s)
    assert own["from_account"] == "6001" and own["wallet_id"] == "w1" and own["order_id"] == "o-9"
    assert "token" not in own
    vals = inputs.ordinary_values(
        ("from_account", "to_account", "amount", "memo", "to_wallet_id"), s, bob, Decimal("0.01")
    )
    assert vals == {"to_account": "6002", "amount": Decimal("0.01"), "memo": "1", "to_wallet_id": "1"}


def test_crafted_input_ladder_and_judgement() -> None:
    from harness.checks import availability as av

    assert av.FAMILIES[0].value(3) == "111!" and av.FAMILIES[2].value(2).startswith("a@a.aa")
    # Big steps while nothing shows, one character at a time once answers slow down.
    assert av.next_length(12, 0.0) == 18 and av.next_length(20, 0.05) == 23 and av.next_length(22, 1.0) == 23
    lengths, n = [], av.LADDER_START
    while n <= av.LADDER_MAX:
        lengths.append(n)
        n = av.next_length(n, 0.0)
    assert len(lengths) <= 7  # a product that answers at once costs a handful of requests per family
    assert av.nested(3) == [[[1]]] and av.nested(2, obj=True) == {"a": {"a": 1}}
    to, digits = "transfer.to_account", "数字串"
    quick = av.Episode(to, "数字串 19 字符", digits, 0.1, True)
    slow_ok = av.Episode(to, "数字串 25 字符", digits, 2.5, True, True, 1.5)
    stall = av.Episode(to, "数字串 27 字符", digits, 4.0, True, True, None)
    lone_timeout = av.Episode("x.q", "超长字符串", "超长字符串", 10.0, False, True, 0.2)
    failures, slow = av.judge([quick, slow_ok, stall, lone_timeout])
    assert failures == [] and slow == [slow_ok, lone_timeout]  # one stall is not yet a failure
    again = av.Episode(to, "数字串 28 字符", digits, 4.2, True, True, None)  # reproduced one character longer
    failures, _ = av.judge([quick, slow_ok, stall, again])
    assert failures == [again]
    other = av.Episode(to, "字母串 28 字符", "字母串", 4.2, True, True, None)  # another family: not a reproduction
    assert av.judge([stall, other])[0] == []
    assert again.row()["对照请求"] == "未在时限内应答"
