"""The report's content, built from the lab record alone (through harness.results), so it can be
re-rendered years later.

One content (harness.results.content.ReportContent) serves every rendering: free text is kept as
``{"zh": ..., "en": ...}`` (``en`` null where no English was recorded: the English rendering then
says so, it never falls back to Chinese), verdicts as the lab states them (符合 / 不符合 / ...),
translated by the renderer. Every string passes the privacy filter (harness.report.privacy) before it
is part of the content. The run's record is verified first (harness.results.verify_run), and the
head of its verdict chain is fixed in the content, so `harness verify` finds any later change.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from harness import clock, results
from harness.catalogue import Catalogue, load_catalogue
from harness.config import lab_config, lab_identity_or_none
from harness.plan import PlannedItem
from harness.report import labels as lb
from harness.report.conclusion import conclusion, functional_conclusion
from harness.report.configurations import configurations, hardware_statement
from harness.report.deadline import SUBMISSION_WORKING_DAYS, CalendarGap, due_date
from harness.report.labels import check_language
from harness.report.privacy import Redactor
from harness.report.rows import RowSources, item_row, waiver_entry
from harness.report.terms import NOT_APPLICABLE, VERDICTS, RecordBroken, ReportError, tx
from harness.results import RunRecord, SampleRecord, VerdictRecord
from harness.results.content import (
    SCHEMA,
    Basis,
    BasisClause,
    Dates,
    Exclusion,
    ItemRow,
    Lab,
    ReportContent,
    RunInfo,
    SampleInfo,
    WaiverEntry,
)
from harness.results.outcomes import OUTCOME_ZH


def _lab() -> Lab:
    ident = lab_identity_or_none()
    if ident is None:
        missing = tx("（未配置：缺少实验室配置文件）", "(not configured: the lab configuration file is missing)")
        return Lab(configured=False, name=missing, address=missing, accreditation="", location=missing)
    return Lab(
        configured=True,
        name=tx(ident.name, ident.name_en),
        address=tx(ident.address, ident.address_en),
        accreditation=ident.accreditation,
        location=tx(ident.location, ident.location_en),
        time_zone=ident.time_zone,
    )


def _catalogue_rows(plan_items: list[PlannedItem], cat: Catalogue, src: RowSources) -> list[ItemRow]:
    rows = []
    for n, p in enumerate(plan_items, start=1):
        it = cat.item(p.item_id)
        ch = cat.chapter(it.chapter)
        meta = {
            "chapter": it.chapter,
            "chapter_title": tx(ch.title, ch.title_en),
            "standard_clause": it.standard_clause,
            "clause_verified": it.verified,
            "title": tx(it.title, it.title_en),
            "requirement": tx(it.requirement, it.requirement_en),
            "method": tx(it.method, it.method_en),
            "severity_key": it.severity,
        }
        rows.append(item_row(n, p, meta, src))
    return rows


def _functional_rows(plan_items: list[PlannedItem], spec: dict[str, Any], src: RowSources) -> list[ItemRow]:
    """The sample's use cases (the applicant's own words, quoted in English) and API conformance."""
    use_cases = {uc["id"]: uc for uc in spec["documentation"]["use_cases"]}
    rows = []
    for n, p in enumerate(plan_items, start=1):
        uc = use_cases.get(p.item_id)
        if uc is not None:
            scenario = uc.get("scenario")
            meta: dict[str, Any] = {
                "title": tx(uc["title"], f"“{uc['title']}”"),
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
        meta |= {
            "chapter": "F",
            "chapter_title": tx("功能测试", "Functional tests"),
            "standard_clause": None,
            "clause_verified": True,
            "severity_key": "major",
        }
        rows.append(item_row(n, p, meta, src))
    return rows


def _dates(run: RunRecord, sample: SampleRecord, verdicts: list[VerdictRecord], src: RowSources) -> Dates:
    finished = run.finished or clock.stamp()
    completed = finished.date()
    due: str | None
    try:
        due, due_note = due_date(completed).isoformat(), tx("", "")
    except CalendarGap as e:
        due, due_note = None, lb.calendar_gap_text(e)
    times = [v.started for v in verdicts] + [v.finished for v in verdicts]
    times += [r.recorded for r in src.records.values()]
    started = min(times) if times else run.started
    ended = max([finished, *times])
    return Dates(
        received=sample.received.isoformat(),
        tests_started=started.date().isoformat(),
        tests_completed=completed.isoformat(),
        tests_started_at=clock.iso(started),
        tests_ended_at=clock.iso(ended),
        time_zone=clock.zone_label(ended),
        due=due,
        due_working_days=SUBMISSION_WORKING_DAYS,
        due_note=due_note,
    )


def _sample(sample: SampleRecord, run: RunRecord, spec: dict[str, Any]) -> SampleInfo:
    return SampleInfo(
        registration=sample.id,
        name=sample.name,
        version=sample.version,
        certification_unit=spec["certification_unit"],
        kind=spec["sample"]["kind"],
        condition=spec["sample"]["condition"],
        media=sample.media,
        spec_sha256=sample.spec_sha256,
        hardware=spec.get("hardware", []),
        images=[{"model": d.get("model"), "image_id": d["image_id"]} for d in run.deployments if d.get("image_id")],
        # CNAS-CL01 7.8.2.1 j: how the sample reached the lab.
        supply=lb.text_of("supply_surveillance" if run.kind == "surveillance" else "supply_submitted"),
    )


def _read_record(run_id: str, as_of: date) -> tuple[RunRecord, SampleRecord, RowSources, results.RunVerification]:
    """The run, its sample and everything its rows are made of, after the run's record verified."""
    run = results.get_run(run_id)
    if run is None:
        raise ReportError(f"no run {run_id!r} in the lab database ({lab_config().db_url})")
    if run.plan is None:
        raise ReportError(f"run {run_id} has no plan: it ended before its checks were collected")
    sample = results.get_sample(run.sample_id)
    assert sample is not None, run.sample_id
    sealed = results.verify_run(run_id)
    if not sealed.ok:
        raise RecordBroken(
            f"the lab record of run {run_id} does not verify, so no report is built on it: "
            + "; ".join(sealed.problems[:5])
            + (f" (and {len(sealed.problems) - 5} more)" if len(sealed.problems) > 5 else "")
        )
    waivers: dict[str, list[WaiverEntry]] = {}
    for w in results.waivers_for(run_id, run.sample_id):
        waivers.setdefault(w.clause_id, []).append(waiver_entry(w, as_of))
    src = RowSources(
        verdicts=results.verdicts_of(run_id),
        records={r.item_id: r for r in results.item_records_of(run_id)},  # the latest of an item wins
        waivers=waivers,
        only=run.plan.only,
        baseline=(run.retest or {}).get("baseline"),
        lab=lab_identity_or_none(),
    )
    return run, sample, src, sealed


def build_content(
    run_id: str, number: str, revision: int = 1, language: str = "zh", as_of: date | None = None
) -> ReportContent:
    """The report's content for a run, as of a date (waiver expiry is judged on it)."""
    check_language(language)
    run, sample, src, sealed = _read_record(run_id, as_of or clock.today())
    assert run.plan is not None
    spec = sample.spec_snapshot
    cat = load_catalogue(run.plan.basis)
    items = _catalogue_rows(run.plan.items, cat, src)
    functional = _functional_rows(run.plan.functional, spec, src)
    verdicts = src.verdicts
    models = sorted({v.model for v in verdicts})
    configs = configurations(run.deployments, spec.get("hardware") or [], run.environment)
    retest = run.retest or {}
    counts = Counter(i.verdict for i in items)
    f_counts = Counter(i.verdict for i in functional)
    blank = tx("", "")
    content = ReportContent(
        schema=SCHEMA,
        title=lb.text_of("title_supplementary" if retest else "title"),
        kind="supplementary" if retest else run.kind,
        # A supplementary report (补充检测报告) names the report it supplements and the changes it covers.
        supplements={k: retest["baseline"][k] for k in ("number", "revision", "issued", "tests_completed")}
        if retest
        else None,
        changes=retest.get("analysis") if retest else None,
        language=language,
        number=number,
        revision=revision,
        lab=_lab(),
        applicant=spec["applicant"],
        producer=spec["producer"],
        sample=_sample(sample, run, spec),
        basis=Basis(
            standard=cat.standard.id,
            title=tx(cat.standard.title, cat.standard.title_en),
            items=[i.item_id for i in items],
            applicable=sum(1 for i in items if i.verdict != NOT_APPLICABLE),
            clauses=[
                BasisClause(item_id=i.item_id, title=i.title, applicable=i.verdict != NOT_APPLICABLE) for i in items
            ],
            note=lb.text_of("basis_note"),
        ),
        dates=_dates(run, sample, verdicts, src),
        tested_on=configs,
        hardware_statement=hardware_statement(configs, spec.get("hardware") or []),
        environment={k: v for k, v in run.environment.items() if k in ("host", "os", "tools")},
        deployments=[
            {k: d.get(k) for k in ("model", "backend", "status", "error", "image_id", "unit", "standin")}
            for d in run.deployments
        ],
        run=RunInfo(id=run.id, status=run.status, kind=run.kind),
        items=items,
        functional=functional,
        # Items of the standard only; use cases and API conformance are counted apart.
        summary={k: counts.get(k, 0) for k in VERDICTS},
        functional_summary={k: f_counts.get(k, 0) for k in VERDICTS},
        # Counts of checks (one check on one configuration), not of items.
        per_model={m: dict(Counter(OUTCOME_ZH[v.outcome] for v in verdicts if v.model == m)) for m in models},
        models=models,
        deviations=[w for ws in src.waivers.values() for w in ws],
        exclusions=[
            Exclusion(item_id=i.item_id, title=i.title, reason=i.observed[0].text)
            for i in items + functional
            if i.verdict == NOT_APPLICABLE and i.observed
        ],
        opinions=src.opinions,
        statement=lb.text_of("statement"),
        applicant_information=lb.text_of("applicant_information"),
        decision_rule=lb.text_of("decision_rule"),
        conclusion=blank,
        functional_conclusion=blank,
    )
    content.conclusion = conclusion(content)
    content.functional_conclusion = functional_conclusion(content)
    safe = ReportContent.from_json(Redactor.for_spec(spec).walk(content.to_json()))
    # The seal goes in after the privacy filter: a digest is never personal data.
    safe.run.chain_head = sealed.head
    safe.run.chained_verdicts = sealed.verdicts - sealed.unchained
    return safe
