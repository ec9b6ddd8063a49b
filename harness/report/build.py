"""The report model: built from the lab database alone, so it can be re-rendered years later.

One content serves every rendering: free text is kept as ``{"zh": ..., "en": ...}`` (``en`` null
where no English was recorded: the English rendering then says so, it never falls back to Chinese),
verdicts as the lab states them (符合 / 不符合 / ...), translated by the renderer. Every string
passes the privacy filter (harness.report.privacy) before it is part of the content.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy import select

from harness import clock
from harness.catalogue import SEVERITY_ZH, load_catalogue
from harness.config import lab_config, lab_identity_or_none
from harness.errors import InputError
from harness.report import labels as lb
from harness.report.deadline import SUBMISSION_WORKING_DAYS, CalendarGap, due_date
from harness.report.labels import check_language
from harness.report.privacy import Redactor
from harness.results.outcomes import OUTCOME_ZH
from harness.store import Evidence, Run, Sample, Verdict, session
from harness.store.models import ItemRecord, Waiver

# Item verdicts as the report states them.
CONFORM, NONCONFORM, NOT_APPLICABLE, PENDING, LAB_ERROR = "符合", "不符合", "不适用", "待判定", "检测异常"
WAIVED = "豁免"  # an approved waiver: never a pass
VERDICTS = (CONFORM, NONCONFORM, NOT_APPLICABLE, WAIVED, PENDING, LAB_ERROR)
SCHEMA = "fintech-lab-harness/report/3"
Text = dict[str, str | None]  # {"zh": ..., "en": ...}


class ReportError(InputError):
    pass


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode()


def tx(zh: str, en: str | None) -> Text:
    return {"zh": zh, "en": en}


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
        "justification": tx(w.justification, w.justification_en),
        "approved_by": w.approved_by,
        "approved_on": w.approved_on.isoformat(),
        "expires": w.expires.isoformat(),
        "scope": {"kind": "run", "id": w.run_id} if w.run_id else {"kind": "sample", "id": w.sample_id},
        "active": w.expires >= as_of and w.approved_on <= as_of,
    }


# -- where each result was obtained ---------------------------------------------------------------


def configurations(deployments: list[dict[str, Any]], hardware: list[dict[str, Any]], env: dict[str, Any]) -> list:
    """Each deployment the run used, as the report names it: what it is, which declared model it
    stands for, and whether it is the declared hardware (CNAS-CL01 7.8.2.1 c; rule 001 §8.1.1)."""
    declared = [str(h.get("model")) for h in hardware]
    out = []
    for d in deployments:
        backend, model = d.get("backend", ""), str(d.get("model", ""))
        host = d.get("host") or ""
        if backend == "terminal":
            unit = f"{d.get('unit', '')}（{d.get('serial', '')}）" if d.get("serial") else str(d.get("unit", ""))
            unit_en = f"{d.get('unit', '')} ({d.get('serial', '')})" if d.get("serial") else str(d.get("unit", ""))
            standin = bool(d.get("standin"))
            label = tx(f"{model} 代用单元" if standin else f"{model} 单元", f"{model} stand-in" if standin else model)
            what = tx(
                f"{'代用单元' if standin else '声明型号单元'} {unit}，地址 {host}，{d.get('os', '')}",
                f"{'stand-in unit' if standin else 'unit of the declared model'} {unit_en}, address {host}, "
                f"{d.get('os', '')}",
            )
            stands_for, used = [model], not standin
        elif backend == "container":
            image = str(d.get("image_id") or "")[:19]
            label = tx("实验室容器", "lab container")
            what = tx(
                f"实验室主机 {env.get('host', '')} 上的容器（镜像 {image}，{d.get('cpus', '-')} CPU，"
                f"内存 {d.get('memory_mb', '-')} MB）",
                f"a container on the lab host {env.get('host', '')} (image {image}, {d.get('cpus', '-')} CPU, "
                f"{d.get('memory_mb', '-')} MB memory)",
            )
            stands_for, used = declared, not declared
        else:
            label = tx("实验室主机", "lab host")
            what = tx(
                f"实验室主机 {env.get('host', '')}（{env.get('os', '')}），样品以进程方式部署",
                f"the lab host {env.get('host', '')} ({env.get('os', '')}), the sample deployed as a process",
            )
            stands_for, used = declared, not declared
        out.append(
            {
                "model": model,
                "backend": backend,
                "label": label,
                "what": what,
                "stands_for": stands_for,
                "declared_hardware": used,
                "deployed": d.get("status") == "deployed",
            }
        )
    return out


def hardware_statement(configs: list[dict[str, Any]], hardware: list[dict[str, Any]]) -> Text:
    declared = [str(h.get("model")) for h in hardware]
    if not declared:
        return tx(
            "样品未声明专用硬件，检测在下列配置上进行。",
            "The sample declares no dedicated hardware; it was tested on the configurations below.",
        )
    not_used = [c for c in configs if not c["declared_hardware"]]
    if not not_used:
        return tx(
            f"检测在委托方声明型号（{'、'.join(declared)}）的单元上进行。",
            f"The sample was tested on units of the declared models ({', '.join(declared)}).",
        )
    on = "、".join(str(c["label"]["zh"]) for c in not_used)
    on_en = ", ".join(str(c["label"]["en"]) for c in not_used)
    return tx(
        f"本次检测未使用委托方声明的硬件（{'、'.join(declared)}）：检测在{on}上进行，代替声明型号；"
        "检测结果是在该配置上获得的，不代表样品在声明硬件上的表现。",
        f"The declared hardware ({', '.join(declared)}) was NOT used: the sample was tested on the {on_en} "
        "standing in for the declared models; the results were obtained on that configuration and do not "
        "show how the sample behaves on the declared hardware.",
    )


# -- a lab error, stated in the report's languages ------------------------------------------------

_ERROR_TEXT: list[tuple[str, Text]] = [
    ("UnitConnectionError", tx("无法连接检测单元，本项检查未执行", "the test unit could not be reached; not run")),
    ("ImageBuildError", tx("样品镜像构建失败，本项检查未执行", "the sample's image could not be built; not run")),
    ("DeployError", tx("样品未能部署到检测环境，本项检查未执行", "the sample could not be deployed; not run")),
    (
        "OutOfScope",
        tx(
            "检查试图访问测试范围以外的地址，已被实验室拦截，本项检查未完成",
            "the check tried to reach an address outside the test scope and was stopped; not completed",
        ),
    ),
    ("ProbeError", tx("探测工具未能完成测量，本项检查未完成", "the measuring tool could not complete; not completed")),
    (
        "DriverError",
        tx(
            "实验室驱动未能按规格与样品交互，本项检查未完成",
            "the lab's driver could not work with the sample as its spec describes; not completed",
        ),
    ),
    ("TimeoutError", tx("实验室操作超时，本项检查未完成", "a lab operation timed out; not completed")),
    ("ConnectionError", tx("与样品的网络连接失败，本项检查未完成", "the network connection to the sample failed")),
    ("NotRun", tx("本项检查未执行", "the check did not run")),
    (
        "NoEvidence",
        tx("检查未留下可作判定依据的证据，结论不能成立", "the check left no evidence, so no verdict can stand"),
    ),
    ("OSError", tx("实验室环境的系统调用失败，本项检查未完成", "a system call of the lab failed; not completed")),
]
_ERROR_DEFAULT = tx(
    "因实验室原因（工具或环境异常）本项检查未能完成", "the check could not be completed for a reason of the lab's"
)
_ERROR_TAIL = tx(
    "；原始错误信息见证据文件“失败详情”，须复测", "; the raw error is in the evidence file; to be retested"
)


def error_text(error: dict[str, Any] | None) -> Text:
    """A lab error as a sentence: the error's own Chinese sentence if it carried one, else one by
    its kind; the raw detail stays in the evidence file."""
    kinds = (error or {}).get("kinds") or []
    base = next((t for k, t in _ERROR_TEXT if k in kinds), _ERROR_DEFAULT)
    zh = (error or {}).get("zh") or base["zh"]
    return tx(f"{zh}{_ERROR_TAIL['zh']}", f"{base['en']}{_ERROR_TAIL['en']}")


# -- the content ----------------------------------------------------------------------------------


def _lab_json() -> dict[str, Any]:
    ident = lab_identity_or_none()
    if ident is None:
        missing = tx("（未配置：缺少实验室配置文件）", "(not configured: the lab configuration file is missing)")
        return {"configured": False, "name": missing, "address": missing, "accreditation": "", "location": missing}
    return {
        "configured": True,
        "name": tx(ident.name, ident.name_en),
        "address": tx(ident.address, ident.address_en),
        "accreditation": ident.accreditation,
        "location": tx(ident.location, ident.location_en),
        "time_zone": ident.time_zone,
    }


def _verdict_observation(v: Verdict) -> Text:
    if v.outcome == "error":
        return error_text(v.error)
    if v.outcome == "not_applicable":
        return tx(f"不适用：{v.detail}" if v.detail else "不适用", None)
    zh = v.summary or ("检查未通过，未记录观察结果（详情见证据文件）" if v.outcome == "fail" else OUTCOME_ZH[v.outcome])
    en = v.summary_en or None
    if not v.summary and v.outcome == "fail":
        en = "the check did not pass; no observation was recorded (see the evidence file)"
    return tx(zh, en)


def _evidence_title(title: str, kind: str) -> Text:
    return tx(title, lb.evidence_title_en(title, kind))


def _declared_reason(reason: str) -> Text:
    """Why the plan holds an item not applicable: the spec's words (the applicant's), quoted in English."""
    no_scenario = "未编写场景："
    if reason.startswith(no_scenario):
        return tx(reason, f"no scenario was written: “{reason.removeprefix(no_scenario)}”")
    return tx(
        reason, f"declared not applicable in the sample's spec: “{reason}”" if reason else "declared not applicable"
    )


def build_content(
    run_id: str, number: str, revision: int = 1, language: str = "zh", as_of: date | None = None
) -> dict[str, Any]:
    """The report's content (its JSON truth) for a run, as of a date (waiver expiry is judged on it)."""
    cfg = lab_config()
    check_language(language)
    as_of = as_of or clock.today()
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
        configs = configurations(run.deployments or [], spec.get("hardware") or [], run.environment or {})
        ident = lab_identity_or_none()
        opinions: list[dict[str, Any]] = []

        def row(n: int, p: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
            vs = [v for v in verdicts if p["item_id"] in v.clause_ids]
            rec = records.get(p["item_id"]) if not vs and p["applicable"] else None
            recorded: dict[str, Any] | None = None
            carried: dict[str, Any] | None = None
            observed: list[dict[str, Any]]
            if not p["applicable"]:
                verdict = NOT_APPLICABLE
                observed = [{"on": None, "text": _declared_reason(p.get("reason") or ""), "outcome": "not_applicable"}]
            elif rec is not None:
                verdict = rec.verdict
                observed = [{"on": None, "text": tx(rec.note, rec.note_en), "outcome": "recorded"}]
                person = ident.person(rec.engineer) if ident is not None else None
                recorded = {
                    "engineer": rec.engineer,
                    "engineer_en": person.name_en if person is not None else None,
                    "at": clock.iso(rec.recorded),
                    "evidence": rec.evidence,
                    "reference": rec.reference,
                    "no_evidence_reason": rec.no_evidence_reason,
                }
            elif not vs and plan.get("only") is not None and p["item_id"] not in plan["only"]:
                base = carried_from.get(p["item_id"])
                if base is not None:
                    # A retest carries the baseline's verdict of an item the changes do not touch.
                    verdict = base["verdict"]
                    prior = base["observed"]
                    observed = (
                        prior
                        if isinstance(prior, list)
                        else [{"on": None, "text": tx(str(prior), None), "outcome": "carried"}]
                    )
                    carried = {k: retest["baseline"][k] for k in ("number", "revision", "issued")}
                else:
                    verdict = PENDING
                    observed = [
                        {
                            "on": None,
                            "text": tx(
                                "本次复测范围外，基线报告无此项结论",
                                "outside this retest, and the baseline report has no verdict on it",
                            ),
                            "outcome": "pending",
                        }
                    ]
            elif not vs:
                verdict = PENDING
                kind_zh, kind_en = {
                    "document": ("文档审查", "document review"),
                    "semi": ("半自动检测", "semi-automated testing"),
                }.get(p["method_kind"], ("检测", "testing"))
                observed = [
                    {
                        "on": None,
                        "text": tx(
                            f"尚无结果：{kind_zh}项，待检测工程师审查并记录",
                            f"no result yet: an item of {kind_en}, to be reviewed and recorded by a test engineer",
                        ),
                        "outcome": "pending",
                    }
                ]
            else:
                verdict = _item_verdict([v.outcome for v in vs])
                observed = [
                    {"on": v.model, "check": v.check_id, "text": _verdict_observation(v), "outcome": v.outcome}
                    for v in vs
                ]
                for v in vs:
                    for h in v.hints or []:
                        opinions.append(
                            {"item_id": p["item_id"], "on": v.model, "text": tx(h.get("zh") or "", h.get("en"))}
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
                        "evidence": [
                            {"title": e.title, "kind": e.kind, "path": e.path, "sha256": e.sha256}
                            for e in ev_by_verdict.get(v.id, [])
                        ],
                    }
                    for v in vs
                ],
                "evidence": [
                    {"title": _evidence_title(e.title, e.kind), "kind": e.kind, "path": e.path, "sha256": e.sha256}
                    for v in vs
                    for e in ev_by_verdict.get(v.id, [])
                ]
                + [
                    {"title": tx(e["title"], e["title"]), "kind": "record", "path": e["path"], "sha256": e["sha256"]}
                    for e in (recorded or {}).get("evidence", [])
                ],
            }

        items: list[dict[str, Any]] = []
        for n, p in enumerate(plan["items"], start=1):
            it = cat.item(p["item_id"])
            ch = cat.chapter(it.chapter)
            items.append(
                row(
                    n,
                    p,
                    {
                        "chapter": it.chapter,
                        "chapter_title": tx(ch.title, ch.title_en),
                        "standard_clause": it.standard_clause,
                        "clause_verified": it.verified,
                        "title": tx(it.title, it.title_en),
                        "requirement": tx(it.requirement, it.requirement_en),
                        "method": tx(it.method, it.method_en),
                        "severity_key": it.severity,
                    },
                )
            )
        use_cases = {uc["id"]: uc for uc in spec["documentation"]["use_cases"]}
        functional: list[dict[str, Any]] = []
        for n, p in enumerate(plan.get("functional", []), start=1):
            uc = use_cases.get(p["item_id"])
            if uc is not None:
                scenario = uc.get("scenario")
                meta = {
                    "title": tx(uc["title"], f"“{uc['title']}”"),  # the applicant's own words, quoted
                    "requirement": tx(
                        f"用户文档 {uc['section']} 节所述用例 {uc['id']}",
                        f"use case {uc['id']} of the user documentation, section {uc['section']}",
                    ),
                    "method": tx(f"按用例场景执行（{scenario}）", f"run as the scenarios of {scenario}")
                    if scenario
                    else tx("按用户文档操作", "operated as the user documentation says"),
                }
            else:
                meta = {
                    "title": tx("接口一致性（OpenAPI）", "API conformance (OpenAPI)"),
                    "requirement": tx(
                        "样品行为与其接口文档（OpenAPI）所述状态码及数据结构一致，无服务端错误",
                        "the sample answers with the status codes and data structures its interface document "
                        "(OpenAPI) describes, without server errors",
                    ),
                    "method": tx(
                        "以 Schemathesis 按接口文档生成请求并校验应答",
                        "requests generated from the interface document and answers checked with Schemathesis",
                    ),
                }
            functional.append(
                row(
                    n,
                    p,
                    {
                        **meta,
                        "chapter": "F",
                        "chapter_title": tx("功能测试", "Functional tests"),
                        "standard_clause": None,
                        "clause_verified": True,
                        "severity_key": "major",
                    },
                )
            )

        counts = Counter(i["verdict"] for i in items)
        f_counts = Counter(i["verdict"] for i in functional)
        models = sorted({v.model for v in verdicts})
        per_model = {m: dict(Counter(OUTCOME_ZH[v.outcome] for v in verdicts if v.model == m)) for m in models}
        finished = run.finished or clock.stamp()
        completed = finished.date()
        try:
            due = due_date(completed).isoformat()
        except CalendarGap as e:
            due, due_note = None, lb.calendar_gap_text(e)
        else:
            due_note = tx("", "")
        times = [v.started for v in verdicts] + [v.finished for v in verdicts] + [r.recorded for r in records.values()]
        started = min(times) if times else run.started
        ended = max([finished, *times])
        all_waivers = [w for ws in waivers.values() for w in ws]
        content: dict[str, Any] = {
            "schema": SCHEMA,
            "title": lb.text_of("title_supplementary" if retest else "title"),
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
            "lab": _lab_json(),
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
                # CNAS-CL01 7.8.2.1 j: how the sample reached the lab.
                "supply": lb.text_of("supply_surveillance" if run.kind == "surveillance" else "supply_submitted"),
            },
            "basis": {
                "standard": cat.standard.id,
                "title": tx(cat.standard.title, cat.standard.title_en),
                "items": [i["item_id"] for i in items],
                "applicable": sum(1 for i in items if i["verdict"] != NOT_APPLICABLE),
                "clauses": [
                    {"item_id": i["item_id"], "title": i["title"], "applicable": i["verdict"] != NOT_APPLICABLE}
                    for i in items
                ],
                "note": lb.text_of("basis_note"),
            },
            "dates": {
                "received": sample.received.isoformat(),
                "tests_started": started.date().isoformat(),
                "tests_completed": completed.isoformat(),
                "tests_started_at": clock.iso(started),
                "tests_ended_at": clock.iso(ended),
                "time_zone": clock.zone_label(ended),
                "issued": None,  # set when the report is approved
                "due": due,
                "due_working_days": SUBMISSION_WORKING_DAYS,
                "due_note": due_note,
            },
            "tested_on": configs,
            "hardware_statement": hardware_statement(configs, spec.get("hardware") or []),
            "environment": {k: v for k, v in (run.environment or {}).items() if k in ("host", "os", "tools")},
            "deployments": [
                {k: d.get(k) for k in ("model", "backend", "status", "error", "image_id", "unit", "standin")}
                for d in run.deployments or []
            ],
            "run": {"id": run.id, "status": run.status, "kind": run.kind},
            "items": items,
            "functional": functional,
            # Items of the standard only; use cases and API conformance are counted apart.
            "summary": {k: counts.get(k, 0) for k in VERDICTS},
            "functional_summary": {k: f_counts.get(k, 0) for k in VERDICTS},
            "per_model": per_model,  # counts of checks (one check on one configuration), not of items
            "models": models,
            "deviations": all_waivers,
            "exclusions": [
                {"item_id": i["item_id"], "title": i["title"], "reason": i["observed"][0]["text"]}
                for i in items + functional
                if i["verdict"] == NOT_APPLICABLE and i["observed"]
            ],
            "opinions": opinions,
            "statement": lb.text_of("statement"),
            "applicant_information": lb.text_of("applicant_information"),
            "decision_rule": lb.text_of("decision_rule"),
            "evidence_manifest": None,  # set when the report folder is written
            "signatures": {"prepared": None, "reviewed": None, "approved": None},
        }
        content["conclusion"] = conclusion(content)
        content["functional_conclusion"] = functional_conclusion(content)
        return Redactor.for_spec(spec).walk(content)


def unfinished(content: dict[str, Any]) -> list[str]:
    """The items that stop a report being final: pending (待判定) or lab errors (检测异常)."""
    return [
        f"{i['item_id']} ({i['verdict']})"
        for i in content["items"] + content.get("functional", [])
        if i["verdict"] in (PENDING, LAB_ERROR)
    ]


def _title(i: dict[str, Any], lang: str) -> str:
    t = i["title"]
    return str(t.get(lang) or t.get("zh")) if isinstance(t, dict) else str(t)


def conclusion(content: dict[str, Any]) -> Text:
    """The overall statement of conformity: requirements of the standard only (CNAS-CL01 7.8.6)."""
    s = content["summary"]
    std = content["basis"]["standard"]
    total = sum(s.values())
    waived = s.get(WAIVED, 0)
    waived_zh = f"另有 {waived} 项经批准豁免，未作符合性判定（见第六部分）。" if waived else ""
    waived_en = f" {waived} item(s) are waived by approval and not judged (see section 6)." if waived else ""
    if s[LAB_ERROR] or s[PENDING]:
        return tx(
            f"检测尚未完成：{std} 检测项目 {total} 项中，{s[PENDING]} 项待判定，{s[LAB_ERROR]} 项检测异常"
            f"（实验室原因），暂不作总体结论。{waived_zh}",
            f"Testing is not complete: of the {total} test items of {std}, {s[PENDING]} are pending and "
            f"{s[LAB_ERROR]} have lab errors; no overall conclusion is given.{waived_en}",
        )
    bad = [i for i in content["items"] if i["verdict"] == NONCONFORM]
    counts_zh = f"符合 {s[CONFORM]} 项，不符合 {s[NONCONFORM]} 项，不适用 {s[NOT_APPLICABLE]} 项"
    counts_en = f"{s[CONFORM]} conform, {s[NONCONFORM]} do not conform, {s[NOT_APPLICABLE]} not applicable"
    if bad:
        return tx(
            f"依据 {std}，检测项目 {total} 项（{counts_zh}）。不符合要求的项目："
            + "；".join(f"{i['item_id']} {_title(i, 'zh')}" for i in bad)
            + f"。{waived_zh}",
            f"Against {std}, {total} test items ({counts_en}). Items that do not conform: "
            + "; ".join(f"{i['item_id']} {_title(i, 'en')}" for i in bad)
            + f".{waived_en}",
        )
    return tx(
        f"依据 {std}，检测项目 {total} 项（{counts_zh}），所检项目均符合要求。{waived_zh}",
        f"Against {std}, {total} test items ({counts_en}): every item tested conforms.{waived_en}",
    )


def functional_conclusion(content: dict[str, Any]) -> Text:
    f = content.get("functional_summary") or {}
    total = sum(f.values())
    if not total:
        return tx("", "")
    bad = [i for i in content.get("functional", []) if i["verdict"] == NONCONFORM]
    zh = (
        f"功能测试（用户文档所述用例及接口一致性）{total} 项：符合 {f.get(CONFORM, 0)} 项，"
        f"不符合 {f.get(NONCONFORM, 0)} 项，不适用 {f.get(NOT_APPLICABLE, 0)} 项"
        + (f"，检测异常 {f.get(LAB_ERROR, 0)} 项" if f.get(LAB_ERROR) else "")
        + (f"，待判定 {f.get(PENDING, 0)} 项" if f.get(PENDING) else "")
        + (f"（不符合：{'、'.join(i['item_id'] for i in bad)}）" if bad else "")
        + "。功能测试不属于检测依据的要求，不计入上述结论。"
    )
    en = (
        f"Functional tests (the user documentation's use cases and API conformance), {total}: "
        f"{f.get(CONFORM, 0)} conform, {f.get(NONCONFORM, 0)} do not conform, {f.get(NOT_APPLICABLE, 0)} not applicable"
        + (f", {f.get(LAB_ERROR, 0)} lab errors" if f.get(LAB_ERROR) else "")
        + (f", {f.get(PENDING, 0)} pending" if f.get(PENDING) else "")
        + (f" (not conforming: {', '.join(i['item_id'] for i in bad)})" if bad else "")
        + ". They are not requirements of the test basis and are not part of the conclusion above."
    )
    return tx(zh, en)


def digest(content: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(content)).hexdigest()
