"""The plugin's one verdict hook, in-process with pytester: an assertion is a fail, anything else is
an error, a pass needs evidence, only a not-applicable skip is not applicable, a setup failure is an
error, and nothing passes on a sample that died (recorded once, every later check an error)."""

from __future__ import annotations

import re

import pytest

from harness import results
from harness.results import Outcome
from tests.conftest import SPECS

pytest_plugins = ["pytester"]

# A backend whose sample lives in this process: checks can make it "die" (exit status 7).
FAKE_BACKEND = """
from dataclasses import dataclass
from harness.deploy.base import Deployer, Deployment, register

STATE = {"alive": True}


@dataclass
class FakeDeployment(Deployment):
    def logs(self):
        return "fake sample output\\nlast words: out of memory"

    def read_file(self, relative):
        raise FileNotFoundError(relative)

    def alive(self):
        return STATE["alive"]

    def exit_status(self):
        return None if STATE["alive"] else 7


@register("fake")
class FakeDeployer(Deployer):
    def deploy(self, loaded, target, workdir):
        STATE["alive"] = True
        workdir.mkdir(parents=True, exist_ok=True)
        return FakeDeployment(target=target, host="127.0.0.1", ports={"https": 1}, workdir=workdir)

    def teardown(self, deployment):
        STATE["alive"] = False  # an orderly stop: the sample is gone after it, as a real one is
"""

OUTCOMES = """
import pytest
from harness.verdicts import not_applicable


@pytest.fixture
def broken_fixture():
    raise RuntimeError("the probe could not start")


@pytest.mark.clause("5.txn.replay")
def test_assertion(evidence):
    evidence.observe("重放的交易被接受")
    assert False, "replayed transfer accepted"


@pytest.mark.clause("5.txn.replay")
def test_other_exception(evidence):
    evidence.observe("开始")
    raise ConnectionError("connection refused")


@pytest.mark.clause("5.txn.replay")
def test_pass_without_evidence(evidence):
    pass


@pytest.mark.clause("5.txn.replay")
def test_pass_with_evidence(evidence):
    evidence.observe("重放的交易被拒绝")


@pytest.mark.clause("5.txn.replay")
def test_not_applicable(evidence):
    not_applicable("样品未声明签名")


@pytest.mark.clause("5.txn.replay")
def test_not_applicable_in_english(evidence):
    evidence.observe("余额 5", en="balance 5")
    not_applicable("中文", en="English")


@pytest.mark.clause("5.txn.replay")
def test_plain_skip(evidence):
    pytest.skip("tool missing")


@pytest.mark.clause("5.txn.replay")
def test_setup_failure(evidence, broken_fixture):
    evidence.observe("never")


@pytest.mark.clause("5.txn.replay")
def test_last_check(evidence):
    evidence.observe("the last check of a target ends before the sample is stopped")
"""

DEATH = """
from conftest import STATE


def test_before(evidence):
    evidence.observe("样品应答正常")


def test_kills_the_sample_and_sees_nothing(evidence):
    STATE["alive"] = False
    evidence.observe("监听 0 个端口")  # what an exposure check sees on a dead sample


def test_after_one(evidence):
    evidence.observe("would pass")


def test_after_two(evidence):
    raise ConnectionError("connection refused")
"""


def _run(pytester: pytest.Pytester, checks: str) -> tuple[str, dict[str, results.VerdictRecord]]:
    pytester.makeconftest(FAKE_BACKEND)
    pytester.makepyfile(test_checks=checks)
    res = pytester.runpytest_inprocess(f"--sample-spec={SPECS / 'refpay.yaml'}", "--harness-backend=fake", "-q")
    out = res.stdout.str()
    m = re.search(r"harness run (R-[\w-]+):", out)
    assert m, out
    run_id = m.group(1)
    by_name = {v.check_id.split("::")[-1]: v for v in results.verdicts_of(run_id)}
    return run_id, by_name


def test_the_hook_turns_each_ending_into_its_verdict(pytester):
    run_id, v = _run(pytester, OUTCOMES)
    assert v["test_assertion"].outcome == Outcome.FAIL
    assert "replayed transfer accepted" in v["test_assertion"].detail
    assert v["test_other_exception"].outcome == Outcome.ERROR
    assert "ConnectionError" in v["test_other_exception"].detail
    assert v["test_pass_without_evidence"].outcome == Outcome.ERROR
    assert "left no evidence" in v["test_pass_without_evidence"].detail
    assert v["test_pass_with_evidence"].outcome == Outcome.PASS
    assert v["test_pass_with_evidence"].summary == "重放的交易被拒绝"
    assert v["test_not_applicable"].outcome == Outcome.NOT_APPLICABLE
    assert v["test_not_applicable"].detail == "样品未声明签名"
    assert v["test_not_applicable"].summary_en == ""  # no English given: none recorded
    # The English reason goes on record apart from the Chinese detail, and is what the N/A states.
    na_en = v["test_not_applicable_in_english"]
    assert (na_en.outcome, na_en.detail, na_en.summary_en) == (Outcome.NOT_APPLICABLE, "中文", "English")
    assert v["test_plain_skip"].outcome == Outcome.ERROR and "tool missing" in v["test_plain_skip"].detail
    assert v["test_setup_failure"].outcome == Outcome.ERROR
    assert "the probe could not start" in v["test_setup_failure"].detail
    # The last check's teardown stops the sample: that orderly stop is not a death.
    assert v["test_last_check"].outcome == Outcome.PASS, v["test_last_check"].detail
    run = results.get_run(run_id)
    assert run is not None and run.status == results.RunStatus.FINISHED and run.plan is not None
    assert not [d for d in run.deployments if "died" in d]
    assert results.verify_run(run_id).ok


def test_nothing_passes_on_a_sample_that_died(pytester):
    death = DEATH.replace("def test_", '@pytest.mark.clause("5.txn.replay")\ndef test_')
    run_id, v = _run(pytester, "import pytest\n" + death)
    assert v["test_before"].outcome == Outcome.PASS
    # The check during which it died saw "0 ports" and would have passed: it cannot.
    died = v["test_kills_the_sample_and_sees_nothing"]
    assert died.outcome == Outcome.ERROR and "样品已停止运行（退出状态 7）" in died.detail
    for name in ("test_after_one", "test_after_two"):
        assert v[name].outcome == Outcome.ERROR, name
        assert v[name].detail.startswith("样品已停止运行（退出状态 7）"), v[name].detail
        assert "ConnectionError" not in v[name].detail  # the cause, not what it caused
    # Recorded once, with its exit status and output.
    run = results.get_run(run_id)
    assert run is not None
    died_info = [d["died"] for d in run.deployments if "died" in d]
    assert len(died_info) == 1 and died_info[0]["exit_status"] == 7
    from harness.config import lab_config

    kept = (lab_config().run_dir(run_id) / "deploy" / "fake" / "sample-died.txt").read_text(encoding="utf-8")
    assert "exit status: 7" in kept and "out of memory" in kept
