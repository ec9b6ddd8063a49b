"""What a run writes besides the lab record: allure results (labels and evidence attachments, for
browsing a run) and pytest's JUnit XML. Neither is a record; once the data disk is full they are
given up, so a clean stop never becomes an INTERNALERROR."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.evidence import EvidenceRecorder


def allure_labels(clause_ids: tuple[str, ...], basis: str | None, sample: str, model: str) -> None:
    """Label the current check in the allure results: its clauses, chapter, severity, sample and model."""
    try:
        import allure
    except ImportError:
        return
    from harness.catalogue import load_catalogue

    cat = load_catalogue(basis or "JR/T 0199-2020")
    for cid in clause_ids:
        allure.dynamic.label("clause", cid)
        if cid in cat.ids():
            it = cat.item(cid)
            allure.dynamic.label("chapter", f"{it.chapter} {cat.chapter(it.chapter).title}")
            allure.dynamic.severity({"critical": "critical", "major": "normal", "minor": "minor"}[it.severity])
    allure.dynamic.label("sample", sample)
    allure.dynamic.label("model", model)
    allure.dynamic.parameter("model", model)  # keeps the same check on two models apart


def attach_to_allure(rec: EvidenceRecorder | None, run_dir: Path) -> None:
    if rec is None:
        return
    try:
        import allure
    except ImportError:
        return
    for e in rec.items:
        try:
            allure.attach.file(str(run_dir / e.path), name=e.title)
        except Exception:  # noqa: BLE001 - allure not active in this session; the lab DB has it
            return


def drop_side_outputs(config: pytest.Config) -> None:
    """The JUnit XML and allure results are written to the same data disk: once it is full they
    would turn a clean stop into an INTERNALERROR, so they are given up (the lab record says why)."""
    from _pytest.junitxml import LogXML

    for plugin in config.pluginmanager.get_plugins():
        if isinstance(plugin, LogXML):
            plugin.logfile = os.devnull  # it unregisters itself at the end; it just writes nowhere
    try:
        import allure_commons
        from allure_commons.logger import AllureFileLogger
    except ImportError:
        return
    for plugin in allure_commons.plugin_manager.get_plugins():
        if isinstance(plugin, AllureFileLogger):
            allure_commons.plugin_manager.unregister(plugin)
