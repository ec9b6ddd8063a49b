"""JR/T 0199-2020 chapter 11 网络安全: review of the submitted source code (Python) with Bandit.
Blocking findings (harness.probes.source: HIGH severity with at least MEDIUM confidence, or MEDIUM
with HIGH confidence) fail unless the lab accepted them in the sample's baseline with a justification;
the others are reported. Not applicable when no source directory with Python files was submitted."""

from __future__ import annotations

from collections import Counter

import pytest

from harness.probes.source import (
    as_dict,
    baseline_path,
    findings,
    load_baseline,
    python_files,
    run_bandit,
    source_roots,
)
from harness.verdicts import not_applicable


@pytest.mark.clause("11.source")
def test_source_has_no_unaccepted_high_risk_findings(sample_spec, evidence):
    roots = [r for r in source_roots(sample_spec) if python_files(r)]
    if not roots:
        not_applicable(
            "样品未以目录形式提交 Python 源代码（media 中 role 为 source 的目录），Bandit 审查不适用",
            en="the sample's Python source code was not supplied as a directory (a media entry with role source), so "
            "the Bandit review does not apply",
        )
    bpath = baseline_path(sample_spec)
    baseline = load_baseline(bpath)
    found = []
    for root in roots:
        report = evidence.new_path(f"bandit-{root.name}", ".json")
        found += findings(run_bandit(root, report), root)
        evidence.attach_file(report, f"Bandit 报告（{root.name}）", kind="json")
    blocking = [f for f in found if f.blocking]
    accepted = [f for f in blocking if f.key in baseline]
    new = [f for f in blocking if f.key not in baseline]
    stale = sorted(set(baseline) - {f.key for f in found})
    evidence.attach_json(
        "源代码审查结论",
        {
            "baseline": str(bpath) if bpath.exists() else None,
            "不符合（未接受的阻断项）": [as_dict(f) for f in new],
            "已接受（基线）": [{**as_dict(f), "justification": baseline[f.key].justification} for f in accepted],
            "提示项（不阻断）": [as_dict(f) for f in found if not f.blocking],
            "基线中已不再出现": stale,
        },
    )
    sev = Counter(f.severity for f in found)
    files = sum(len(python_files(r)) for r in roots)
    evidence.observe(
        f"Bandit 审查 {files} 个 Python 文件，发现 {len(found)} 项"
        f"（高 {sev['HIGH']}、中 {sev['MEDIUM']}、低 {sev['LOW']}）；阻断项 {len(blocking)} 项，"
        f"其中基线已接受 {len(accepted)} 项，未接受 {len(new)} 项"
        + (f"：{'；'.join(f'{f.test_id} {f.file}:{f.line}' for f in new[:6])}" if new else ""),
        en=f"Bandit reviewed {files} Python files and found {len(found)} issue(s) (high {sev['HIGH']}, "
        f"medium {sev['MEDIUM']}, low {sev['LOW']}); {len(blocking)} blocking, {len(accepted)} of them accepted "
        f"in the baseline, {len(new)} not accepted"
        + (f": {'; '.join(f'{f.test_id} {f.file}:{f.line}' for f in new[:6])}" if new else ""),
    )
    if stale:
        evidence.hint(
            f"基线中 {len(stale)} 项已不再出现，可从基线删除",
            en=f"{len(stale)} baseline entr{'y' if len(stale) == 1 else 'ies'} no longer occur and may be removed",
        )
    assert not new, "; ".join(f"{f.test_id} {f.file}:{f.line} {f.severity}/{f.confidence} {f.text}" for f in new)
