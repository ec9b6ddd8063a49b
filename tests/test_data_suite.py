"""Calibration of the data, browser and source checks (10.masking.display, 10.storage.c3, 10.logs,
10.minimisation, 11.source) on the reference sample: the compliant build passes all of them; a build
with one planted defect fails exactly the check(s) mapped to it, with evidence that keeps C2 masked
and C3 out."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from harness.config import lab_config
from harness.intake import tree_sha256
from harness.store import Evidence, Verdict, session
from tests.conftest import SPECS, harness_cli

CLAUSES = "10.masking.display,10.storage.c3,10.logs,10.minimisation,11.source"
MASKING_API = "test_suites/data/test_masking.py::test_personal_information_is_masked_in_account_view"
MASKING_UI = "test_suites/browser/test_web_ui.py::test_pages_after_login_show_personal_information_masked"
LOGS = "test_suites/data/test_logs.py::test_logs_hold_no_c3_and_no_unmasked_c2"
STORAGE = "test_suites/data/test_storage.py::test_no_c3_at_rest_and_passwords_are_salted_slow_hashes"
MINIMISATION = "test_suites/data/test_minimisation.py::test_answers_carry_only_what_the_use_case_needs"
ALL = {
    MASKING_API,
    MASKING_UI,
    LOGS,
    STORAGE,
    "test_suites/browser/test_web_ui.py::test_password_input_masks_what_is_typed",
    "test_suites/browser/test_web_ui.py::test_browser_is_not_asked_to_keep_the_password",
    MINIMISATION,
    "test_suites/source/test_bandit.py::test_source_has_no_unaccepted_high_risk_findings",
}
EXPECTED = {
    "log-leak": {LOGS},
    "weak-password-hash": {STORAGE},
    "unmasked-card": {MASKING_API, MASKING_UI},
    "overexposure": {MINIMISATION},
}
ALICE = yaml.safe_load((SPECS / "refpay.yaml").read_text(encoding="utf-8"))["driver"]["accounts"][0]


def variant(tmp: Path, defect: str | None) -> Path:
    """A spec of the reference sample, compliant or with one planted defect. Media are made absolute
    (the variant lives outside sample_specs/) and hashed afresh: the reference sample gains defects
    while these checks are calibrated, and intake's hash check is not what this file tests."""
    base = yaml.safe_load((SPECS / "refpay.yaml").read_text(encoding="utf-8"))
    media = []
    for m in base["media"]:
        path = (SPECS / m["path"]).resolve()
        media.append({**m, "path": str(path), "sha256": tree_sha256(path)})
    run = base["deployment"]["start"]["run"] + (f" --defects {defect}" if defect else "")
    spec = {"extends": str(SPECS / "refpay.yaml"), "media": media, "deployment": {"start": {"run": run}}}
    path = tmp / f"refpay-{(defect or 'compliant').replace(',', '+')}.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return path


def run_clauses(spec: Path) -> tuple[dict[str, str], str, list[Verdict]]:
    r = harness_cli("run", str(spec), "--only", CLAUSES)
    m = re.search(r"run (R-[\w-]+):", r.stdout)
    assert m, r.stdout + r.stderr
    with session() as s:
        vs = list(s.scalars(select(Verdict).where(Verdict.run_id == m.group(1))))
    return {v.check_id: v.outcome for v in vs}, r.stdout + r.stderr, vs


@pytest.mark.slow
def test_compliant_build_passes_every_data_browser_and_source_check(tmp_path):
    outcomes, log, verdicts = run_clauses(variant(tmp_path, None))
    assert set(outcomes) == ALL, log
    bad = {(v.check_id, v.outcome, v.detail[:300]) for v in verdicts if v.outcome != "pass"}
    assert not bad, bad


@pytest.mark.slow
@pytest.mark.full_calibration  # one run per defect: the test command plants them all at once (below)
@pytest.mark.parametrize("defect", sorted(EXPECTED))
def test_each_defect_fails_exactly_its_checks_with_safe_evidence(defect, tmp_path):
    _fails_exactly_with_safe_evidence(tmp_path, defect, EXPECTED[defect])


@pytest.mark.slow
def test_all_defects_at_once_fail_exactly_their_checks_with_safe_evidence(tmp_path):
    # The defects touch different checks, so planted together each still fails its own and the
    # checks no defect touches still pass.
    _fails_exactly_with_safe_evidence(tmp_path, ",".join(sorted(EXPECTED)), set().union(*EXPECTED.values()))


def _fails_exactly_with_safe_evidence(tmp_path: Path, defects: str, expected: set[str]) -> None:
    outcomes, log, verdicts = run_clauses(variant(tmp_path, defects))
    failing = {c for c, o in outcomes.items() if o == "fail"}
    assert failing == expected, log
    assert not [c for c, o in outcomes.items() if o == "error"], log
    assert {o for c, o in outcomes.items() if c not in expected} == {"pass"}, log
    run_dir = lab_config().run_dir(verdicts[0].run_id)
    with session() as s:
        for v in verdicts:
            if v.outcome != "fail":
                continue
            ev = list(s.scalars(select(Evidence).where(Evidence.verdict_id == v.id)))
            assert ev, f"{v.check_id} failed without evidence"
            if v.check_id == MASKING_UI:
                assert any(e.kind == "screenshot" for e in ev)
            for e in ev:
                if e.kind in ("json", "text"):
                    text = (run_dir / e.path).read_text(encoding="utf-8")
                    # Our own excerpts never carry the full card or a password.
                    assert ALICE["card_number"] not in text, (v.check_id, e.title)
                    assert ALICE["password"] not in text, (v.check_id, e.title)


# -- the browser probe on a local page: scope and form discovery (no sample needed) ------------------
PAGES = {
    "/login": (
        '<form action="/go"><input name="user"><input name="password" id="pw" placeholder="密码">'
        '<button>登录</button></form><script src="http://192.0.2.1/track.js"></script>'
        '<img src="https://example.invalid/pixel.png">'
    ),
    "/good": '<form autocomplete="off"><input name="u"><input type="password" name="p"></form>',
}


@pytest.fixture
def local_site():
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class H(BaseHTTPRequestHandler):
        def do_GET(self):
            body = PAGES.get(self.path.split("?")[0], "<p>ok</p>").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_browser_stays_in_scope_and_finds_an_unmasked_password_field(local_site):
    from harness.deploy.scope import ScopeGuard
    from harness.probes.browser import ScopedBrowser, fill_login_form

    guard = ScopeGuard()
    guard.allow("127.0.0.1", [int(local_site.rsplit(":", 1)[1])])
    b = ScopedBrowser(guard)
    try:
        with b.page() as (page, log):
            _el, field = fill_login_form(page, local_site + "/login", "alice", "s3cret!")
            page.wait_for_load_state("load")
            assert field.found and field.input_type == "text" and field.effective_autocomplete == "on"
            assert sorted(log.refused) == ["http://192.0.2.1/track.js", "https://example.invalid/pixel.png"]
            assert all(u.startswith(local_site) for u in log.requested)
        with b.page() as (page, _log):
            _el, field = fill_login_form(page, local_site + "/good", "alice", "s3cret!")
            assert field.input_type == "password" and field.effective_autocomplete == "off"
    finally:
        b.close()
