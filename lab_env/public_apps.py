#!/usr/bin/env python3
"""Public applications the lab calibrates its checks on: fetched from the package registries at
test time, never kept in the repository.

Each application has a folder under sample_specs/public/<app>/ with, per release, a pin file
(``pins-<version>.txt``: every artifact the install needs, by exact version and SHA-256) and the
sample spec written from the application's documentation. ``fetch`` downloads exactly those
artifacts (pip's hash-checking mode: a changed file on the registry is refused) into
.cache/public-apps/<app>-<version>/ with the pin file beside them as ``requirements.txt``: that
folder is the sample's medium, and its tree hash is what the spec declares.

An npm release is recorded from a ``package.json`` the lab writes (the application and any
dependency it must pin or override): ``pin`` resolves the whole tree once (``package-lock-<version>
.json``, every package with its registry integrity) and lists each package's integrity in the pin
file; ``fetch`` downloads every package's tarball (``npm pack``), refuses one whose SHA-512 is not
the pinned integrity, and writes the lock with each entry resolved to its local tarball, so the
sample installs with ``npm ci --offline`` from the medium alone.

    python3 lab_env/public_apps.py fetch [APP[-VERSION] ...]      # all when none is named
    python3 lab_env/public_apps.py pin APP VERSION REQUIREMENTS   # a lab engineer records a release
    python3 lab_env/public_apps.py pin APP VERSION package.json   # ... of an npm application
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PUBLIC = ROOT / "sample_specs" / "public"
CACHE = ROOT / ".cache" / "public-apps"


def pin_files(only: list[str]) -> list[tuple[str, str, Path]]:
    """(app, version, pin file) for every recorded release, or for those named (app or app-version)."""
    out = []
    for pins in sorted(PUBLIC.glob("*/pins-*.txt")):
        app, version = pins.parent.name, pins.stem.removeprefix("pins-")
        if not only or app in only or f"{app}-{version}" in only:
            out.append((app, version, pins))
    return out


def medium(app: str, version: str) -> Path:
    return CACHE / f"{app}-{version}"


def _build_env(requirements: Path, into: Path) -> dict[str, str]:
    """The environment for pip: an sdist among the artifacts (an old release often has no wheel for
    this Python) is built in an isolated environment whose build tools pip would otherwise take at
    their newest (Cython 3 does not build PyYAML 5.4.1). The list's own exact versions constrain
    them (a constraints file cannot carry hashes: pip would demand hashes of the build tools)."""
    lines = [re.sub(r"\s+--hash=\S+", "", ln).strip() for ln in requirements.read_text().splitlines()]
    into.write_text("\n".join(ln for ln in lines if ln and not ln.startswith("#")) + "\n")
    return {**os.environ, "PIP_CONSTRAINT": str(into)}


def fetch(app: str, version: str, pins: Path) -> Path:
    """Download the pinned artifacts (once: a complete folder is reused) and return the folder."""
    dest = medium(app, version)
    done = dest / ".complete"
    if done.exists() and (dest / "requirements.txt").read_bytes() == pins.read_bytes():
        return dest
    if _npm_lock(pins).exists():
        return _fetch_npm(app, version, pins)
    CACHE.mkdir(parents=True, exist_ok=True)  # the download lands beside its destination (a rename)
    tmp = Path(tempfile.mkdtemp(prefix=f".{app}-{version}-", dir=CACHE))
    try:
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps"]
        cmd += ["--require-hashes", "-r", str(pins), "-d", str(tmp)]
        env = _build_env(pins, tmp.parent / f".{tmp.name}-constraints.txt")
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, env=env)
        finally:
            Path(env["PIP_CONSTRAINT"]).unlink(missing_ok=True)
        if r.returncode != 0:
            raise SystemExit(f"public_apps: {app} {version}: pip download failed:\n{r.stdout}{r.stderr}")
        shutil.copyfile(pins, tmp / "requirements.txt")
        if dest.exists():
            shutil.rmtree(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp.replace(dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    (dest / ".complete").write_text("")
    return dest


def _npm_lock(pins: Path) -> Path:
    return pins.parent / f"package-lock-{pins.stem.removeprefix('pins-')}.json"


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def _npm_packages(lock: dict[str, object]) -> dict[str, tuple[str, str]]:
    """Lock path -> (name@version, integrity) for every package the lock installs."""
    out = {}
    packages = lock.get("packages")
    assert isinstance(packages, dict)
    for path, entry in packages.items():
        if not path or entry.get("link") or entry.get("inBundle"):
            continue  # the root, workspace links, and packages shipped inside another's tarball
        name = entry.get("name") or path.rsplit("node_modules/", 1)[-1]
        out[path] = (f"{name}@{entry['version']}", entry["integrity"])
    return out


def _fetch_npm(app: str, version: str, pins: Path) -> Path:
    dest = medium(app, version)
    lock = json.loads(_npm_lock(pins).read_text())
    pinned = dict(ln.split() for ln in pins.read_text().splitlines() if ln.strip() and not ln.startswith("#"))
    packages = _npm_packages(lock)
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{app}-{version}-", dir=CACHE))
    try:
        tarballs = tmp / "tarballs"
        tarballs.mkdir()
        specs = sorted({spec for spec, _ in packages.values()})
        files: dict[str, str] = {}
        with tempfile.TemporaryDirectory() as cache:  # npm's own cache stays out of the medium
            for i in range(0, len(specs), 40):
                batch = specs[i : i + 40]
                cmd = ["npm", "pack", *batch, "--json", "--ignore-scripts", "--pack-destination", str(tarballs)]
                env = {**os.environ, "npm_config_cache": cache}
                r = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, env=env)
                if r.returncode != 0:
                    raise SystemExit(f"public_apps: {app} {version}: npm pack failed:\n{r.stdout}{r.stderr}")
                for spec, info in zip(batch, json.loads(r.stdout), strict=True):
                    files[spec] = info["filename"]
        for path, (spec, integrity) in packages.items():
            got = _integrity((tarballs / files[spec]).read_bytes())
            if got != integrity or pinned.get(spec) != integrity:
                raise SystemExit(f"public_apps: {app} {version}: {spec} is not the pinned package ({got})")
            lock["packages"][path]["resolved"] = f"file:tarballs/{files[spec]}"
        shutil.copyfile(pins.parent / f"package-{version}.json", tmp / "package.json")
        (tmp / "package-lock.json").write_text(json.dumps(lock, indent=2) + "\n")
        shutil.copyfile(pins, tmp / "requirements.txt")
        if dest.exists():
            shutil.rmtree(dest)
        tmp.replace(dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    (dest / ".complete").write_text("")
    return dest


def pin_npm(app: str, version: str, package_json: Path) -> Path:
    """Record an npm release: resolve the package's whole tree once (no install scripts run) and
    keep the lock, the package.json and one line per package with its registry integrity."""
    target = PUBLIC / app / f"pins-{version}.txt"
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as d:
        shutil.copyfile(package_json, Path(d) / "package.json")
        cmd = ["npm", "install", "--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund"]
        subprocess.run(cmd, cwd=d, check=True, timeout=1800)
        lock = json.loads((Path(d) / "package-lock.json").read_text())
    shutil.copyfile(package_json, target.parent / f"package-{version}.json")
    _npm_lock(target).write_text(json.dumps(lock, indent=2) + "\n")
    lines = sorted({f"{spec} {integrity}" for spec, integrity in _npm_packages(lock).values()})
    head = f"# {app} {version} (npm): every package the offline install needs (lab_env/public_apps.py pin)."
    target.write_text("\n".join([head, *lines]) + "\n")
    return target


def _norm(text: str) -> str:
    return text.strip().lower().replace("-", "_").replace(".", "_")


def pin(app: str, version: str, requirements: Path) -> Path:
    """Record a release: download each requirement (exact versions, no dependency resolution: the
    list must be complete) and write its pin file with every artifact's SHA-256."""
    with tempfile.TemporaryDirectory() as d:
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-r", str(requirements), "-d", d]
        subprocess.run(cmd, check=True, timeout=1800, env=_build_env(requirements, Path(d) / ".constraints.txt"))
        lines = [ln.strip() for ln in requirements.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
        files = sorted(f for f in Path(d).iterdir() if not f.name.startswith("."))
        out = [f"# {app} {version}: every artifact the offline install needs (lab_env/public_apps.py pin)."]
        for req in lines:
            name, _, ver = req.partition("==")
            prefix = f"{_norm(name)}_{_norm(ver)}"
            match = [
                f for f in files if _norm(f.name).startswith(prefix + "_") or _norm(f.name).startswith(prefix + "_tar")
            ]
            if not match:
                raise SystemExit(f"public_apps: no artifact downloaded for {req}")
            hashes = " ".join(f"--hash=sha256:{hashlib.sha256(f.read_bytes()).hexdigest()}" for f in match)
            out.append(f"{req} {hashes}")
    target = PUBLIC / app / f"pins-{version}.txt"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(out) + "\n")
    return target


def main(argv: list[str]) -> int:
    if argv[:1] == ["fetch"]:
        for app, version, pins in pin_files(argv[1:]):
            print(f"public_apps: {app} {version}: {fetch(app, version, pins)}")
        return 0
    if argv[:1] == ["pin"] and len(argv) == 4:
        source = Path(argv[3])
        made = pin_npm(argv[1], argv[2], source) if source.suffix == ".json" else pin(argv[1], argv[2], source)
        print(f"public_apps: wrote {made}")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
