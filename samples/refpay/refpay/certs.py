"""Self-signed certificate generation via the openssl CLI (kept out of Python
so the sample needs no crypto library)."""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
from pathlib import Path


class CertError(Exception):
    pass


def san_entry(name: str) -> str:
    """An address or a host name as a subjectAltName entry."""
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return f"DNS:{name}"
    return f"IP:{name}"


def make_self_signed(cert_path: Path, key_path: Path, extra_names: tuple[str, ...] = ()) -> None:
    """A 30-day self-signed certificate for localhost and any names the install gives (the address
    the service is reached at on a terminal unit)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise CertError("openssl CLI not found in PATH; install the 'openssl' package")
    tmp_cert, tmp_key = (
        cert_path.with_suffix(".pem.tmp"),
        key_path.with_suffix(".pem.tmp"),
    )
    cmd = [
        openssl,
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "30",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName="
        + ",".join(dict.fromkeys(["DNS:localhost", "IP:127.0.0.1", "IP:::1", *map(san_entry, extra_names)])),
        "-keyout",
        str(tmp_key),
        "-out",
        str(tmp_cert),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        for tmp in (tmp_cert, tmp_key):
            tmp.unlink(missing_ok=True)
        raise CertError(f"openssl failed ({result.returncode}): {result.stderr.strip()}")
    os.chmod(tmp_key, 0o600)
    # Replace atomically so a half-written pair is never left behind.
    os.replace(tmp_key, key_path)
    os.replace(tmp_cert, cert_path)
