"""Compatibility: the lab database now lives in harness.results (the results room). These names
stay importable for code not yet moved there (the report workflow); new code uses harness.results."""

from harness.results.db import engine, session
from harness.results.models import Base, Evidence, Report, Run, Sample, Verdict

__all__ = ["Base", "Evidence", "Report", "Run", "Sample", "Verdict", "engine", "session"]
