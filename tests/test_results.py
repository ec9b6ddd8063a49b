"""The results room on SQLite and PostgreSQL: opening and migrating the lab database, numbering
under concurrent writers, the verdict hash chain, run liveness by heartbeat, report status."""

from __future__ import annotations

import hashlib
import importlib.util
import sqlite3
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text, update

from harness import results
from harness.errors import InputError
from harness.results import (
    EvidenceRef,
    LabDatabaseError,
    NewSample,
    Outcome,
    ReportStatus,
    RunStatus,
    StatusChangeRefused,
    VerdictInput,
    transition,
)
from harness.results.db import HEAD, forget_engines, session
from harness.results.models import Evidence, Run, Verdict
from harness.results.runs import LEASE, utcnow
from tests.lab_record import ENGINES, scratch_lab

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(params=ENGINES)
def lab(request: pytest.FixtureRequest, tmp_path: Path):
    with scratch_lab(request.param, tmp_path) as url:
        yield url


def new_sample(version: str = "1.0", received: date | None = None) -> NewSample:
    return NewSample(
        name="样品",
        version=version,
        applicant="申请方",
        producer="生产方",
        spec_path="/specs/x.yaml",
        spec_sha256=hashlib.sha256(version.encode()).hexdigest(),
        spec_snapshot={"sample": {"name": "样品"}},
        media=[],
        received=received or date(2026, 11, 2),
        retain_until=date(2028, 11, 2),
        observed={},
    )


def a_run() -> str:
    sample, _ = results.register_sample(new_sample())
    return results.open_run(sample.id, "full", {"host": "test"}).id


def verdict(check: str, outcome: Outcome, evidence: tuple[EvidenceRef, ...] = ()) -> VerdictInput:
    t = datetime(2026, 11, 2, 10, 0, 0, 123456)
    return VerdictInput(check, ("5.txn.replay",), "process", outcome, "", "观察", "seen", t, t, evidence)


# -- opening the lab database ----------------------------------------------------------------------
def test_a_new_data_directory_gets_a_current_database(lab):
    results.open_lab()
    with session() as s:
        assert s.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD
    assert {"samples", "runs", "verdicts", "counters"} <= set(inspect(results.open_lab()).get_table_names())


def test_head_is_alembics_head_and_migrations_match_the_models(lab):
    from alembic.autogenerate import compare_metadata
    from alembic.config import Config
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from harness.results.models import Base

    cfg = Config()
    cfg.set_main_option("script_location", "harness.results:migrations")
    assert ScriptDirectory.from_config(cfg).get_current_head() == HEAD
    with results.open_lab().connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diffs == [], diffs


def _v0_models():
    """The tables as the harness made them before migrations (a copy of that models module)."""
    spec = importlib.util.spec_from_file_location("store_models_v0", FIXTURES / "store_models_v0.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["store_models_v0"] = module
    spec.loader.exec_module(module)
    return module


def test_a_lab_database_made_by_the_previous_code_is_upgraded_in_place(tmp_path):
    with scratch_lab("sqlite", tmp_path) as url:
        v0 = _v0_models()
        db = tmp_path / "data" / "lab.db"
        db.parent.mkdir(parents=True)
        (tmp_path / "data" / "runs").mkdir()  # a lab with runs: nothing may be created silently
        old = create_engine(url)
        v0.Base.metadata.create_all(old)
        with old.begin() as c:
            # An even older one: summary_en was added to an existing database by the old code's ALTER.
            c.execute(text("ALTER TABLE verdicts DROP COLUMN summary_en"))
            c.execute(
                text(
                    "INSERT INTO samples VALUES ('S-2026-0007','n','1','a','p','x','h','{}','[]',"
                    "'2026-01-01','2028-01-01','registered','{}')"
                )
            )
            c.execute(
                text(
                    "INSERT INTO runs (id, sample_id, kind, started, status, plan, environment, deployments) "
                    "VALUES ('R-old','S-2026-0007','full','2026-01-01 10:00:00','finished','{}','{}','[]')"
                )
            )
            c.execute(
                text(
                    "INSERT INTO verdicts (run_id, check_id, clause_ids, model, outcome, summary, detail, started, "
                    "finished) VALUES ('R-old','c','[\"5.txn.replay\"]','process','fail','s','d',"
                    "'2026-01-01 10:00:00','2026-01-01 10:00:01')"
                )
            )
        old.dispose()

        results.open_lab()
        with session() as s:
            assert s.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD
            v = s.get(Verdict, 1)
            assert v is not None and v.outcome == "fail" and v.summary_en is None and v.chain_sha256 is None
            run = s.get(Run, "R-old")
            assert run is not None and run.status == "finished" and run.heartbeat is None
        # Numbering goes on after what the old database holds.
        assert results.next_sample_id(2026) == "S-2026-0008"
        check = results.verify_run("R-old")
        assert check.ok and check.unchained == 1  # recorded before the chain: reported, not faked


def test_a_lab_database_that_went_missing_is_never_silently_recreated(tmp_path):
    with scratch_lab("sqlite", tmp_path):
        results.open_lab()
        results.register_sample(new_sample())
        forget_engines()
        (tmp_path / "data" / "lab.db").unlink()
        with pytest.raises(LabDatabaseError, match=r"lab\.db is missing.*harness init"):
            results.open_lab()
        (tmp_path / "data" / "lab.db").write_bytes(b"")
        with pytest.raises(LabDatabaseError, match=r"is an empty file"):
            results.open_lab()
        results.open_lab(create=True)  # the explicit init
        assert results.list_samples() == []


def test_a_corrupted_lab_database_is_one_clear_lab_error(tmp_path):
    with scratch_lab("sqlite", tmp_path):
        db = tmp_path / "data" / "lab.db"
        db.parent.mkdir(parents=True)
        db.write_bytes(b"this is not a database, just some text a tool wrote here\n" * 10)
        with pytest.raises(LabDatabaseError, match="is corrupted"):
            results.open_lab()


def test_a_locked_lab_database_is_one_clear_lab_error(tmp_path, monkeypatch):
    with scratch_lab("sqlite", tmp_path):
        results.open_lab()
        forget_engines()
        monkeypatch.setenv("HARNESS_DB_BUSY_TIMEOUT_S", "0.2")
        holder = sqlite3.connect(tmp_path / "data" / "lab.db")
        holder.execute("BEGIN EXCLUSIVE")
        try:
            with pytest.raises(LabDatabaseError, match="is locked"):
                results.register_sample(new_sample())
        finally:
            holder.rollback()
            holder.close()


def test_an_empty_postgresql_database_where_a_lab_was_is_refused(tmp_path):
    with scratch_lab("postgresql", tmp_path):
        (tmp_path / "data" / "runs").mkdir(parents=True)  # this host has worked with a lab before
        with pytest.raises(LabDatabaseError, match=r"is empty.*harness init"):
            results.open_lab()
        results.open_lab(create=True)


def test_concurrent_openers_of_a_new_database_all_succeed(lab):
    # Several harnesses opening the same fresh database at once: one creates, the others wait.
    def open_in_own_engine(_: int) -> str:
        from harness.results.db import _open

        e = _open(lab, create=True)
        with e.connect() as c:
            v = c.execute(text("SELECT version_num FROM alembic_version")).scalar()
        e.dispose()
        return str(v)

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(open_in_own_engine, range(4))) == [HEAD] * 4


# -- numbers ---------------------------------------------------------------------------------------
def test_numbers_are_unique_under_concurrent_writers(lab):
    results.open_lab()
    with ThreadPoolExecutor(8) as pool:
        numbers = list(pool.map(lambda _: results.allocate_report_number("FTL", 2026), range(40)))
        samples = list(pool.map(lambda i: results.register_sample(new_sample(f"2.{i}"))[0].id, range(16)))
    assert sorted(numbers) == [f"FTL-2026-{n:04d}" for n in range(1, 41)]
    assert sorted(samples) == [f"S-2026-{n:04d}" for n in range(1, 17)]
    # The same submission registered twice at once is one registration.
    with ThreadPoolExecutor(4) as pool:
        again = {r[0].id for r in pool.map(lambda _: results.register_sample(new_sample("2.3")), range(4))}
    assert len(again) == 1


# -- the verdict chain -----------------------------------------------------------------------------
def _evidence(run_id: str, name: str, body: bytes) -> EvidenceRef:
    from harness.config import lab_config

    path = lab_config().run_dir(run_id) / "evidence" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    return EvidenceRef("text", name, f"evidence/{name}", hashlib.sha256(body).hexdigest(), len(body))


def test_the_chain_catches_an_edited_verdict_a_removed_row_and_a_changed_evidence_file(lab):
    run_id = a_run()
    for i, o in enumerate((Outcome.PASS, Outcome.FAIL, Outcome.PASS)):
        results.record_verdict(run_id, verdict(f"c{i}", o, (_evidence(run_id, f"e{i}.txt", b"x" * (i + 1)),)))
    ok = results.verify_run(run_id)
    assert ok.ok and ok.verdicts == 3 and ok.evidence_files == 3, ok.problems
    assert [v.outcome for v in results.verdicts_of(run_id)] == [Outcome.PASS, Outcome.FAIL, Outcome.PASS]

    with session() as s:  # someone turns the failure into a pass in the database
        s.execute(update(Verdict).where(Verdict.check_id == "c1").values(outcome="pass"))
    bad = results.verify_run(run_id)
    assert not bad.ok and any("c1" in p and "hash chain" in p for p in bad.problems), bad.problems
    with session() as s:
        s.execute(update(Verdict).where(Verdict.check_id == "c1").values(outcome="fail"))
    assert results.verify_run(run_id).ok

    # Hiding the evidence change by editing its recorded hash is caught by the chain too.
    from harness.config import lab_config

    (lab_config().run_dir(run_id) / "evidence" / "e2.txt").write_bytes(b"changed")
    assert any("e2.txt changed" in p for p in results.verify_run(run_id).problems)
    with session() as s:
        s.execute(
            update(Evidence)
            .where(Evidence.path == "evidence/e2.txt")
            .values(sha256=hashlib.sha256(b"changed").hexdigest())
        )
    assert any("c2" in p and "hash chain" in p for p in results.verify_run(run_id).problems)

    with session() as s:
        s.execute(update(Evidence).where(Evidence.check_id == "c0").values(verdict_id=None))
        s.execute(Verdict.__table__.delete().where(Verdict.check_id == "c0"))
    assert any("c1" in p for p in results.verify_run(run_id).problems)


def test_a_chained_run_whose_chain_values_were_blanked_is_not_verified(lab):
    run_id = a_run()
    results.record_verdict(run_id, verdict("c", Outcome.FAIL))
    with session() as s:
        s.execute(update(Verdict).values(chain_sha256=None, outcome="pass"))
    check = results.verify_run(run_id)
    assert not check.ok and "removed" in check.problems[0]


def test_verify_run_names_an_unknown_run():
    with pytest.raises(InputError, match="no run"):
        results.verify_run("R-nope")


# -- liveness ----------------------------------------------------------------------------------------
def test_runs_are_aborted_by_lease_not_by_another_hosts_pid(lab):
    live = a_run()
    stale = a_run()
    other_host = a_run()
    with session() as s:
        s.execute(update(Run).where(Run.id == stale).values(heartbeat=utcnow() - LEASE - timedelta(seconds=5)))
        # A run of another host: its PID means nothing here (there is no such process on this host).
        run = s.get(Run, other_host)
        assert run is not None
        run.environment = {**run.environment, "owner": "elsewhere/boot", "pid": 2**22 + 7}
    assert results.abort_stale_runs() == [stale]
    assert results.get_run(live).status == RunStatus.RUNNING
    assert results.get_run(other_host).status == RunStatus.RUNNING
    aborted = results.get_run(stale)
    assert aborted.status == RunStatus.ABORTED and "heartbeat" in (aborted.end_reason or "")


def test_a_dead_harness_on_this_host_is_noticed_at_once(lab):
    run_id = a_run()
    with session() as s:
        run = s.get(Run, run_id)
        assert run is not None
        run.environment = {**run.environment, "pid": 2**22 + 7}  # no such process
    assert results.abort_stale_runs() == [run_id]


def test_the_heartbeat_keeps_a_run_alive(lab):
    run_id = a_run()
    with session() as s:
        s.execute(update(Run).where(Run.id == run_id).values(heartbeat=utcnow() - timedelta(hours=1)))
    hb = results.Heartbeat(run_id, every=timedelta(seconds=0.05)).start()
    try:
        done = threading.Event()
        for _ in range(100):
            rec = results.get_run(run_id)
            if rec and rec.heartbeat and rec.heartbeat > utcnow() - timedelta(seconds=30):
                done.set()
                break
            threading.Event().wait(0.05)
        assert done.is_set()
    finally:
        hb.stop()
    assert results.abort_stale_runs() == []


def test_closing_a_run_happens_once_unless_forced(lab):
    run_id = a_run()
    assert results.close_run(run_id, RunStatus.FINISHED)
    assert not results.close_run(run_id, RunStatus.ABORTED, "late")
    assert results.close_run(run_id, RunStatus.ABORTED, "interrupted (SIGTERM)", force=True)
    rec = results.get_run(run_id)
    assert rec.status == RunStatus.ABORTED and rec.end_reason == "interrupted (SIGTERM)"


def test_the_plan_is_loaded_as_it_was_saved(lab):
    from harness.plan import Plan, PlannedItem, Target

    run_id = a_run()
    with pytest.raises(InputError, match="has no plan"):
        results.load_plan(run_id)
    plan = Plan(
        "JR/T 0199-2020",
        [PlannedItem("5.txn.replay", "5", "automated", True, None, ["t::c"])],
        [Target("process", "process")],
        None,
        [PlannedItem("UC-01", "F", "automated", False, "无", [])],
    )
    results.save_plan(run_id, plan)
    assert results.load_plan(run_id) == plan


# -- report status --------------------------------------------------------------------------------
def test_report_status_moves_only_along_its_transitions():
    assert transition("draft", "prepared") == ReportStatus.PREPARED
    assert transition(ReportStatus.REVIEWED, ReportStatus.DRAFT) == ReportStatus.DRAFT  # reopened
    assert transition("approved", "superseded") == ReportStatus.SUPERSEDED
    for old, new in (("draft", "approved"), ("approved", "draft"), ("superseded", "approved"), ("draft", "final")):
        with pytest.raises(StatusChangeRefused):
            transition(old, new)
    assert all(s.frozen for s in (ReportStatus.APPROVED, ReportStatus.SUBMITTED, ReportStatus.SUPERSEDED))
    assert not ReportStatus.REVIEWED.frozen


def test_checks_whose_long_names_differ_only_at_the_end_keep_their_evidence_apart(tmp_path):
    # Two examples of one scenario outline: a shared folder let one overwrite the other's evidence,
    # which verify_run then (rightly) reported as changed after it was recorded.
    from harness.evidence import EvidenceRecorder

    base = "test_suites/functional/test_use_cases.py::test_UC_04_2[<bob.\\u8d26\\u53f7>-<\\u5355\\u7b14\\u9650\\u989d>"
    first = EvidenceRecorder(tmp_path, base + "-1]", "process")
    second = EvidenceRecorder(tmp_path, base + "-2]", "process")
    assert first.dir != second.dir
    a, b = first.attach_text("场景步骤记录", "one"), second.attach_text("场景步骤记录", "two")
    assert (tmp_path / a.path).read_text() == "one" and (tmp_path / b.path).read_text() == "two"
