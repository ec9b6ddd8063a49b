"""How long a large type-test report takes to render: a synthesized content of N items (default
1,000; two terminal models, evidence on every item, a few failures, waivers and engineer records)
rendered to HTML and to PDF with the report's own template.

    python benchmarks/bench_report_pdf.py [--items 1000] [--lang zh] [--keep DIR]

Needs no lab database: the content is built in memory, in the shape harness.report.build makes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from harness.catalogue import SEVERITY_ZH, load_catalogue  # noqa: E402
from harness.report.build import CONFORM, NONCONFORM, VERDICTS, WAIVED, conclusion  # noqa: E402
from harness.report.labels import BASIS_NOTE, DECISION_RULE, STATEMENT, TITLE  # noqa: E402
from harness.report.render import html  # noqa: E402

MODELS = ["LT-POS-A1", "LT-POS-B2"]


def synthesize(n: int, language: str = "zh") -> dict[str, Any]:
    cat = load_catalogue()
    items = []
    evidence = []
    for k in range(1, n + 1):
        it = cat.items[(k - 1) % len(cat.items)]
        verdict = NONCONFORM if k % 97 == 0 else WAIVED if k % 251 == 0 else CONFORM
        ev = [
            {
                "title": "HTTP 交互记录",
                "path": f"evidence/{m}/check_{k:04d}/http-transcript.txt",
                "sha256": f"{k:04d}{j}".ljust(64, "a"),
            }
            for j, m in enumerate(MODELS)
        ]
        evidence += [{"path": e["path"], "sha256": e["sha256"]} for e in ev]
        items.append(
            {
                "no": k,
                "item_id": f"{it.id}.{k:04d}",
                "chapter": it.chapter,
                "chapter_title": cat.chapter(it.chapter).title,
                "standard_clause": None,
                "clause_verified": it.verified,
                "title": it.title if language == "zh" else it.title_en,
                "title_zh": it.title,
                "requirement": it.requirement,
                "method": it.method,
                "severity_key": it.severity,
                "method_kind": it.method_kind,
                "observed": "；".join(
                    f"[{m}] 原始转账应答 200，余额 10000.00→9999.00；重放应答 409，余额 9999.00 不变" for m in MODELS
                ),
                "verdict": verdict,
                "tested_verdict": verdict if verdict != WAIVED else CONFORM,
                "severity": SEVERITY_ZH[it.severity] if verdict == NONCONFORM else "",
                "recorded": {"engineer": "李四", "at": "2026-11-27 10:00", "evidence": []} if k % 13 == 0 else None,
                "waiver": (
                    {
                        "kind": "waiver",
                        "justification": "认证机构同意以现场报告替代",
                        "approved_by": "王主任",
                        "approved_on": "2026-11-20",
                        "expires": "2027-06-30",
                    }
                    if verdict == WAIVED
                    else None
                ),
                "deviation": None,
                "expired_waivers": [],
                "per_model": {m: verdict if verdict != WAIVED else CONFORM for m in MODELS},
                "checks": [],
                "evidence": ev,
            }
        )
    summary = {v: sum(1 for i in items if i["verdict"] == v) for v in VERDICTS}
    content: dict[str, Any] = {
        "schema": "fintech-lab-harness/report/2",
        "title": TITLE[language],
        "kind": "full",
        "language": language,
        "number": "FTL-2026-9999",
        "revision": 1,
        "supersedes": None,
        "lab": {"name": "金融科技产品检测实验室", "address": "北京市西城区金融大街 1 号"},
        "applicant": {"name": "参考支付科技有限公司", "address": "北京", "contact": {"name": "王工", "phone": "010"}},
        "producer": {"name": "参考支付科技有限公司", "address": "北京", "contact": {"name": "李工", "phone": "010"}},
        "sample": {
            "registration": "S-2026-9999",
            "name": "参考支付服务",
            "version": "1.0.0",
            "certification_unit": {"product_name": "参考支付服务", "model": "RefPay", "version": "1.0.0"},
            "kind": "software",
            "condition": "完好",
            "media": [{"path": "refpay.tar", "sha256": "b" * 64, "role": "package"}],
            "spec_sha256": "c" * 64,
            "hardware": [
                {"model": m, "configuration": "4 核", "units": 1, "os": "Debian 12", "base_software": ["Python"]}
                for m in MODELS
            ],
            "images": [],
        },
        "basis": {
            "standard": cat.standard.id,
            "title": cat.standard.title,
            "items": [i["item_id"] for i in items],
            "clauses": [{"item_id": i["item_id"], "title": i["title"], "applicable": True} for i in items],
            "note": BASIS_NOTE[language],
        },
        "dates": {
            "received": "2026-11-20",
            "tests_started": "2026-11-23",
            "tests_completed": "2026-11-27",
            "issued": "2026-11-30",
            "due": "2026-12-04",
            "due_working_days": 5,
            "due_note": "",
        },
        "environment": {"host": "bench", "os": "Linux", "tools": {"python": "3.11"}},
        "deployments": [{"model": m, "backend": "terminal", "status": "deployed"} for m in MODELS],
        "run": {"id": "R-BENCH", "status": "finished", "kind": "full"},
        "items": items,
        "functional": [],
        "summary": summary,
        "per_model": {m: {"符合": n - n // 97, "不符合": n // 97} for m in MODELS},
        "models": MODELS,
        "deviations": [],
        "exclusions": [],
        "statement": STATEMENT[language],
        "decision_rule": DECISION_RULE[language],
        "evidence_manifest": {"sha256": "d" * 64, "files": evidence},
        "signatures": {
            "prepared": {"name": "李四", "at": "2026-11-28 10:00"},
            "reviewed": {"name": "赵六", "at": "2026-11-29 10:00"},
            "approved": {"name": "王五", "at": "2026-11-30 10:00"},
        },
    }
    content["conclusion"] = conclusion(content)
    return content


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=1000)
    ap.add_argument("--lang", default="zh", choices=["zh", "en"])
    ap.add_argument("--keep", type=Path, help="write the PDF here")
    a = ap.parse_args()
    content = synthesize(a.items, a.lang)
    t0 = time.perf_counter()
    page = html(content)
    t1 = time.perf_counter()
    from weasyprint import HTML

    doc = HTML(string=page).render()  # what pdf_bytes() does, split to count the pages
    pdf = doc.write_pdf()
    t2 = time.perf_counter()
    out = a.keep or Path(tempfile.mkdtemp(prefix="bench-report-")) / "report.pdf"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(pdf)
    pages = len(doc.pages)
    print(
        f"items {a.items}: HTML {t1 - t0:.2f} s ({len(page) / 1e6:.1f} MB); PDF {t2 - t1:.2f} s "
        f"({len(pdf) / 1e6:.1f} MB, {pages} pages) -> {out}"
    )
    print(f"seconds {t2 - t0:.2f}")


if __name__ == "__main__":
    main()
