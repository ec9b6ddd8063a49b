"""The report model: built from the lab database alone, so it can be re-rendered years later."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from harness.catalogue import SEVERITY_ZH, load_catalogue
from harness.config import lab_config
from harness.report.deadline import CalendarGap, due_date
from harness.store import Evidence, Report, Run, Sample, Verdict, session
from harness.verdicts import OUTCOME_ZH

# Item verdicts as the report states them.
CONFORM, NONCONFORM, NOT_APPLICABLE, PENDING, LAB_ERROR = "符合", "不符合", "不适用", "待判定", "检测异常"

STATEMENT = "本报告检测结果仅对所检样品有效。未经本实验室书面批准，不得部分复制本报告。"
DECISION_RULE = (
    "判定规则：逐项依据检测依据中的要求判定。自动化检查项在每个部署型号上均通过方判为“符合”，"
    "任一型号上不通过即判为“不符合”；因实验室原因未能完成的检查项记为“检测异常”，不作符合性判定，须复测；"
    "文档审查及半自动项由检测工程师依据证据记录判定。不考虑测量不确定度（定性判定）。"
)


class ReportError(Exception):
    pass


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode()


def _item_verdict(outcomes: list[str]) -> str:
    if not outcomes:
        return PENDING
    if "fail" in outcomes:
        return NONCONFORM
    if "error" in outcomes:
        return LAB_ERROR
    if all(o == "not_applicable" for o in outcomes):
        return NOT_APPLICABLE
    return CONFORM


def build_content(run_id: str, number: str, revision: int = 1, language: str = "zh") -> dict[str, Any]:
    cfg = lab_config()
    with session() as s:
        run = s.get(Run, run_id)
        if run is None:
            raise ReportError(f"no run {run_id!r} in the lab database ({cfg.db_url})")
        sample = s.get(Sample, run.sample_id)
        assert sample is not None
        verdicts = list(s.scalars(select(Verdict).where(Verdict.run_id == run_id).order_by(Verdict.id)))
        evidence = list(s.scalars(select(Evidence).where(Evidence.run_id == run_id).order_by(Evidence.id)))
        spec = sample.spec_snapshot
        plan = run.plan or {}
        if not plan:
            raise ReportError(f"run {run_id} has no plan: it ended before its checks were collected")
        cat = load_catalogue(plan["basis"])
        ev_by_verdict: dict[int, list[Evidence]] = {}
        for e in evidence:
            if e.verdict_id is not None:
                ev_by_verdict.setdefault(e.verdict_id, []).append(e)

        def row(n: int, p: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
            vs = [v for v in verdicts if p["item_id"] in v.clause_ids]
            if not p["applicable"]:
                verdict, observed = NOT_APPLICABLE, p.get("reason") or ""
            elif not vs and plan.get("only") is not None and p["item_id"] not in plan["only"]:
                verdict, observed = PENDING, "本次复测范围外"
            else:
                verdict = _item_verdict([v.outcome for v in vs])
                observed = "；".join(
                    f"[{v.model}] {v.summary or OUTCOME_ZH[v.outcome]}"
                    + (f"（{v.detail.splitlines()[0]}）" if v.outcome in ("fail", "error") and v.detail else "")
                    for v in vs
                )
            models = sorted({v.model for v in vs})
            return {
                "no": n,
                "item_id": p["item_id"],
                **meta,
                "method_kind": p["method_kind"],
                "observed": observed,
                "verdict": verdict,
                "severity": SEVERITY_ZH[meta["severity_key"]] if verdict == NONCONFORM else "",
                "per_model": {m: _item_verdict([v.outcome for v in vs if v.model == m]) for m in models},
                "checks": [
                    {
                        "check_id": v.check_id,
                        "model": v.model,
                        "outcome": v.outcome,
                        "detail": v.detail,
                        "evidence": [
                            {"title": e.title, "kind": e.kind, "path": e.path, "sha256": e.sha256}
                            for e in ev_by_verdict.get(v.id, [])
                        ],
                    }
                    for v in vs
                ],
            }

        items: list[dict[str, Any]] = []
        for n, p in enumerate(plan["items"], start=1):
            it = cat.item(p["item_id"])
            items.append(
                row(
                    n,
                    p,
                    {
                        "chapter": it.chapter,
                        "chapter_title": cat.chapter(it.chapter).title,
                        "standard_clause": it.standard_clause,
                        "clause_verified": it.verified,
                        "title": it.title if language == "zh" else it.title_en,
                        "requirement": it.requirement,
                        "method": it.method,
                        "severity_key": it.severity,
                    },
                )
            )
        use_cases = {uc["id"]: uc for uc in spec["documentation"]["use_cases"]}
        functional: list[dict[str, Any]] = []
        for n, p in enumerate(plan.get("functional", []), start=1):
            uc = use_cases.get(p["item_id"])
            if uc is not None:
                meta = {
                    "title": uc["title"],
                    "requirement": f"用户文档 {uc['section']} 节所述用例 {uc['id']}",
                    "method": f"按用例场景执行（{uc['scenario']}）" if uc.get("scenario") else "按用户文档操作",
                }
            else:
                meta = {
                    "title": "接口一致性（OpenAPI）",
                    "requirement": "样品行为与其接口文档（OpenAPI）所述状态码及数据结构一致，无服务端错误",
                    "method": "以 Schemathesis 按接口文档生成请求并校验应答",
                }
            functional.append(
                row(
                    n,
                    p,
                    {
                        **meta,
                        "chapter": "F",
                        "chapter_title": "功能测试",
                        "standard_clause": None,
                        "clause_verified": True,
                        "severity_key": "major",
                    },
                )
            )

        counts = Counter(i["verdict"] for i in items + functional)
        models = sorted({v.model for v in verdicts})
        per_model_summary = {m: dict(Counter(OUTCOME_ZH[v.outcome] for v in verdicts if v.model == m)) for m in models}
        completed = (run.finished or datetime.now()).date()
        try:
            due = due_date(completed).isoformat()
        except CalendarGap as e:
            due = None
            due_note = str(e)
        else:
            due_note = ""
        dates = [v.started for v in verdicts] + [v.finished for v in verdicts]
        content: dict[str, Any] = {
            "schema": "fintech-lab-harness/report/1",
            "title": "型式试验报告",
            "kind": "full" if run.kind == "full" else run.kind,
            "language": language,
            "number": number,
            "revision": revision,
            "lab": {"name": cfg.lab_name, "address": cfg.lab_address},
            "applicant": spec["applicant"],
            "producer": spec["producer"],
            "sample": {
                "registration": sample.id,
                "name": sample.name,
                "version": sample.version,
                "certification_unit": spec["certification_unit"],
                "kind": spec["sample"]["kind"],
                "condition": spec["sample"]["condition"],
                "media": sample.media,
                "hardware": spec.get("hardware", []),
                "images": [
                    {"model": d.get("model"), "image_id": d["image_id"]}
                    for d in run.deployments or []
                    if d.get("image_id")
                ],
            },
            "basis": {
                "standard": cat.standard.id,
                "title": cat.standard.title,
                "items": [i["item_id"] for i in items],
                "note": (
                    "章节编号已依据公开目录核实；章内子条款编号未公开，"
                    "表中条款为本实验室检测细则编号，待依据正式文本核对。"
                ),
            },
            "dates": {
                "received": sample.received.isoformat(),
                "tests_started": min(dates).date().isoformat() if dates else run.started.date().isoformat(),
                "tests_completed": completed.isoformat(),
                "issued": date.today().isoformat(),
                "due": due,
                "due_note": due_note,
            },
            "environment": run.environment,
            "deployments": run.deployments,
            "run": {"id": run.id, "status": run.status, "kind": run.kind},
            "items": items,
            "functional": functional,
            "summary": {k: counts.get(k, 0) for k in (CONFORM, NONCONFORM, NOT_APPLICABLE, PENDING, LAB_ERROR)},
            "per_model": per_model_summary,
            "deviations": [],
            "statement": STATEMENT,
            "decision_rule": DECISION_RULE,
        }
        content["conclusion"] = conclusion(content)
        return content


def conclusion(content: dict[str, Any]) -> str:
    s = content["summary"]
    std = content["basis"]["standard"]
    if s[LAB_ERROR] or s[PENDING]:
        return f"检测尚未完成：{s[PENDING]} 项待判定，{s[LAB_ERROR]} 项检测异常（实验室原因），暂不作总体结论。"
    if s[NONCONFORM]:
        bad = [f"{i['item_id']} {i['title']}" for i in content["items"] if i["verdict"] == NONCONFORM]
        return f"所检项目中 {s[NONCONFORM]} 项不符合 {std} 要求：{'；'.join(bad)}。"
    return f"所检项目均符合 {std} 要求（{s[CONFORM]} 项符合，{s[NOT_APPLICABLE]} 项不适用）。"


def next_number(prefix: str | None = None, year: int | None = None) -> str:
    prefix = prefix or os.environ.get("HARNESS_REPORT_PREFIX", "FTL")
    year = year or date.today().year
    with session() as s:
        n = (
            s.scalar(select(func.count(func.distinct(Report.number))).where(Report.number.like(f"{prefix}-{year}-%")))
            or 0
        )
    return f"{prefix}-{year}-{n + 1:04d}"


def copy_evidence(run_id: str, out_dir: Path) -> None:
    """A report folder is self-contained: its evidence travels with it (and `verify` checks it)."""
    src = lab_config().run_dir(run_id) / "evidence"
    if src.is_dir():
        shutil.copytree(src, out_dir / "evidence", dirs_exist_ok=True)


def digest(content: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(content)).hexdigest()
