"""Setting up a lab's configuration file: the example copied into place and a lab-made test
certificate for signing reports (`harness lab init`, run by lab_env/setup.sh)."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from harness.config import PROJECT_ROOT, lab_config_path, lab_identity
from harness.report.signing import make_test_certificate

EXAMPLE = PROJECT_ROOT / "lab_env" / "lab.example.yaml"


def init_lab_config(path: Path | None = None, force: bool = False) -> tuple[Path, bool]:
    """(the configuration's path, whether it was written). An existing file is kept unless `force`;
    the signing certificate it names is made when missing."""
    path = path or lab_config_path()
    made = False
    if force or not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(EXAMPLE, path)
        made = True
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    signing = data.get("signing") or {}
    cert = path.parent / str(signing.get("certificate", ""))
    key = path.parent / str(signing.get("key", ""))
    if signing and (force or not (cert.is_file() and key.is_file())):
        made_cert, made_key = make_test_certificate(
            cert.parent,
            "Report signing (lab test certificate)",
            data.get("name_en", "Laboratory"),
        )
        if made_cert != cert:
            made_cert.replace(cert)
        if made_key != key:
            made_key.replace(key)
        made = True
    lab_identity()  # a configuration that does not load is an error now, not at signing time
    return path, made
