"""Compatibility: the tables are in harness.results.models."""

from harness.results.models import (
    Base,
    Counter,
    Evidence,
    ItemRecord,
    Report,
    ReportEvent,
    ReportManifest,
    Run,
    Sample,
    Verdict,
    Waiver,
)

__all__ = [
    "Base",
    "Counter",
    "Evidence",
    "ItemRecord",
    "Report",
    "ReportEvent",
    "ReportManifest",
    "Run",
    "Sample",
    "Verdict",
    "Waiver",
]
