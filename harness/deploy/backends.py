"""Imports every backend module so each registers itself. A new backend is one file and one line."""

from harness.deploy import container, process  # noqa: F401
