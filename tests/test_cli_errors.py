"""One handler for every command: bad input exits 2, a lab error 3, anything unexpected 3 with one
line and its traceback in a log file; never 1 (a product failure) for a harness crash. Console
output is plain text: no Rich markup, no emoji codes."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from harness import results
from harness.cli import main
from harness.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_LAB_ERROR, EXIT_PRODUCT_FAIL, run_exit_code
from tests.lab_record import scratch_lab
from tests.test_results import new_sample


def run_cli(*args: str) -> int:
    with pytest.raises(SystemExit) as ended:
        main(list(args))
    return int(ended.value.code or 0)


@pytest.fixture
def lab(tmp_path: Path):
    with scratch_lab("sqlite", tmp_path):
        yield tmp_path


def test_an_unexpected_exception_is_one_line_exit_3_and_a_crash_log(lab, monkeypatch, capsys):
    def broken() -> list[results.SampleRecord]:
        return {}["no such key"]  # type: ignore[return-value]

    monkeypatch.setattr(results, "list_samples", broken)
    assert run_cli("samples") == EXIT_LAB_ERROR
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2, err
    assert err[0] == (
        "error: the harness failed unexpectedly (a lab error, not a product failure): KeyError: 'no such key'"
    )
    log = Path(re.sub(r"^error: the traceback is in ", "", err[1]))
    assert log.is_relative_to(lab / "data" / "logs")
    text = log.read_text(encoding="utf-8")
    assert "Traceback" in text and "in broken" in text


def test_a_lab_error_and_bad_input_keep_their_codes(lab, capsys):
    assert run_cli("spec", "check", str(lab / "no-such.yaml")) == EXIT_BAD_INPUT
    assert "no such spec file" in capsys.readouterr().err
    (lab / "data").mkdir(parents=True, exist_ok=True)
    (lab / "data" / "lab.db").write_text("not a database")
    assert run_cli("samples") == EXIT_LAB_ERROR
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: the lab database {lab / 'data' / 'lab.db'} is corrupted: it is not an SQLite database file"]


def test_a_missing_lab_database_needs_an_explicit_init(lab, capsys):
    (lab / "data" / "runs" / "R-1").mkdir(parents=True)  # a lab worked here
    assert run_cli("samples") == EXIT_LAB_ERROR
    assert "is missing" in capsys.readouterr().err
    assert run_cli("init") == 0
    assert "lab database ready" in capsys.readouterr().out
    assert run_cli("samples") == 0


def test_an_interrupted_command_exits_130(lab, monkeypatch):
    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(results, "list_samples", interrupted)
    assert run_cli("samples") == EXIT_INTERRUPTED


def test_output_is_never_read_as_markup_or_emoji_codes(lab, capsys):
    assert run_cli("spec", "check", "sample:100:[bold]x[/bold].yaml") == EXIT_BAD_INPUT
    assert "sample:100:[bold]x[/bold].yaml" in capsys.readouterr().err
    results.open_lab()
    results.register_sample(replace(new_sample(), name="[red]支付[/red] :100: :smile:"))
    assert run_cli("samples") == 0
    assert "[red]支付[/red] :100: :smile:" in capsys.readouterr().out


def test_run_endings_map_to_exit_codes_in_one_place():
    common = {"interrupted": False, "bad_input": False, "aborted": False}
    assert run_exit_code(**common, counts={"pass": 3}) == 0
    assert run_exit_code(**common, counts={"pass": 3, "fail": 1}) == EXIT_PRODUCT_FAIL
    assert run_exit_code(**common, counts={"fail": 1, "error": 1}) == EXIT_LAB_ERROR
    assert run_exit_code(**common, counts={}) == EXIT_LAB_ERROR
    assert run_exit_code(**common, counts={}, nothing_planned=True) == 0
    assert run_exit_code(**{**common, "aborted": True}, counts={"pass": 3}) == EXIT_LAB_ERROR
    assert run_exit_code(**{**common, "aborted": True, "interrupted": True}, counts={"pass": 3}) == EXIT_INTERRUPTED
