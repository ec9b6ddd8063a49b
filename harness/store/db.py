"""Compatibility: opening the lab database is harness.results.db's job."""

from harness.results.db import engine, session

__all__ = ["engine", "session"]
