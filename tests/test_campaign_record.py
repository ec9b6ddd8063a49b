"""The lab hosts' side of the record, on SQLite and PostgreSQL, in-process: unit reservations with
leases, claims that let a job delivered twice run once, recovery of a job whose worker died, the
lease-keeping heartbeat, the evidence store, and a run narrowed to one model on a named unit."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from harness import results
from harness.config import lab_config
from harness.deploy.inventory import targets_for
from harness.hosts.campaign import CampaignOptions, exit_code, plan_jobs
from harness.hosts.settings import queue_for
from harness.plan import PlanError
from harness.results import EvidenceRef, JobStatus, NewJob, RunStatus, utcnow
from harness.results.db import session
from harness.results.evidence_store import EvidenceStoreError, FolderStore
from harness.results.models import Job
from harness.spec import load_spec
from tests.conftest import ROOT, SPECS
from tests.lab_record import ENGINES, scratch_lab
from tests.test_results import a_run, verdict

LEASE = timedelta(seconds=30)


@pytest.fixture(params=ENGINES)
def lab(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("HARNESS_EVIDENCE_STORE", raising=False)
    with scratch_lab(request.param, tmp_path) as url:
        results.open_lab()
        yield url


def new_job(target: str = "LT-POS-A1", max_attempts: int = 2) -> NewJob:
    queue = queue_for("terminal", target)
    return NewJob("/specs/x.yaml", "样品 1.0", "terminal", target, queue, ["5.txn.replay"], None, max_attempts)


def a_campaign(*jobs: NewJob) -> list[results.JobRecord]:
    _, recorded = results.create_campaign({"backend": "terminal"}, list(jobs) or [new_job()], utcnow())
    return recorded


def silence(job_id: str, for_: timedelta) -> None:
    """The job's worker stopped reporting this long ago."""
    with session() as s:
        s.execute(update(Job).where(Job.id == job_id).values(heartbeat=utcnow() - for_))


# -- the migration ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("engine", ENGINES)
def test_a_lab_record_at_the_previous_head_gains_the_hosts_tables_and_keeps_what_it_holds(
    engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, inspect, text

    from harness.results.db import HEAD

    monkeypatch.delenv("HARNESS_EVIDENCE_STORE", raising=False)
    with scratch_lab(engine, tmp_path) as url:
        (tmp_path / "data").mkdir()
        cfg = Config()
        cfg.set_main_option("script_location", "harness.results:migrations")
        old = create_engine(url)
        with old.connect() as conn:  # a lab record as main's code made it (revision 0003)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0003")
            conn.execute(text("INSERT INTO counters (name, value) VALUES ('sample:2026', 7)"))
            conn.commit()
        old.dispose()

        results.open_lab()
        assert results.next_sample_id(2026) == "S-2026-0008", "what the record held is kept"
        assert results.create_campaign({}, [new_job()], utcnow())[1][0].status == JobStatus.QUEUED
        with results.open_lab().connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD == "0004"
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0003")  # and back: the hosts' tables go, nothing else
            conn.commit()
            tables = set(inspect(conn).get_table_names())
        assert not tables & {"lab_workers", "campaigns", "jobs", "reservations"} and "counters" in tables


# -- reservations ---------------------------------------------------------------------------------------
def test_a_unit_is_held_by_one_job_until_released_or_its_lease_runs_out(lab):
    now = utcnow()
    assert results.reserve_unit("U1", "LT-POS-A1", "J-1", "host-a", now, LEASE)
    assert not results.reserve_unit("U1", "LT-POS-A1", "J-2", "host-b", now, LEASE)
    assert results.reserve_unit("U1", "LT-POS-A1", "J-1", "host-a", now, LEASE), "the holder keeps it"
    assert results.reserve_unit("U2", "LT-POS-A1", "J-2", "host-b", now, LEASE), "another unit is free"
    assert results.renew_reservation("U1", "J-1", now, LEASE)
    assert not results.renew_reservation("U1", "J-2", now, LEASE)

    later = now + LEASE + timedelta(seconds=1)  # J-1's holder died: its lease ran out
    assert results.reserve_unit("U1", "LT-POS-A1", "J-3", "host-c", later, LEASE)
    assert not results.renew_reservation("U1", "J-1", later, LEASE), "the dead holder learns it lost the unit"
    assert {(r.unit_id, r.job_id) for r in results.reservations()} == {("U1", "J-3"), ("U2", "J-2")}

    results.release_unit("U1", "J-1")  # not the holder: nothing happens
    assert len(results.reservations()) == 2
    results.release_unit("U1", "J-3")
    assert results.drop_expired_reservations(later + LEASE * 2) == ["U2"]
    assert results.reservations() == []


def test_concurrent_reservations_of_one_unit_give_it_to_exactly_one_job(lab):
    now = utcnow()
    with ThreadPoolExecutor(6) as pool:
        won = list(pool.map(lambda n: results.reserve_unit("U1", "M", f"J-{n}", f"w{n}", now, LEASE), range(6)))
    assert won.count(True) == 1


# -- claims --------------------------------------------------------------------------------------------
def test_an_attempt_is_claimed_once_whatever_the_broker_delivers(lab):
    (job,) = a_campaign()
    assert job.status == JobStatus.QUEUED and job.attempt == 1
    claimed = results.claim_job(job.id, 1, "host-a", utcnow())
    assert claimed is not None and claimed.status == JobStatus.RUNNING and claimed.worker == "host-a"
    assert results.claim_job(job.id, 1, "host-b", utcnow()) is None, "a second delivery runs nothing"
    assert results.claim_job(job.id, 2, "host-b", utcnow()) is None, "no attempt 2 was queued"
    assert results.renew_job(job.id, 1, "host-a", utcnow())
    assert not results.renew_job(job.id, 1, "host-b", utcnow())
    assert results.finish_job(job.id, 1, "host-a", JobStatus.FINISHED, utcnow(), exit_code=0)
    assert not results.finish_job(job.id, 1, "host-a", JobStatus.ERROR, utcnow(), cause="late"), "ends once"
    assert results.claim_job(job.id, 1, "host-b", utcnow()) is None, "an ended job is never run again"


def test_concurrent_deliveries_of_one_attempt_run_it_once(lab):
    (job,) = a_campaign()
    with ThreadPoolExecutor(4) as pool:
        claims = list(pool.map(lambda n: results.claim_job(job.id, 1, f"host-{n}", utcnow()), range(4)))
    assert sum(c is not None for c in claims) == 1


# -- a worker that dies mid-job -------------------------------------------------------------------------
def test_a_job_whose_worker_died_is_queued_again_its_run_aborted_and_its_unit_freed(lab):
    (job,) = a_campaign()
    run_id = a_run()
    results.claim_job(job.id, 1, "host-a", utcnow())
    results.note_job(job.id, 1, "host-a", run_id=run_id)
    results.record_verdict(run_id, verdict("c0", results.Outcome.PASS))
    assert results.reserve_unit("LT-POS-A1-U01", "LT-POS-A1", job.id, "host-a", utcnow(), LEASE)

    assert results.recover_jobs(utcnow(), LEASE, {job.queue: ["host-b"]}) == [], "a job within its lease is alive"
    silence(job.id, LEASE + timedelta(seconds=1))
    (again,) = results.recover_jobs(utcnow(), LEASE, {job.queue: ["host-b"]})
    assert again.status == JobStatus.QUEUED and again.attempt == 2 and again.worker is None and again.run_id is None
    (lost,) = again.history
    assert lost["worker"] == "host-a" and lost["run_id"] == run_id and "stopped reporting" in lost["cause"]
    run = results.get_run(run_id)
    assert run is not None and run.status == RunStatus.ABORTED and "host-a" in (run.end_reason or "")
    assert len(results.verdicts_of(run_id)) == 1 and results.verify_run(run_id).ok, "what it recorded is kept"
    assert results.reservations() == []
    assert results.recover_jobs(utcnow(), LEASE, {job.queue: ["host-b"]}) == [], "recovered once"
    assert results.claim_job(job.id, 1, "host-a", utcnow()) is None, "the dead attempt's message is stale"
    assert results.claim_job(job.id, 2, "host-b", utcnow()) is not None


def test_a_dead_workers_job_with_no_retry_possible_ends_as_an_error_with_the_cause(lab):
    no_host, last_try = a_campaign(new_job("LT-POS-A1"), new_job("LT-POS-B2", max_attempts=1))
    for job in (no_host, last_try):
        results.claim_job(job.id, 1, "host-a", utcnow())
        silence(job.id, LEASE * 2)
    ended = {
        j.id: j for j in results.recover_jobs(utcnow(), LEASE, {last_try.queue: ["host-b"], no_host.queue: ["host-a"]})
    }
    assert ended[no_host.id].status == JobStatus.ERROR
    assert "no live worker serves LT-POS-A1" in (ended[no_host.id].cause or "")
    assert ended[last_try.id].status == JobStatus.ERROR and "no attempt left (1)" in (ended[last_try.id].cause or "")
    assert exit_code(list(ended.values())) == 3


def test_hosts_recovering_at_once_take_a_dead_job_over_once(lab):
    (job,) = a_campaign()
    results.claim_job(job.id, 1, "host-a", utcnow())
    silence(job.id, LEASE * 2)
    with ThreadPoolExecutor(4) as pool:
        changed = list(pool.map(lambda _: results.recover_jobs(utcnow(), LEASE, {job.queue: ["host-b"]}), range(4)))
    assert sum(len(c) for c in changed) == 1
    after = results.get_job(job.id)
    assert after is not None and after.attempt == 2 and len(after.history) == 1


def test_a_queued_job_no_live_worker_serves_ends_after_the_grace(lab):
    (job,) = a_campaign()
    campaign = job.campaign_id
    assert results.fail_unserved_jobs(utcnow(), LEASE, {}, campaign) == []
    assert results.fail_unserved_jobs(utcnow() + LEASE * 2, LEASE, {job.queue: ["host-b"]}, campaign) == []
    (ended,) = results.fail_unserved_jobs(utcnow() + LEASE * 2, LEASE, {}, campaign)
    after = results.get_job(ended.id)
    assert after is not None and after.status == JobStatus.ERROR
    assert "no live worker serves LT-POS-A1" in (after.cause or "")


def test_workers_are_alive_by_heartbeat_and_gone_when_stopped(lab):
    now = utcnow()
    results.register_worker("host-a@lab", "lab/boot", ["harness.unit.LT-POS-A1"], [{"id": "U1", "model": "A1"}], 1, now)
    results.register_worker("host-b@lab", "lab/boot", ["harness.backend.process"], [], 2, now - LEASE * 2)
    assert [w.name for w in results.live_workers(now, LEASE)] == ["host-a@lab"]
    assert results.beat_worker("host-b@lab", now)
    assert len(results.live_workers(now, LEASE)) == 2
    results.stop_worker("host-a@lab", now)
    assert [w.name for w in results.live_workers(now, LEASE)] == ["host-b@lab"]


def test_a_lease_heartbeat_that_finds_its_lease_taken_says_so_once(lab):
    (job,) = a_campaign()
    results.claim_job(job.id, 1, "host-a", utcnow())
    lost = []
    hb = results.Heartbeat(
        job.id,
        every=timedelta(seconds=0.05),
        renew=lambda: results.renew_job(job.id, 1, "host-a", utcnow()),
        on_lost=lambda: lost.append(1),
    ).start()
    try:
        # Another host takes the job over. The beating thread may renew between the silence and the
        # sweep (a busy machine): then the sweep rightly leaves the job alone, and the silence is redone.
        for _ in range(100):
            silence(job.id, LEASE * 2)
            if results.recover_jobs(utcnow(), LEASE, {job.queue: ["host-b"]}):
                break
        else:
            pytest.fail("the sweep never found the silenced job")
        assert hb.lost.wait(60)
    finally:
        hb.stop()  # joins the beating thread: a second on_lost would be in `lost` by now
    assert lost == [1]


# -- the evidence store ---------------------------------------------------------------------------------
def _evidence(run_id: str, name: str, content: bytes) -> EvidenceRef:
    import hashlib

    path = lab_config().run_dir(run_id) / "evidence" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return EvidenceRef("text", name, f"evidence/{name}", hashlib.sha256(content).hexdigest(), len(content))


def test_evidence_goes_to_the_store_as_recorded_and_comes_back_by_hash_on_another_host(
    lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("HARNESS_EVIDENCE_STORE", str(tmp_path / "store"))
    run_id = a_run()
    refs = [_evidence(run_id, f"e{i}.txt", f"观察 {i}".encode()) for i in range(2)]
    results.record_verdict(run_id, verdict("c", results.Outcome.PASS, tuple(refs)))
    stored = sorted(p.name for p in (tmp_path / "store").rglob("*") if p.is_file())
    assert stored == sorted(r.sha256 for r in refs)

    # Another host: the run folder there starts empty; the report's host fetches by hash.
    elsewhere = tmp_path / "other-host" / run_id
    assert results.materialise_evidence(run_id, elsewhere) == []
    assert results.verify_run(run_id, elsewhere).ok
    assert (elsewhere / "evidence/e1.txt").read_text(encoding="utf-8") == "观察 1"

    # A file that is there but changed is left as it is: the chain must still find it.
    (elsewhere / "evidence/e1.txt").write_text("改过", encoding="utf-8")
    assert results.materialise_evidence(run_id, elsewhere) == []
    assert (elsewhere / "evidence/e1.txt").read_text(encoding="utf-8") == "改过"
    assert any("evidence/e1.txt changed" in p for p in results.verify_run(run_id, elsewhere).problems)

    (tmp_path / "store" / "sha256" / refs[0].sha256[:2] / refs[0].sha256).unlink()
    (elsewhere / "evidence/e0.txt").unlink()
    (missing,) = results.materialise_evidence(run_id, elsewhere)
    assert "evidence/e0.txt" in missing and refs[0].sha256 in missing


def test_a_store_that_gives_other_content_never_replaces_a_file(tmp_path: Path):
    store = FolderStore(tmp_path / "store")
    src = tmp_path / "a.txt"
    src.write_bytes(b"evidence")
    import hashlib

    sha = hashlib.sha256(b"evidence").hexdigest()
    store.put(src, sha)
    (tmp_path / "store" / "sha256" / sha[:2] / sha).write_bytes(b"tampered")
    dest = tmp_path / "out" / "a.txt"
    with pytest.raises(EvidenceStoreError, match="other content"):
        store.get(sha, dest)
    assert not dest.exists()
    assert not store.get("0" * 64, dest)


def test_an_unwritable_store_stops_the_verdict_from_being_recorded(lab, tmp_path: Path, monkeypatch):
    blocker = tmp_path / "store"
    blocker.write_text("a file where the store's folder should be")
    monkeypatch.setenv("HARNESS_EVIDENCE_STORE", str(blocker))
    run_id = a_run()
    with pytest.raises(EvidenceStoreError, match="cannot be written"):
        results.record_verdict(run_id, verdict("c", results.Outcome.PASS, (_evidence(run_id, "e.txt", b"x"),)))
    assert results.verdicts_of(run_id) == []


# -- planning jobs -----------------------------------------------------------------------------------
def test_a_terminal_sample_is_one_job_per_model_each_on_its_models_queue():
    jobs = plan_jobs([SPECS / "refpay.yaml"], CampaignOptions(backend="terminal", only=["5.txn.replay"]))
    assert [(j.target, j.queue) for j in jobs] == [
        ("LT-POS-A1", "harness.unit.LT-POS-A1"),
        ("LT-POS-B2", "harness.unit.LT-POS-B2"),
    ]
    assert all(j.only == ["5.txn.replay"] and Path(j.spec_path).is_absolute() for j in jobs)
    (process,) = plan_jobs([SPECS / "refpay.yaml"], CampaignOptions())
    assert (process.backend, process.queue) == ("process", "harness.backend.process")


def test_a_run_narrowed_to_one_model_uses_the_named_unit_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("HARNESS_INVENTORY", str(ROOT / "lab_env" / "inventory.yaml"))
    loaded = load_spec(SPECS / "refpay.yaml")
    (t,) = targets_for(loaded, "terminal", {"LT-POS-B2": "LT-POS-B2-U01"})
    assert t.model == "LT-POS-B2" and t.unit is not None and t.unit["id"] == "LT-POS-B2-U01"
    with pytest.raises(PlanError, match="no unit 'LT-POS-A1-U01' of"):
        targets_for(loaded, "terminal", {"LT-POS-B2": "LT-POS-A1-U01"})
    with pytest.raises(PlanError, match="not in the sample's hardware list"):
        targets_for(loaded, "terminal", {"LT-POS-Z9": "X"})


def test_an_s3_compatible_store_keeps_and_gives_back_evidence_by_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from tests.lab_hosts import seaweedfs_s3

    with scratch_lab("sqlite", tmp_path / "lab"), seaweedfs_s3(tmp_path / "s3", "evidence") as endpoint:
        monkeypatch.setenv("HARNESS_EVIDENCE_STORE", "s3://evidence/lab-1")
        monkeypatch.setenv("HARNESS_S3_ENDPOINT", endpoint)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "lab")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "lab")
        results.open_lab()
        run_id = a_run()
        refs = (_evidence(run_id, "pcap.txt", b"\x00capture"), _evidence(run_id, "log.txt", "日志".encode()))
        results.record_verdict(run_id, verdict("c", results.Outcome.PASS, refs))
        elsewhere = tmp_path / "other-host" / run_id
        assert results.materialise_evidence(run_id, elsewhere) == []
        assert (
            results.verify_run(run_id, elsewhere).ok
            and (elsewhere / "evidence/log.txt").read_bytes() == "日志".encode()
        )
        store = results.evidence_store.configured_store()
        assert store is not None and not store.get("0" * 64, tmp_path / "nothing")


def test_a_job_whose_units_here_are_all_busy_is_given_back_for_another_host(
    lab, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    from harness.hosts import job as job_module
    from tests.lab_hosts import inventory_of

    monkeypatch.setenv("HARNESS_INVENTORY", str(inventory_of(tmp_path / "host-a", ["LT-POS-A1"])))
    monkeypatch.setattr(job_module, "UNIT_TRIES", 2)
    monkeypatch.setenv("HARNESS_LEASE_S", "4.5")  # beats (and so the pause between tries) of 0.5 s
    (job,) = a_campaign()
    assert results.reserve_unit("LT-POS-A1-U01", "LT-POS-A1", "J-other", "host-b", utcnow(), LEASE)
    sent: list[tuple[str, int, str]] = []
    job_module.execute(job.id, 1, "host-a", requeue=lambda *a: sent.append(a))
    assert sent == [(job.id, 1, "harness.unit.LT-POS-A1")]
    after = results.get_job(job.id)
    assert after is not None and after.status == JobStatus.QUEUED and after.attempt == 1 and after.worker is None
    assert after.run_id is None and after.history == [], "nothing ran: no attempt was lost"
    assert [(r.unit_id, r.job_id) for r in results.reservations()] == [("LT-POS-A1-U01", "J-other")]
    assert results.claim_job(job.id, 1, "host-c", utcnow()) is not None, "another host can take it"


def test_long_jobs_are_acknowledged_late_one_at_a_time_and_never_handed_out_while_they_run(
    monkeypatch: pytest.MonkeyPatch,
):
    from harness.errors import InputError
    from harness.hosts.queue import configure, run_job
    from harness.hosts.settings import host_settings

    monkeypatch.setenv("HARNESS_JOB_MAX_S", "7200")
    monkeypatch.setenv("HARNESS_LEASE_S", "90")
    settings = host_settings()
    app = configure(settings)
    assert app.conf.task_acks_late and run_job.acks_late
    assert app.conf.worker_prefetch_multiplier == 1 and app.conf.worker_max_tasks_per_child == 1
    assert app.conf.broker_transport_options["visibility_timeout"] > 7200 + 90
    assert settings.heartbeat_every == timedelta(seconds=10)
    monkeypatch.setenv("HARNESS_LEASE_S", "soon")
    with pytest.raises(InputError, match="HARNESS_LEASE_S='soon': not a number"):
        host_settings()
