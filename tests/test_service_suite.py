"""Chapter 6 service quality: the latency check compares with what the sample declared."""

from __future__ import annotations

from tests.conftest import harness_cli
from tests.test_run_failures import run_id_of, variant, verdicts_of


def test_latency_passes_as_declared_and_fails_against_an_impossible_declaration(tmp_path):
    ok = harness_cli("run", str(variant(tmp_path, "ok", "")), "--only", "6.latency", "--no-report")
    assert ok.returncode == 0, ok.stdout[-2000:]
    strict = variant(tmp_path, "strict", "parameters: {latency_p95_ms: 0.01}\n")
    r = harness_cli("run", str(strict), "--only", "6.latency", "--no-report")
    assert r.returncode == 1, r.stdout[-2000:]
    (v,) = verdicts_of(run_id_of(r.stdout))
    assert v.outcome == "fail" and "exceeds the declared 0.01 ms" in v.detail
