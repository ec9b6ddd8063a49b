"""How long a report takes to become a PDF, with the engine the harness uses (Chromium's print-to-PDF,
Debian's /usr/bin/chromium through Playwright) and the one it replaced (WeasyPrint), on the same HTML.

The content is either synthesized (N items, default 1,000: two configurations, evidence on every item,
a few failures, waivers and engineer records) or a real report's report.json (--content). Both engines
print the very HTML file the report folder holds, so the comparison is like for like.

    python benchmarks/bench_report_pdf.py [--items 1000 | --content reports/FTL-…/report.json]
        [--lang zh] [--engine chromium weasyprint] [--repeat 3] [--keep DIR]

Wall time on a shared machine depends on the neighbours; CPU time (this process and, for Chromium,
every process of its tree: the Playwright driver and Chromium's browser, renderer and utility
processes) is printed beside it. Needs no lab database.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from harness.catalogue import SEVERITY_ZH, load_catalogue  # noqa: E402
from harness.report.conclusion import conclusion, functional_conclusion  # noqa: E402
from harness.report.labels import text_of  # noqa: E402
from harness.report.render import write_html  # noqa: E402
from harness.report.terms import CONFORM, NONCONFORM, VERDICTS, WAIVED, tx  # noqa: E402
from harness.results.content import SCHEMA, ReportContent  # noqa: E402

MODELS = ["LT-POS-A1", "LT-POS-B2"]
_TICK = os.sysconf("SC_CLK_TCK")


def synthesize(n: int, language: str = "zh") -> dict[str, Any]:
    """A report content of n items, in the shape harness.report.build makes (checked by its model)."""
    cat = load_catalogue()
    items = []
    evidence = []
    for k in range(1, n + 1):
        it = cat.items[(k - 1) % len(cat.items)]
        ch = cat.chapter(it.chapter)
        verdict = NONCONFORM if k % 97 == 0 else WAIVED if k % 251 == 0 else CONFORM
        ev = [
            {
                "title": tx("HTTP 交互记录", "HTTP transcript"),
                "kind": "transcript",
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
                "chapter_title": tx(ch.title, ch.title_en),
                "standard_clause": None,
                "clause_verified": it.verified,
                "title": tx(it.title, it.title_en),
                "requirement": tx(it.requirement, it.requirement_en),
                "method": tx(it.method, it.method_en),
                "severity_key": it.severity,
                "method_kind": it.method_kind,
                "observed": [
                    {
                        "on": m,
                        "text": tx(
                            "原始转账应答 200，余额 10000.00→9999.00；重放应答 409，余额 9999.00 不变",
                            "original transfer answered 200, balance 10000.00→9999.00; the replay answered 409, "
                            "balance 9999.00 unchanged",
                        ),
                        "outcome": "pass",
                    }
                    for m in MODELS
                ],
                "verdict": verdict,
                "tested_verdict": verdict if verdict != WAIVED else CONFORM,
                "severity": SEVERITY_ZH[it.severity] if verdict == NONCONFORM else "",
                "recorded": (
                    {"engineer": "李四", "at": "2026-11-27 10:00+08:00", "evidence": [], "reference": None}
                    if k % 13 == 0
                    else None
                ),
                "carried": None,
                "waiver": (
                    {
                        "id": k,
                        "clause_id": f"{it.id}.{k:04d}",
                        "kind": "waiver",
                        "justification": tx("认证机构同意以现场报告替代", "accepted by the certification body"),
                        "approved_by": "王主任",
                        "approved_on": "2026-11-20",
                        "expires": "2027-06-30",
                        "scope": {"kind": "sample", "id": "S-2026-9999"},
                        "active": True,
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
        "schema": SCHEMA,
        "title": text_of("title"),
        "kind": "full",
        "language": language,
        "number": "FTL-2026-9999",
        "revision": 1,
        "supersedes": None,
        "lab": {
            "configured": True,
            "name": tx("金融科技产品检测实验室", "FinTech Product Testing Laboratory"),
            "address": tx("北京市西城区金融大街 1 号", "1 Financial Street, Beijing"),
            "accreditation": "CNAS L0000",
            "location": tx("本实验室检测室", "the laboratory's test room"),
        },
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
            "supply": text_of("supply_submitted"),
        },
        "basis": {
            "standard": cat.standard.id,
            "title": tx(cat.standard.title, cat.standard.title_en),
            "items": [i["item_id"] for i in items],
            "applicable": len(items),
            "clauses": [{"item_id": i["item_id"], "title": i["title"], "applicable": True} for i in items],
            "note": text_of("basis_note"),
        },
        "dates": {
            "received": "2026-11-20",
            "tests_started": "2026-11-23",
            "tests_completed": "2026-11-27",
            "tests_started_at": "2026-11-23 09:00+08:00",
            "tests_ended_at": "2026-11-27 17:00+08:00",
            "time_zone": "Asia/Shanghai (UTC+08:00)",
            "issued": "2026-11-30",
            "due": "2026-12-04",
            "due_working_days": 5,
            "due_note": tx("", ""),
        },
        "tested_on": [
            {
                "model": m,
                "backend": "terminal",
                "label": tx(f"{m} 单元", m),
                "what": tx(f"声明型号单元 {m}-U01", f"unit of the declared model {m}-U01"),
                "stands_for": [m],
                "declared_hardware": True,
                "deployed": True,
            }
            for m in MODELS
        ],
        "hardware_statement": tx("检测在委托方声明型号的单元上进行。", "Tested on units of the declared models."),
        "environment": {"host": "bench", "os": "Linux", "tools": {"python": "3.11"}},
        "deployments": [{"model": m, "backend": "terminal", "status": "deployed"} for m in MODELS],
        "run": {"id": "R-BENCH", "status": "finished", "kind": "full"},
        "items": items,
        "functional": [],
        "summary": summary,
        "functional_summary": dict.fromkeys(VERDICTS, 0),
        "per_model": {m: {"符合": n - n // 97, "不符合": n // 97} for m in MODELS},
        "models": MODELS,
        "deviations": [],
        "exclusions": [],
        "opinions": [],
        "statement": text_of("statement"),
        "applicant_information": text_of("applicant_information"),
        "decision_rule": text_of("decision_rule"),
        "evidence_manifest": {"sha256": "d" * 64, "files": evidence, "retained": []},
        "signatures": {
            "prepared": {"name": "李四", "name_en": "Li Si", "at": "2026-11-28 10:00+08:00"},
            "reviewed": {"name": "赵六", "name_en": "Zhao Liu", "at": "2026-11-29 10:00+08:00"},
            "approved": {"name": "王五", "name_en": "Wang Wu", "at": "2026-11-30 10:00+08:00"},
        },
    }
    model = ReportContent.from_json(content)
    model.conclusion = conclusion(model)
    model.functional_conclusion = functional_conclusion(model)
    return model.to_json()


def _tree(root: int) -> dict[int, float]:
    """CPU seconds (user + system) of a process and each of its live descendants, from /proc."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            raw = Path(f"/proc/{d}/stat").read_text()
        except OSError:
            continue
        fields = raw.rsplit(")", 1)[1].split()
        stats[int(d)] = fields
        children.setdefault(int(fields[1]), []).append(int(d))
    out: dict[int, float] = {}
    todo = [root]
    while todo:
        pid = todo.pop()
        f = stats.get(pid)
        if f is not None:
            out[pid] = (int(f[11]) + int(f[12])) / _TICK
        todo += children.get(pid, [])
    return out


class TreeCpu:
    """CPU time of this process's whole tree while a block runs. Chromium's renderer processes come
    and go with each page, so the tree is sampled every 20 ms and each process counted at its last
    sample (a process that dies between samples loses at most 20 ms)."""

    def __enter__(self) -> TreeCpu:
        import threading

        self._start = _tree(os.getpid())
        self._last = dict(self._start)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self._last.update(_tree(os.getpid()))

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._last.update(_tree(os.getpid()))
        self.seconds = sum(v - self._start.get(pid, 0.0) for pid, v in self._last.items())


def pages_of(pdf: bytes) -> int:
    """Page count (poppler's pdfinfo: WeasyPrint keeps its page objects in compressed streams)."""
    import subprocess

    out = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    return int(next(line.split()[-1] for line in out.splitlines() if line.startswith("Pages:")))


def chromium(html_file: Path, repeat: int) -> list[tuple[float, float, bytes, float]]:
    """[(wall s, CPU s of the whole process tree, PDF, browser start wall s)] per repetition, one
    browser each, as `harness report` does."""
    from harness.report.pdf import Printer

    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        with TreeCpu() as cpu, Printer() as printer:
            t1 = time.perf_counter()
            pdf = printer.pdf(html_file)
        out.append((time.perf_counter() - t0, cpu.seconds, pdf, t1 - t0))
    return out


def weasyprint(html_file: Path, repeat: int) -> list[tuple[float, float, bytes, float]]:
    from weasyprint import HTML  # the engine the report used until it was measured here

    out = []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        pdf = HTML(filename=str(html_file)).write_pdf()
        out.append((time.perf_counter() - t0, time.process_time() - c0, pdf, 0.0))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=1000)
    ap.add_argument("--content", type=Path, help="a report.json to print instead of a synthesized content")
    ap.add_argument("--lang", default=None, choices=["zh", "en"])
    ap.add_argument("--engine", nargs="+", default=["chromium", "weasyprint"], choices=["chromium", "weasyprint"])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--keep", type=Path, help="write the PDFs here")
    a = ap.parse_args()
    if a.content:
        content = json.loads(a.content.read_text(encoding="utf-8"))
        what = f"{a.content} ({len(content['items']) + len(content.get('functional', []))} items)"
    else:
        content = synthesize(a.items, a.lang or "zh")
        what = f"synthesized, {a.items} items"
    folder = Path(tempfile.mkdtemp(prefix="bench-report-"))
    t0 = time.perf_counter()
    html_file = write_html(content, folder, a.lang)
    print(f"{what}: HTML {time.perf_counter() - t0:.2f} s ({html_file.stat().st_size / 1e6:.1f} MB)")
    for engine in a.engine:
        runs = (chromium if engine == "chromium" else weasyprint)(html_file, a.repeat)
        for k, (wall, cpu, pdf, launch) in enumerate(runs, 1):
            extra = f", of which browser start {launch:.2f} s" if engine == "chromium" else ""
            print(
                f"{engine:<10} run {k}: wall {wall:.2f} s{extra}; CPU {cpu:.2f} s; "
                f"{pages_of(pdf)} pages, {len(pdf) / 1e6:.1f} MB"
            )
        if a.keep:
            a.keep.mkdir(parents=True, exist_ok=True)
            (a.keep / f"report-{engine}.pdf").write_bytes(runs[-1][2])
    print(f"load average {Path('/proc/loadavg').read_text().split()[0]} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
