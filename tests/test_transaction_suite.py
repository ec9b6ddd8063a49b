"""Calibration of the chapter 5 (交易安全) suite on the reference sample: the compliant build passes
every check; a build with one planted defect fails exactly the check(s) mapped to it; and the
mechanics the suite rests on (late ordering, token forgery helpers, fingerprints) behave.

The calibration runs are real `harness run` subprocesses, launched a few at a time. Only the
no-session-expiry build (and the compliant one) include the expiry check, which waits for the
declared idle time; the others run every other clause of the suite.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from harness.catalogue import load_catalogue
from harness.checks.answers import fingerprint
from harness.checks.credentials import code_candidates, named_codes, strip_values
from harness.checks.mass_assignment import adopted, candidates, identifier_names, made_up, only_stored
from harness.checks.readback import Snapshot
from harness.checks.tokens import encode_jwt, flip_char, parse_jwt, swap_identity
from harness.checks.transaction import decoy, order_late, shown
from harness.drivers import Call
from harness.spec.model import Account
from harness.store import Evidence, Verdict
from tests.conftest import SPECS, harness_cli

SUITE = "test_suites/transaction"
CLAUSES = load_catalogue().automated("5")  # every chapter-5 item a check decides
T = "test_suites/transaction/"
# defect id -> the check(s) that must fail on a build with only that defect (and nothing else may).
MAPPING: dict[str, set[str]] = {
    "no-lockout": {T + "test_auth.py::test_login_locks_at_declared_threshold"},
    "user-enumeration": {T + "test_auth.py::test_login_errors_do_not_reveal_unknown_users"},
    "timing-enumeration": {T + "test_auth.py::test_login_errors_do_not_reveal_unknown_users"},
    "no-rate-limit": {T + "test_auth.py::test_login_attempts_are_rate_limited"},
    "idor": {T + "test_authorization.py::test_other_accounts_things_are_off_limits"},
    "negative-amount": {T + "test_transfers.py::test_invalid_amounts_are_refused"},
    "no-limit": {T + "test_limits.py::test_daily_limit_is_enforced"},
    "race": {T + "test_transfers.py::test_parallel_transfers_never_overdraw"},
    "weak-jwt": {T + "test_session.py::test_forged_session_tokens_are_refused"},
    "no-session-expiry": {T + "test_session.py::test_idle_session_expires_at_declared_timeout"},
    "logout-no-revoke": {T + "test_session.py::test_logout_revokes_the_session"},
    "tamper": {T + "test_transfers.py::test_tampered_signed_fields_are_rejected"},
    "csrf": {T + "test_csrf.py::test_cookie_sessions_refuse_cross_site_state_changes"},
    "mass-assignment": {T + "test_mass_assignment.py::test_undeclared_privileged_fields_are_not_adopted"},
    "password-change-no-proof": {T + "test_credentials.py::test_password_change_and_reset_require_the_owner"},
    "reset-code-in-answer": {T + "test_credentials.py::test_password_change_and_reset_require_the_owner"},
    # Without the nonce check, parallel copies of one signed request are all booked too.
    "replay": {
        T + "test_replay.py::test_replayed_signed_transfer_is_rejected",
        T + "test_transfers.py::test_parallel_duplicates_debit_once",
    },
}
WAITING = {"no-session-expiry"}  # builds whose mapped check is the one that waits
# Every check the suite holds (the compliant build runs them all).
SUITE_CHECKS = {
    f"{T}{p.name}::{name}"
    for p in sorted((Path(__file__).resolve().parent.parent / SUITE).glob("test_*.py"))
    for name in re.findall(r"^def (test_\w+)", p.read_text(encoding="utf-8"), re.MULTILINE)
}


def variant_spec(directory: Path, defects: list[str]) -> Path:
    """A spec extending the compliant reference spec, started with ``--defects``."""
    base = yaml.safe_load((SPECS / "refpay.yaml").read_text(encoding="utf-8"))
    run = base["deployment"]["start"]["run"]
    if defects:
        run = f"{run} --defects {','.join(defects)}"
    path = directory / f"refpay-{'-'.join(defects) or 'compliant'}.yaml"
    data = {"extends": str(SPECS / "refpay.yaml"), "deployment": {"start": {"run": run}}}
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def run_suite(spec: Path, clauses: list[str], lab: Path) -> tuple[list[Verdict], list[Evidence], str]:
    """One `harness run` in its own lab directory: intake numbers samples by counting rows, so two
    runs registering at the same moment in one lab database would collide."""
    env = {"HARNESS_DATA_DIR": str(lab / "data"), "HARNESS_REPORTS_DIR": str(lab / "reports")}
    r = harness_cli(
        "run", str(spec), "--suite", SUITE, "--only", ",".join(clauses), "--no-report", env=env, timeout=300
    )
    m = re.search(r"run (R-[\w-]+):", r.stdout)
    assert m, r.stdout + r.stderr
    engine = create_engine(f"sqlite:///{lab / 'data' / 'lab.db'}")
    try:
        with Session(engine) as s:
            verdicts = list(s.scalars(select(Verdict).where(Verdict.run_id == m.group(1))))
            evidence = list(s.scalars(select(Evidence).where(Evidence.run_id == m.group(1))))
    finally:
        engine.dispose()
    return verdicts, evidence, r.stdout[-3000:] + r.stderr[-2000:]


def _summary(verdicts: list[Verdict]) -> list[tuple[str, str, str]]:
    return sorted((v.check_id, v.outcome, v.detail[:200]) for v in verdicts if v.outcome != "pass")


# -- calibration on the reference sample ---------------------------------------------------------
@pytest.mark.slow
# The full calibration: the test command judges every defect at once in the defective reference run
# (tests/test_report_workflow.py); one build per defect proves no check fails for another's defect.
@pytest.mark.full_calibration
# One build per mapped defect plus the compliant one, two at a time, each bounded by its own run
# timeout: the whole may take that long (a hang is still caught by each run's 300 s).
@pytest.mark.timeout(300 * (len(MAPPING) + 2) // 2)
def test_compliant_and_single_defect_builds(tmp_path: Path) -> None:
    builds = {"": [], **{d: [d] for d in MAPPING}}
    quick = [c for c in CLAUSES if c != "5.session.expiry"]

    def one(defect: str) -> tuple[str, list[Verdict], list[Evidence], str]:
        clauses = CLAUSES if defect in WAITING or not defect else quick
        lab = tmp_path / (defect or "compliant")
        lab.mkdir()
        verdicts, evidence, log = run_suite(variant_spec(lab, builds[defect]), clauses, lab)
        return defect, verdicts, evidence, log

    # Waiting builds first, so their idle time overlaps with the quick ones.
    order = sorted(builds, key=lambda d: (d not in WAITING and d != "", d))
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(one, order))

    problems: list[tuple[str, object, str]] = []
    for defect, verdicts, evidence, log in results:
        if not verdicts:
            problems.append((defect or "compliant", "no verdicts", log))
            continue
        failing = {v.check_id for v in verdicts if v.outcome == "fail"}
        others = [(v.check_id, v.outcome) for v in verdicts if v.outcome not in ("pass", "fail", "not_applicable")]
        expected = MAPPING.get(defect, set())
        if failing != expected or others:
            problems.append((defect or "compliant", _summary(verdicts), log[-1500:]))
        checks = {v.check_id for v in verdicts}
        if not defect and (
            checks != SUITE_CHECKS or any(v.outcome not in ("pass", "not_applicable") for v in verdicts)
        ):
            problems.append(("compliant: not every check of the suite passes", _summary(verdicts), log[-1500:]))
        with_evidence = {e.verdict_id for e in evidence}
        problems += [
            (defect, f"{v.check_id} failed without evidence", "")
            for v in verdicts
            if v.outcome == "fail" and v.id not in with_evidence
        ]
    assert not problems, problems


# -- the mechanics, without a sample ---------------------------------------------------------------
class _Item:
    def __init__(self, name: str, target: str, late: int = 0) -> None:
        self.name, self._late = name, late
        self.callspec = type("CS", (), {"params": {"deployment": type("T", (), {"model": target})()}})()

    def get_closest_marker(self, name: str) -> object:
        return type("M", (), {"args": (self._late,)})() if self._late else None


def test_late_checks_move_to_the_end_of_their_target() -> None:
    items = [
        _Item("a1", "A"),
        _Item("expiry-A", "A", 2),
        _Item("daily-A", "A", 1),
        _Item("a2", "A"),
        _Item("b1", "B"),
        _Item("expiry-B", "B", 2),
        _Item("b2", "B"),
    ]
    order_late(items)
    assert [i.name for i in items] == ["a1", "a2", "daily-A", "expiry-A", "b1", "b2", "expiry-B"]


def test_jwt_forgery_helpers() -> None:
    me = Account(name="a", username="alice", password="x", account_id="6001")
    other = Account(name="b", username="bob", password="y", account_id="6002")
    token = encode_jwt({"alg": "HS256", "typ": "JWT"}, {"sub": "alice", "account_id": "6001", "jti": "j"}, "k")
    jwt = parse_jwt(token)
    assert jwt is not None and jwt.claims["sub"] == "alice"
    claims, changed = swap_identity(jwt.claims, me, other)
    assert claims == {"sub": "bob", "account_id": "6002", "jti": "j"} and sorted(changed) == ["account_id", "sub"]
    unsigned = encode_jwt({"alg": "none"}, claims, None)
    assert unsigned.endswith(".") and parse_jwt(unsigned) is not None
    assert parse_jwt("opaque-token") is None
    assert flip_char("abc123", 1) != "abc123" and flip_char("abc123", 4) != "abc123"


def test_decoys_and_fingerprints() -> None:
    assert decoy("6001", ["6001", "6002"]) == "6002"
    assert decoy(Decimal("1.00"), []) == Decimal("2.00")
    assert decoy(100, []) == 101
    assert decoy("text", []) == "text0"
    # A decoy is said in an observation as the request's JSON writes it, never as a Python repr.
    assert shown(decoy(True, [])) == "false" and shown(None) == "null" and shown(Decimal("2.00")) == "2.00"

    class R:
        def __init__(self, status: int, text: str) -> None:
            self.status_code, self.text = status, text

    a = fingerprint(R(400, '{"error": "余额不足 10000.01", "id": "0f3a9c1e2b4d5f60718293a4b5c6d7e8"}'))  # type: ignore[arg-type]
    b = fingerprint(R(400, '{"error": "余额不足 50000.00", "id": "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b"}'))  # type: ignore[arg-type]
    c = fingerprint(R(400, '{"error": "超过单笔限额"}'))  # type: ignore[arg-type]
    assert a == b != c


def test_login_timing_comparison() -> None:
    from harness.checks import timing

    # A product that skips the password hash for unknown users: large, consistent.
    leak = timing.compare(
        [0.11, 0.05, 0.12, 0.12, 0.08, 0.10, 0.14, 0.18], [0.31, 0.14, 0.34, 0.35, 0.28, 0.43, 0.44, 0.38]
    )
    assert leak.reveals() and leak.agreement == 1.0 and leak.ratio > 2
    # The compliant build on a busy machine: a difference of medians, but neither large nor consistent.
    busy = timing.compare(
        [0.30, 0.35, 0.44, 0.56, 0.31, 0.27, 0.35, 0.23], [0.45, 0.49, 0.42, 0.77, 0.46, 0.26, 0.27, 0.32]
    )
    assert not busy.reveals()
    # Consistent but small (a failure counter written on a wrong password): no enumeration.
    small = timing.compare([0.100, 0.101, 0.099, 0.102, 0.100, 0.098, 0.101, 0.100], [0.110] * 8)
    assert small.agreement == 1.0 and not small.reveals()
    # Large but not consistent (two outliers): not yet.
    mixed = timing.compare(
        [0.01, 0.01, 0.30, 0.01, 0.30, 0.01, 0.01, 0.01], [0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05]
    )
    assert mixed.ratio >= timing.MIN_RATIO and not mixed.reveals()
    # Either direction counts.
    assert not timing.compare([0.2] * 8, [0.2] * 8).reveals()  # identical times: no pair is ordered
    assert timing.compare([0.30, 0.31, 0.29, 0.32, 0.30, 0.31, 0.30, 0.29], [0.05] * 8).reveals()
    with pytest.raises(ValueError):
        timing.compare([0.1], [])


def test_mass_assignment_candidates_and_adoption() -> None:
    account = {"account_id": "6001", "owner": "alice", "card_number": "6222021234567890128", "balance": "10000.00"}
    wallet = {"data": {"walletNo": "W1", "balanceFen": 1000000, "frozen": False, "tier": "basic"}, "code": 0}
    history = {"transactions": [{"amount": "1.00", "to_account": "6002"}]}
    own = {"username": "alice", "account_id": "6001", "card_number": "6222021234567890128"}
    other = {"username": "bob", "account_id": "6002", "card_number": "6228480402564890018"}
    ids = identifier_names(["account_id", "username", "card_number", "api_key", "from_account"])
    assert ids == {"account_id", "username", "from_account"}
    found = candidates({"account": account, "wallet": wallet, "history": history}, ["nickname"], own, other, ids)
    got = {c.field: c.value for c in found}
    # Identifiers become the other account's; amounts huge in their own notation; flags flipped; roles admin.
    assert got["account_id"] == "6002" and got["owner"] == "bob"
    assert got["balance"] == "88888888.00" and got["balanceFen"] == 88888888
    assert got["frozen"] is True and got["tier"] == "admin"
    # Card numbers (full or masked), list entries, envelopes and what the request sends are left alone.
    assert not {"card_number", "amount", "to_account", "code", "nickname"} & set(got)
    assert {"role", "is_admin", "admin"} <= set(got)
    balance = next(c for c in found if c.field == "balance")
    before = {"account": account}
    assert not adopted(balance, before, {"account": {**account, "balance": "9999.99"}})
    assert adopted(balance, before, {"account": {**account, "balance": "88888888.00"}})
    role = next(c for c in found if c.field == "role")
    assert adopted(role, before, {"account": {**account, "role": "admin"}})
    assert not adopted(role, before, {"account": account})
    # A store that keeps any field it is sent (the made-up control kept too): common names kept there
    # are not adopted privileges; a field the answers showed before still is.
    control = made_up("lab1f2e3d4c")
    free = {
        "account": {**account, "balance": "88888888.00"},
        "settings": {"role": "admin", "lab1f2e3d4c": "lab1f2e3d4c"},
    }
    assert only_stored([role, balance], control, before, free) == [role]
    assert only_stored([role, balance], control, before, {"account": {**account, "role": "admin"}}) == []


def test_credential_helpers() -> None:
    body = {"current": "Old#pw1", "new": "New#pw2", "meta": {"p": "Old#pw1"}}
    call = Call("change", "POST", "https://x/pw", json=body)
    stripped, removed = strip_values(call, {"Old#pw1"})
    assert stripped.json == {"new": "New#pw2", "meta": {}} and removed == ["current", "meta.p"]
    assert call.json["current"] == "Old#pw1"  # the original call is untouched
    answer = {"status": "sent", "data": {"resetCode": "482913", "user": "bob"}, "ok": True}
    assert named_codes(answer) == ["data.resetCode"]
    assert code_candidates(answer, {"bob"}) == ["482913"]
    assert named_codes({"code": 0, "token": "x", "sms_sent": True}) == []


def test_snapshots_set_noisy_reads_aside() -> None:
    ok = {"a": True, "b": True}
    before = Snapshot({"a": '{"n": "x"}', "b": '{"t": 1}'}, {}, ok)
    after = Snapshot({"a": '{"n": "lab1234"}', "b": '{"t": 2}'}, {}, ok)
    assert after.changed_from(before) == ["a", "b"]
    assert after.changed_from(before, noisy=["b"]) == ["a"]
    assert after.shows("lab1234") == ["a"] and before.shows("lab1234") == []
