"""The lab database (SQLAlchemy): the single truth a report is rendered from."""

from harness.store.db import engine, session
from harness.store.models import Base, Evidence, Report, Run, Sample, Verdict

__all__ = ["Base", "Evidence", "Report", "Run", "Sample", "Verdict", "engine", "session"]
