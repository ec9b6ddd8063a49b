"""Source-code review with Bandit (Python), with a lab-editable baseline of accepted findings.

Gate (lab policy): a finding blocks when its severity is HIGH with MEDIUM or HIGH confidence, or
MEDIUM with HIGH confidence. HIGH/LOW is mostly noise, and MEDIUM/MEDIUM (B608 string-built SQL,
B104 bind-all) is too often a false positive to fail a sample on alone; those are reported, not gated
(the dynamic checks, 11.injection, decide whether an injection is real).

Baseline: ``lab_env/bandit-baselines/<model>.json`` (``<model>`` = the certification unit's model,
lower-cased and slugged, so every build and variant of one product shares it; the directory can be
moved with HARNESS_BANDIT_BASELINES). Entries are keyed by *stable* keys, not line numbers:

    <test id>:<file relative to the source root>:<sha256 of the offending line, whitespace-normalised, 12 hex>#<n>

``#n`` counts identical lines with the same test in the same file, so a *new* copy of an accepted
finding is a new key (Bandit's own baseline absorbs it: PyCQA/bandit#1467). Each entry needs a
``justification``; an entry without one is a broken baseline (a lab error, not a pass).

Write a draft baseline for a sample (justifications left empty, to be filled by the engineer):
    python -m harness.probes.source sample_specs/refpay.yaml --write
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.config import PROJECT_ROOT
from harness.probes.tls import ProbeError
from harness.spec import LoadedSpec

SEVERITIES = ("LOW", "MEDIUM", "HIGH")


def baseline_dir() -> Path:
    return Path(os.environ.get("HARNESS_BANDIT_BASELINES", PROJECT_ROOT / "lab_env" / "bandit-baselines"))


def baseline_path(loaded: LoadedSpec) -> Path:
    model = loaded.spec.certification_unit.model
    slug = re.sub(r"[^\w.-]+", "-", model, flags=re.UNICODE).strip("-").lower() or "sample"
    return baseline_dir() / f"{slug}.json"


def source_roots(loaded: LoadedSpec) -> list[Path]:
    """The directories among the media with role "source"."""
    return [p for m in loaded.spec.media if m.role == "source" and (p := loaded.resolve(m.path)).is_dir()]


def python_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*.py") if "__pycache__" not in p.parts]


@dataclass(frozen=True)
class SourceFinding:
    key: str
    test_id: str
    test_name: str
    severity: str
    confidence: str
    cwe: str
    file: str  # relative to the source root
    line: int
    code: str  # the offending line, whitespace-normalised
    text: str

    @property
    def blocking(self) -> bool:
        return (self.severity == "HIGH" and self.confidence in ("MEDIUM", "HIGH")) or (
            self.severity == "MEDIUM" and self.confidence == "HIGH"
        )


def _norm(line: str) -> str:
    return " ".join(line.split())


def line_hash(code_line: str) -> str:
    return hashlib.sha256(_norm(code_line).encode("utf-8")).hexdigest()[:12]


def run_bandit(root: Path, out_json: Path, timeout_s: float = 300) -> dict[str, Any]:
    """Run Bandit over the tree; its JSON report is written to ``out_json`` (the evidence)."""
    cmd = [sys.executable, "-m", "bandit", "-r", ".", "-f", "json", "-o", str(out_json), "-q"]
    try:
        proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=timeout_s, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise ProbeError(f"bandit did not run: {e}") from None
    if proc.returncode not in (0, 1) or not out_json.exists():  # 1 = issues found
        raise ProbeError(f"bandit failed (exit {proc.returncode}): {proc.stderr.strip()[-500:]}")
    data: dict[str, Any] = json.loads(out_json.read_text(encoding="utf-8"))
    return data


def findings(report: dict[str, Any], root: Path) -> list[SourceFinding]:
    """Bandit results with stable keys (see the module docstring); files are named
    ``<source directory name>/<path inside it>`` so two source media cannot collide."""
    lines_cache: dict[str, list[str]] = {}
    seen: Counter[str] = Counter()
    out = []
    results = sorted(report.get("results", []), key=lambda r: (r["filename"], r["line_number"], r["test_id"]))
    for r in results:
        rel = os.path.normpath(r["filename"]).replace(os.sep, "/")
        if rel not in lines_cache:
            try:
                lines_cache[rel] = (root / rel).read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                lines_cache[rel] = []
        src = lines_cache[rel]
        n = int(r["line_number"])
        code = _norm(src[n - 1]) if 0 < n <= len(src) else _norm(str(r.get("code", "")))
        base = f"{r['test_id']}:{root.name}/{rel}:{line_hash(code)}"
        seen[base] += 1
        cwe = r.get("issue_cwe") or {}
        out.append(
            SourceFinding(
                key=f"{base}#{seen[base]}",
                test_id=r["test_id"],
                test_name=r.get("test_name", ""),
                severity=r["issue_severity"],
                confidence=r["issue_confidence"],
                cwe=f"CWE-{cwe['id']}" if cwe.get("id") else "",
                file=f"{root.name}/{rel}",
                line=n,
                code=code[:200],
                text=r.get("issue_text", ""),
            )
        )
    return out


@dataclass(frozen=True)
class BaselineEntry:
    key: str
    justification: str
    test_id: str = ""
    file: str = ""
    code: str = ""
    accepted_by: str = ""
    date: str = ""


def load_baseline(path: Path) -> dict[str, BaselineEntry]:
    """The accepted findings; {} when the sample has no baseline. ProbeError when it is broken."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = [
            BaselineEntry(**{k: str(v) for k, v in e.items() if k in BaselineEntry.__dataclass_fields__})
            for e in data.get("accepted", [])
        ]
    except (ValueError, TypeError, AttributeError) as e:
        raise ProbeError(f"bandit baseline {path} is not valid: {e}") from None
    missing = [e.key for e in entries if not e.justification.strip()]
    if missing:
        raise ProbeError(f"bandit baseline {path}: entries without a justification: {', '.join(missing)}")
    return {e.key: e for e in entries}


def draft_baseline(loaded: LoadedSpec, found: list[SourceFinding]) -> dict[str, Any]:
    return {
        "sample": loaded.spec.certification_unit.model,
        "tool": "bandit",
        "key": "test_id:file:sha256(line)[:12]#occurrence",
        "accepted": [
            {
                "key": f.key,
                "test_id": f.test_id,
                "file": f.file,
                "code": f.code,
                "severity": f.severity,
                "confidence": f.confidence,
                "justification": "",
                "accepted_by": "",
                "date": "",
            }
            for f in found
            if f.blocking
        ],
    }


def _main(argv: list[str]) -> int:
    import argparse
    import tempfile

    from harness.spec import load_spec

    ap = argparse.ArgumentParser(prog="python -m harness.probes.source", description="Bandit findings with stable keys")
    ap.add_argument("spec")
    ap.add_argument("--write", action="store_true", help="write a draft baseline if none exists")
    a = ap.parse_args(argv)
    loaded = load_spec(a.spec)
    found: list[SourceFinding] = []
    for root in source_roots(loaded):
        with tempfile.TemporaryDirectory() as tmp:
            found += findings(run_bandit(root, Path(tmp) / "bandit.json"), root)
    baseline = load_baseline(baseline_path(loaded)) if baseline_path(loaded).exists() else {}
    for f in found:
        mark = "BLOCK" if f.blocking else "     "
        print(f"{mark} {'accepted' if f.key in baseline else '        '} {f.key} {f.severity}/{f.confidence} {f.text}")
    if a.write:
        path = baseline_path(loaded)
        if path.exists():
            print(f"{path} exists; not overwritten")
            return 1
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(draft_baseline(loaded, found), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        print(f"wrote {path}: fill in every justification")
    return 0


def as_dict(f: SourceFinding) -> dict[str, Any]:
    return {**asdict(f), "blocking": f.blocking}


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
