"""A scratch lab for the report tests: the reference sample registered, and a finished run of it
whose plan holds the given checks (nothing deployed: the tests record what those checks would)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import SPECS


def scratch_report_lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, checks: dict[str, str] | None = None) -> str:
    """The run's ID. `checks`: check ID -> the catalogue item it decides."""
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HARNESS_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("HARNESS_LAB_CONFIG", str(tmp_path / "lab.yaml"))
    monkeypatch.delenv("HARNESS_DB_URL", raising=False)
    from harness.deploy.inventory import targets_for
    from harness.intake import tree_sha256
    from harness.plan import CheckRef, build_plan
    from harness.results import save_plan
    from harness.results.db import forget_engines
    from harness.runs import open_run
    from harness.spec import load_spec

    forget_engines()
    data = yaml.safe_load((SPECS / "refpay.yaml").read_text(encoding="utf-8"))
    media = [
        {**m, "path": str((SPECS / m["path"]).resolve()), "sha256": tree_sha256((SPECS / m["path"]).resolve())}
        for m in data["media"]
    ]
    spec = tmp_path / "refpay.yaml"
    spec.write_text(yaml.safe_dump({"extends": str(SPECS / "refpay.yaml"), "media": media}, allow_unicode=True))
    loaded = load_spec(spec)
    run = open_run(loaded)
    refs = [CheckRef(c, (item,)) for c, item in (checks or {}).items()]
    save_plan(run.id, build_plan(loaded, refs, targets_for(loaded, "process")))
    (tmp_path / "run_id").write_text(run.id)
    return run.id
