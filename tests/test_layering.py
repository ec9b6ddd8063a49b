"""The rooms' layering holds (pyproject.toml [tool.importlinter]): the plan does not import deploy,
the report and the lab record do not import pytest, the library never imports the CLI, there are no
import cycles between the harness's rooms (nor inside the report room and the lab record), and no
module outside the lab record (harness.results) opens the lab database."""

from __future__ import annotations

import tomllib

from importlinter.cli import lint_imports

from tests.conftest import ROOT

REQUIRED = {
    "the plan does not know how anything is deployed",
    "the report and the lab record do not know pytest",
    "the lab record knows nothing above it",
    "the library never imports the CLI",
    "no import cycles between the harness's rooms",
    "no import cycles inside the report room and the lab record",
    "only the lab record opens the lab database",
}


def test_the_layering_contracts_hold(monkeypatch, capsys):
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert {c["name"] for c in config["tool"]["importlinter"]["contracts"]} >= REQUIRED
    monkeypatch.chdir(ROOT)
    code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.count("KEPT") >= len(REQUIRED)
