"""The retest's wall time against the full run's, on the same sample.

    python benchmarks/bench_retest.py

Runs the reference sample in full (the baseline), then retests a change that only edits the
transfer signing, and prints both wall times. Uses a scratch lab under /tmp."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.media import tree_sha256  # noqa: E402


def harness(*args: str) -> tuple[float, str]:
    t = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "harness", *args], cwd=ROOT, capture_output=True, text=True)
    return time.monotonic() - t, r.stdout + r.stderr


def spec(path: Path, media: Path, version: str, extra: str = "") -> Path:
    path.write_text(
        f"extends: {ROOT / 'sample_specs/refpay.yaml'}\ncertification_unit: {{version: '{version}'}}\n"
        f"sample: {{version: '{version}'}}\nmedia:\n  - {{path: {media}, sha256: '{tree_sha256(media)}'}}\n" + extra
    )
    return path


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-retest-"))
    os.environ["HARNESS_DATA_DIR"] = str(work / "data")
    os.environ["HARNESS_REPORTS_DIR"] = str(work / "reports")
    base_media = work / "v1" / "refpay"
    shutil.copytree(ROOT / "samples/refpay", base_media, ignore=shutil.ignore_patterns("__pycache__"))
    full_s, out = harness("run", str(spec(work / "v1.yaml", base_media, "1.0.0")), "--no-report")
    harness_report = harness("report", re.search(r"run (R-[\w-]+):", out).group(1), "--no-pdf")[1]
    number = re.search(r"(FTL-\d{4}-\d{4})", harness_report).group(1)
    changed = work / "v2" / "refpay"
    shutil.copytree(base_media, changed)
    for rel, old, new in (
        ("refpay/signing.py", '"&".join', '"|".join'),
        ("refpay/pages.py", ".join('&')", ".join('|')"),
    ):
        f = changed / rel
        f.write_text(f.read_text().replace(old, new))
    desc = work / "changes.yaml"
    desc.write_text(
        "product: 参考支付服务\nfrom_version: 1.0.0\nto_version: 1.0.1\nchanges:\n"
        "  - {kind: signing, description: 分隔符, files: [refpay/signing.py, refpay/pages.py]}\n"
    )
    v2 = spec(work / "v2.yaml", changed, "1.0.1", "driver:\n  signing: {separator: '|'}\n")
    retest_s, out2 = harness("retest", number, str(v2), "--description", str(desc), "--ci")
    print("| run | wall time |\n|---|---|")
    print(f"| full run (baseline, every check) | {full_s:.1f} s |")
    print(f"| retest after a signing-only change | {retest_s:.1f} s |")
    print(out2.strip().splitlines()[-1])
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
