"""The type-test report: built from the lab database, numbered, rendered, signed, verified."""

from __future__ import annotations

from harness.report.build import ReportError
from harness.report.workflow import WrittenReport, create_report

__all__ = ["ReportError", "WrittenReport", "create_report"]
