"""One row of the report's results per planned item: its verdict from the checks' verdicts, an
engineer's record, a retest's carried verdict or a waiver, and what was observed, in both languages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from harness import clock
from harness.catalogue import SEVERITY_ZH
from harness.config import LabIdentity
from harness.plan import PlannedItem
from harness.report.evidence_titles import evidence_title_en
from harness.report.terms import CONFORM, LAB_ERROR, NONCONFORM, NOT_APPLICABLE, PENDING, WAIVED, tx
from harness.results import ItemRecordEntry, Outcome, VerdictRecord, WaiverRecord
from harness.results.content import (
    CheckEntry,
    CheckEvidence,
    EvidenceEntry,
    ItemRow,
    Observation,
    Opinion,
    Recorded,
    Text,
    WaiverEntry,
)
from harness.results.outcomes import OUTCOME_ZH


def item_verdict(outcomes: list[str]) -> str:
    """An item's verdict from its checks' outcomes: any failure decides; then any lab error; a check
    that observed but had nothing to judge against leaves it to the engineer (待判定)."""
    if not outcomes:
        return PENDING
    if Outcome.FAIL in outcomes:
        return NONCONFORM
    if Outcome.ERROR in outcomes:
        return LAB_ERROR
    if Outcome.REVIEW in outcomes:
        return PENDING
    if all(o == Outcome.NOT_APPLICABLE for o in outcomes):
        return NOT_APPLICABLE
    return CONFORM


def waiver_entry(w: WaiverRecord, as_of: date) -> WaiverEntry:
    return WaiverEntry(
        id=w.id,
        clause_id=w.clause_id,
        kind="waiver" if w.kind == "waiver" else "deviation",
        justification=tx(w.justification, w.justification_en),
        approved_by=w.approved_by,
        approved_on=w.approved_on.isoformat(),
        expires=w.expires.isoformat(),
        scope={"kind": "run", "id": w.run_id} if w.run_id else {"kind": "sample", "id": w.sample_id},
        active=w.expires >= as_of and w.approved_on <= as_of,
    )


# -- a lab error, stated in the report's languages ------------------------------------------------

_ERROR_TEXT: list[tuple[str, Text]] = [
    ("UnitConnectionError", tx("无法连接检测单元，本项检查未执行", "the test unit could not be reached; not run")),
    ("ImageBuildError", tx("样品镜像构建失败，本项检查未执行", "the sample's image could not be built; not run")),
    (
        "SampleDied",
        tx(
            "样品在检测过程中停止运行，本项检查的结论不能成立",
            "the sample stopped running during the check, so no verdict can stand",
        ),
    ),
    ("DeployError", tx("样品未能部署到检测环境，本项检查未执行", "the sample could not be deployed; not run")),
    (
        "OutOfScope",
        tx(
            "检查试图访问测试范围以外的地址，已被实验室拦截，本项检查未完成",
            "the check tried to reach an address outside the test scope and was stopped; not completed",
        ),
    ),
    ("NamespaceError", tx("实验室网络隔离环境未能建立，本项检查未执行", "the lab's network isolation failed; not run")),
    ("ProbeError", tx("探测工具未能完成测量，本项检查未完成", "the measuring tool could not complete; not completed")),
    ("SampleTimeout", tx("样品在时限内未应答，本项检查未完成", "the sample did not answer in time; not completed")),
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


def verdict_observation(v: VerdictRecord) -> Text:
    if v.outcome == Outcome.ERROR:
        return error_text(v.error)
    if v.outcome == Outcome.NOT_APPLICABLE:
        return tx(
            f"不适用：{v.detail}" if v.detail else "不适用", f"not applicable: {v.summary_en}" if v.summary_en else None
        )
    if v.outcome == Outcome.REVIEW:
        # What was observed, and what the engineer has to decide (the check's own words).
        zh = f"{v.summary}；" if v.summary else ""
        en = f"{v.summary_en}; " if v.summary_en else None
        return tx(
            f"{zh}待检测工程师判定：{v.detail}",
            f"{en}for a test engineer to judge (nothing declared to judge it against)" if en is not None else None,
        )
    zh = v.summary or (
        "检查未通过，未记录观察结果（详情见证据文件）" if v.outcome == Outcome.FAIL else OUTCOME_ZH[v.outcome]
    )
    en = v.summary_en or None
    if not v.summary and v.outcome == Outcome.FAIL:
        en = "the check did not pass; no observation was recorded (see the evidence file)"
    return tx(zh, en)


def declared_reason(reason: str) -> Text:
    """Why the plan holds an item not applicable: the spec's words (the applicant's), quoted in English."""
    no_scenario = "未编写场景："
    if reason.startswith(no_scenario):
        return tx(reason, f"no scenario was written: “{reason.removeprefix(no_scenario)}”")
    return tx(
        reason, f"declared not applicable in the sample's spec: “{reason}”" if reason else "declared not applicable"
    )


def _pending(zh: str, en: str) -> list[Observation]:
    return [Observation(text=tx(zh, en), outcome="pending")]


@dataclass
class RowSources:
    """What a run's rows are made of, read from the lab record once."""

    verdicts: list[VerdictRecord]
    records: dict[str, ItemRecordEntry]  # the latest record of each item
    waivers: dict[str, list[WaiverEntry]]
    only: list[str] | None  # a retest's items (None: everything)
    baseline: dict[str, Any] | None  # a retest's baseline report (number, revision, issued, items)
    lab: LabIdentity | None
    opinions: list[Opinion] = field(default_factory=list)  # collected while rows are made

    def verdicts_of(self, item_id: str) -> list[VerdictRecord]:
        return [v for v in self.verdicts if item_id in v.clause_ids]


def _recorded(rec: ItemRecordEntry, lab: LabIdentity | None) -> Recorded:
    person = lab.person(rec.engineer) if lab is not None else None
    return Recorded(
        engineer=rec.engineer,
        engineer_en=person.name_en if person is not None else None,
        at=clock.iso(rec.recorded),
        evidence=[dict(e) for e in rec.evidence],
        reference=rec.reference,
        no_evidence_reason=rec.no_evidence_reason,
    )


def _carried(p: PlannedItem, src: RowSources) -> tuple[str, list[Observation], dict[str, Any] | None]:
    """A retest's item outside its changes: the baseline's verdict and observations, or pending."""
    base = (src.baseline or {}).get("items", {}).get(p.item_id)
    if base is None:
        return (
            PENDING,
            _pending(
                "本次复测范围外，基线报告无此项结论",
                "outside this retest, and the baseline report has no verdict on it",
            ),
            None,
        )
    prior = base["observed"]
    observed = []
    for o in prior if isinstance(prior, list) else [prior]:
        try:
            observed.append(Observation.model_validate(o))
        except ValueError:
            observed.append(Observation(text=tx(str(o), None), outcome="carried"))
    assert src.baseline is not None
    return base["verdict"], observed, {k: src.baseline[k] for k in ("number", "revision", "issued")}


def item_row(n: int, p: PlannedItem, meta: dict[str, Any], src: RowSources) -> ItemRow:
    """The row of one planned item. `meta`: its chapter, titles, requirement, method and severity key."""
    vs = src.verdicts_of(p.item_id)
    outcomes = [str(v.outcome) for v in vs]
    checked = item_verdict(outcomes) if vs else None
    # An engineer's record decides an item no check decides, or one its checks left to the engineer.
    rec = src.records.get(p.item_id) if p.applicable and checked in (None, PENDING) else None
    recorded: Recorded | None = None
    carried: dict[str, Any] | None = None
    from_checks = [
        Observation(on=v.model, check=v.check_id, text=verdict_observation(v), outcome=v.outcome) for v in vs
    ]
    if not p.applicable:
        verdict = NOT_APPLICABLE
        observed = [Observation(text=declared_reason(p.reason or ""), outcome="not_applicable")]
    elif rec is not None:
        verdict = rec.verdict
        observed = [*from_checks, Observation(text=tx(rec.note, rec.note_en), outcome="recorded")]
        recorded = _recorded(rec, src.lab)
    elif not vs and src.only is not None and p.item_id not in src.only:
        verdict, observed, carried = _carried(p, src)
    elif not vs:
        kind_zh, kind_en = {
            "document": ("文档审查", "document review"),
            "semi": ("半自动检测", "semi-automated testing"),
        }.get(p.method_kind, ("检测", "testing"))
        verdict = PENDING
        observed = _pending(
            f"尚无结果：{kind_zh}项，待检测工程师审查并记录",
            f"no result yet: an item of {kind_en}, to be reviewed and recorded by a test engineer",
        )
    else:
        verdict, observed = item_verdict(outcomes), from_checks
    for v in vs:
        for h in v.hints:
            src.opinions.append(Opinion(item_id=p.item_id, on=v.model, text=tx(h.get("zh") or "", h.get("en"))))
    applying = [w for w in src.waivers.get(p.item_id, []) if w.active] if p.applicable else []
    waiver = next((w for w in applying if w.kind == "waiver"), None)
    return ItemRow(
        no=n,
        item_id=p.item_id,
        **meta,
        method_kind=p.method_kind,
        observed=observed,
        verdict=WAIVED if waiver is not None else verdict,
        tested_verdict=verdict,
        severity=SEVERITY_ZH[meta["severity_key"]] if verdict == NONCONFORM and waiver is None else "",
        recorded=recorded,
        carried=carried,
        waiver=waiver,
        deviation=next((w for w in applying if w.kind == "deviation"), None),
        expired_waivers=[w for w in src.waivers.get(p.item_id, []) if not w.active],
        per_model={
            m: item_verdict([str(v.outcome) for v in vs if v.model == m]) for m in sorted({v.model for v in vs})
        },
        checks=[
            CheckEntry(
                check_id=v.check_id,
                model=v.model,
                outcome=v.outcome,
                evidence=[CheckEvidence(title=e.title, kind=e.kind, path=e.path, sha256=e.sha256) for e in v.evidence],
            )
            for v in vs
        ],
        evidence=[
            EvidenceEntry(
                title=tx(e.title, evidence_title_en(e.title, e.kind)), kind=e.kind, path=e.path, sha256=e.sha256
            )
            for v in vs
            for e in v.evidence
        ]
        + [
            EvidenceEntry(title=tx(e["title"], e["title"]), kind="record", path=e["path"], sha256=e["sha256"])
            for e in (recorded.evidence if recorded else [])
        ],
    )
