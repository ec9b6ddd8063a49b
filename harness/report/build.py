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
from harness.errors import InputError
from harness.report.deadline import SUBMISSION_WORKING_DAYS, CalendarGap, due_date
from harness.report.labels import BASIS_NOTE, DECISION_RULE, STATEMENT, TITLE, TITLE_SUPPLEMENTARY, check_language
from harness.results.outcomes import OUTCOME_ZH
from harness.store import Evidence, Report, Run, Sample, Verdict, session
from harness.store.models import ItemRecord, Waiver

# Item verdicts as the report states them.
CONFORM, NONCONFORM, NOT_APPLICABLE, PENDING, LAB_ERROR = "符合", "不符合", "不适用", "待判定", "检测异常"
WAIVED = "豁免"  # an approved waiver: never a pass
VERDICTS = (CONFORM, NONCONFORM, NOT_APPLICABLE, WAIVED, PENDING, LAB_ERROR)
SCHEMA = "fintech-lab-harness/report/2"


class ReportError(InputError):
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
    if "review" in outcomes:
        return PENDING  # a check observed but had nothing to judge against: the engineer decides
    if all(o == "not_applicable" for o in outcomes):
        return NOT_APPLICABLE
    return CONFORM


def _waiver_json(w: Waiver, as_of: date) -> dict[str, Any]:
    return {
        "id": w.id,
        "clause_id": w.clause_id,
        "kind": w.kind,
        "justification": w.justification,
        "approved_by": w.approved_by,
        "approved_on": w.approved_on.isoformat(),
        "expires": w.expires.isoformat(),
        "scope": f"run {w.run_id}" if w.run_id else f"sample {w.sample_id}",
        "active": w.expires >= as_of and w.approved_on <= as_of,
    }


def build_content(
    run_id: str, number: str, revision: int = 1, language: str = "zh", as_of: date | None = None
) -> dict[str, Any]:
    """The report's content (its JSON truth) for a run, as of a date (waiver expiry is judged on it)."""
    cfg = lab_config()
    check_language(language)
    as_of = as_of or date.today()
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
        records: dict[str, ItemRecord] = {}
        for rec in s.scalars(select(ItemRecord).where(ItemRecord.run_id == run_id).order_by(ItemRecord.id)):
            records[rec.item_id] = rec  # the latest record of an item wins
        waivers: dict[str, list[dict[str, Any]]] = {}
        for w in s.scalars(
            select(Waiver).where((Waiver.run_id == run_id) | (Waiver.sample_id == run.sample_id)).order_by(Waiver.id)
        ):
            waivers.setdefault(w.clause_id, []).append(_waiver_json(w, as_of))
        retest = run.retest or {}
        carried_from: dict[str, dict[str, Any]] = (retest.get("baseline") or {}).get("items", {})
        ev_by_verdict: dict[int, list[Evidence]] = {}
        for e in evidence:
            if e.verdict_id is not None:
                ev_by_verdict.setdefault(e.verdict_id, []).append(e)

        def row(n: int, p: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
            vs = [v for v in verdicts if p["item_id"] in v.clause_ids]
            rec = records.get(p["item_id"]) if not vs and p["applicable"] else None
            recorded: dict[str, Any] | None = None
            carried: dict[str, Any] | None = None
            if not p["applicable"]:
                verdict, observed = NOT_APPLICABLE, p.get("reason") or ""
            elif rec is not None:
                verdict, observed = rec.verdict, rec.note
                recorded = {
                    "engineer": rec.engineer,
                    "at": rec.recorded.isoformat(sep=" ", timespec="minutes"),
                    "evidence": rec.evidence,
                }
            elif not vs and plan.get("only") is not None and p["item_id"] not in plan["only"]:
                base = carried_from.get(p["item_id"])
                if base is not None:
                    # A retest carries the baseline's verdict of an item the changes do not touch.
                    verdict, observed = base["verdict"], base["observed"]
                    carried = {k: retest["baseline"][k] for k in ("number", "revision", "issued")}
                else:
                    verdict, observed = PENDING, "本次复测范围外，基线报告无此项结论"
            else:
                verdict = _item_verdict([v.outcome for v in vs])
                observed = "；".join(
                    f"[{v.model}] {v.summary or OUTCOME_ZH[v.outcome]}"
                    + (f"（{v.detail.splitlines()[0]}）" if v.outcome in ("fail", "error") and v.detail else "")
                    for v in vs
                )
            models = sorted({v.model for v in vs})
            applying = [w for w in waivers.get(p["item_id"], []) if w["active"]] if p["applicable"] else []
            waiver = next((w for w in applying if w["kind"] == "waiver"), None)
            deviation = next((w for w in applying if w["kind"] == "deviation"), None)
            tested_verdict = verdict
            if waiver is not None:
                verdict = WAIVED
            return {
                "no": n,
                "item_id": p["item_id"],
                **meta,
                "method_kind": p["method_kind"],
                "observed": observed,
                "verdict": verdict,
                "tested_verdict": tested_verdict,  # what testing alone found (differs when waived)
                "severity": SEVERITY_ZH[meta["severity_key"]] if verdict == NONCONFORM else "",
                "recorded": recorded,
                "carried": carried,
                "waiver": waiver,
                "deviation": deviation,
                "expired_waivers": [w for w in waivers.get(p["item_id"], []) if not w["active"]],
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
                "evidence": [
                    {"title": e.title, "path": e.path, "sha256": e.sha256}
                    for v in vs
                    for e in ev_by_verdict.get(v.id, [])
                ]
                + [
                    {"title": e["title"], "path": e["path"], "sha256": e["sha256"]}
                    for e in (recorded or {}).get("evidence", [])
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
                        "chapter_title": (
                            cat.chapter(it.chapter).title if language == "zh" else cat.chapter(it.chapter).title_en
                        ),
                        "standard_clause": it.standard_clause,
                        "clause_verified": it.verified,
                        "title": it.title if language == "zh" else it.title_en,
                        "title_zh": it.title,
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
        dates += [r.recorded for r in records.values()]
        all_waivers = [w for ws in waivers.values() for w in ws]
        content: dict[str, Any] = {
            "schema": SCHEMA,
            "title": (TITLE_SUPPLEMENTARY if retest else TITLE)[language],
            "kind": "supplementary" if retest else run.kind,
            # A supplementary report (补充检测报告) names the report it supplements and the changes it covers.
            "supplements": (
                {k: retest["baseline"][k] for k in ("number", "revision", "issued", "tests_completed")}
                if retest
                else None
            ),
            "changes": retest.get("analysis") if retest else None,
            "language": language,
            "number": number,
            "revision": revision,
            "supersedes": None,  # {"number", "revision", "reason"} for a correction
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
                "spec_sha256": sample.spec_sha256,
                "hardware": spec.get("hardware", []),
                "images": [
                    {"model": d.get("model"), "image_id": d["image_id"]}
                    for d in run.deployments or []
                    if d.get("image_id")
                ],
            },
            "basis": {
                "standard": cat.standard.id,
                "title": cat.standard.title if language == "zh" else cat.standard.title_en,
                "items": [i["item_id"] for i in items],
                "clauses": [
                    {"item_id": i["item_id"], "title": i["title"], "applicable": i["verdict"] != NOT_APPLICABLE}
                    for i in items
                ],
                "note": BASIS_NOTE[language],
            },
            "dates": {
                "received": sample.received.isoformat(),
                "tests_started": min(dates).date().isoformat() if dates else run.started.date().isoformat(),
                "tests_completed": completed.isoformat(),
                "issued": None,  # set when the report is approved
                "due": due,
                "due_working_days": SUBMISSION_WORKING_DAYS,
                "due_note": due_note,
            },
            "environment": run.environment,
            "deployments": run.deployments,
            "run": {"id": run.id, "status": run.status, "kind": run.kind},
            "items": items,
            "functional": functional,
            "summary": {k: counts.get(k, 0) for k in VERDICTS},
            "per_model": per_model_summary,
            "models": models,
            "deviations": all_waivers,
            "exclusions": [
                {"item_id": i["item_id"], "title": i["title"], "reason": i["observed"]}
                for i in items + functional
                if i["verdict"] == NOT_APPLICABLE
            ],
            "statement": STATEMENT[language],
            "decision_rule": DECISION_RULE[language],
            "evidence_manifest": None,  # {"sha256", "files"}: set when the report folder is written
            "signatures": {"prepared": None, "reviewed": None, "approved": None},
        }
        content["conclusion"] = conclusion(content)
        return content


def unfinished(content: dict[str, Any]) -> list[str]:
    """The items that stop a report being final: pending (待判定) or lab errors (检测异常)."""
    return [
        f"{i['item_id']} ({i['verdict']})"
        for i in content["items"] + content.get("functional", [])
        if i["verdict"] in (PENDING, LAB_ERROR)
    ]


def conclusion(content: dict[str, Any]) -> str:
    s = content["summary"]
    std = content["basis"]["standard"]
    en = content.get("language") == "en"
    waived = s.get(WAIVED, 0)
    if s[LAB_ERROR] or s[PENDING]:
        if en:
            return (
                f"Testing is not complete: {s[PENDING]} item(s) pending, {s[LAB_ERROR]} lab error(s); "
                "no overall conclusion is given."
            )
        return f"检测尚未完成：{s[PENDING]} 项待判定，{s[LAB_ERROR]} 项检测异常（实验室原因），暂不作总体结论。"
    waived_zh = f"另有 {waived} 项经批准豁免，未作符合性判定（见第六部分）。" if waived else ""
    waived_en = f" {waived} item(s) are waived by approval and not judged (see section 6)." if waived else ""
    if s[NONCONFORM]:
        bad = [
            f"{i['item_id']} {i['title']}"
            for i in content["items"] + content.get("functional", [])
            if i["verdict"] == NONCONFORM
        ]
        if en:
            return f"{s[NONCONFORM]} item(s) do not conform to {std}: {'; '.join(bad)}.{waived_en}"
        return f"所检项目中 {s[NONCONFORM]} 项不符合 {std} 要求：{'；'.join(bad)}。{waived_zh}"
    if en:
        return (
            f"All items tested conform to {std} ({s[CONFORM]} conform, {s[NOT_APPLICABLE]} not applicable)." + waived_en
        )
    return f"所检项目均符合 {std} 要求（{s[CONFORM]} 项符合，{s[NOT_APPLICABLE]} 项不适用）。{waived_zh}"


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
