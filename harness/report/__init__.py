"""The type-test report: built from the lab record (harness.results), numbered, rendered, signed,
verified. By job: build (the content) -> folder (a revision's folder) -> workflow (a run's report) ->
lifecycle (signing, revisions, submission) -> records (engineers' records, waivers); verify (a
folder and its run's record), prior (an earlier report offered), deadline (the calendar)."""

from __future__ import annotations

from harness.report.terms import ReportError
from harness.report.workflow import WrittenReport, create_report

__all__ = ["ReportError", "WrittenReport", "create_report"]
