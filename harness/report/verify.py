"""Judging a report folder: its manifest recomputed against the lab database's and its own, an
approved report's PDF signatures, whether a later revision superseded it; and judging an earlier report
an applicant offers against the sample as it is now (rule 001 §5.2.3)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from harness import clock
from harness.catalogue import load_catalogue
from harness.config import lab_config
from harness.dates import add_months
from harness.report.build import CONFORM, ReportError, digest
from harness.report.folder import MANIFEST, files_digest, folder_files
from harness.report.labels import value
from harness.store import Report, session
from harness.store.models import ReportManifest

FROZEN = ("approved", "submitted", "superseded")


# --- a report folder -------------------------------------------------------------------------


@dataclass
class Verification:
    report_dir: Path
    number: str
    revision: int | None
    against: str  # what the files were compared with
    digest: str
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    signatures: list[str] = field(default_factory=list)  # "report.pdf: valid, signed by ..."
    superseded_by: str | None = None

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.added or self.problems)


def _load_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _check_signatures(report_dir: Path, content: dict[str, Any] | None, result: Verification) -> None:
    """An approved report's PDFs carry the lab's signature; check it against the lab's certificate."""
    if not content or not (content.get("signatures") or {}).get("approved"):
        return
    from harness.config import lab_identity_or_none
    from harness.report.signing import verify_pdf

    ident = lab_identity_or_none()
    if ident is None:
        result.signatures.append("PDF signatures not checked: no lab configuration names the lab's certificate")
        return
    for pdf in sorted(report_dir.glob("report*.pdf")):
        check = verify_pdf(pdf.read_bytes(), [ident.resolve(ident.signing.certificate)])
        if check.ok:
            result.signatures.append(f"{pdf.name}: signature valid, signed by {check.signer}")
        else:
            result.problems.append(f"{pdf.name}: the lab's signature does not verify ({check.summary})")


def verify(report_dir: Path) -> Verification:
    """Recompute a report folder's manifest; compare it with the lab database's and the folder's own;
    check an approved report's PDF signatures."""
    if not report_dir.is_dir():
        raise ReportError(f"{report_dir}: not a directory")
    manifest_path = report_dir / MANIFEST
    if not manifest_path.is_file() and not (report_dir / "report.json").is_file():
        raise ReportError(f"{report_dir}: not a report folder (no {MANIFEST}, no report.json)")
    folder_manifest = _load_json(manifest_path)
    content = _load_json(report_dir / "report.json")
    ident = folder_manifest or content or {}
    number, revision = str(ident.get("number", "")), ident.get("revision")
    problems: list[str] = []
    if folder_manifest is None:
        problems.append(f"{MANIFEST} is missing or unreadable")
    expected: dict[str, str] | None = None
    against = MANIFEST
    db_content_sha = None
    superseded_by = None
    with session() as s:
        report = None
        if number and isinstance(revision, int):
            report = s.scalar(select(Report).where(Report.number == number, Report.revision == revision))
        if report is not None:
            row = s.scalar(select(ReportManifest).where(ReportManifest.report_id == report.id))
            if row is not None:
                expected, against = dict(row.files), "the lab database"
                if folder_manifest is not None and folder_manifest.get("digest") != row.digest:
                    problems.append(f"{MANIFEST} does not match the manifest the lab database holds")
            db_content_sha = report.content_sha256
            later = list(
                s.scalars(
                    select(Report)
                    .where(Report.number == number, Report.revision > report.revision, Report.status.in_(FROZEN))
                    .order_by(Report.revision)
                )
            )
            if later:
                superseded_by = f"{number} revision {later[-1].revision}"
    if expected is None:
        if folder_manifest is None:
            raise ReportError(f"{report_dir}: no {MANIFEST} and no record of this report in the lab database")
        expected = dict(folder_manifest.get("files") or {})
        against = f"{MANIFEST} (no record in this lab database)"
        if files_digest(expected) != folder_manifest.get("digest"):
            problems.append(f"{MANIFEST}: its digest does not match its own file list")
    actual = folder_files(report_dir)
    result = Verification(
        report_dir,
        number,
        revision if isinstance(revision, int) else None,
        against,
        files_digest(expected),
        changed=sorted(p for p in expected.keys() & actual.keys() if expected[p] != actual[p]),
        missing=sorted(expected.keys() - actual.keys()),
        added=sorted(actual.keys() - expected.keys()),
        problems=problems,
        superseded_by=superseded_by,
    )
    if content is not None:
        ev = {p: h for p, h in actual.items() if p.startswith("evidence/")}
        carried = (content.get("evidence_manifest") or {}).get("sha256")
        if carried != files_digest(ev):
            result.problems.append("the evidence digest the report carries does not match the evidence files")
        if db_content_sha is not None and digest(content) != db_content_sha:
            result.problems.append("report.json is not the content the lab database holds for this report")
    _check_signatures(report_dir, content, result)
    return result


# --- an earlier report offered by an applicant -----------------------------------------------------


@dataclass
class PriorCheck:
    number: str
    revision: int | None
    language: str
    issued: date | None
    valid_until: date | None
    findings: list[dict[str, str]] = field(default_factory=list)  # {zh, en}: why it cannot be accepted as is
    retest: list[str] = field(default_factory=list)  # "item_id: title (why)"
    verification: Verification | None = None

    @property
    def acceptable(self) -> bool:
        return not self.findings and not self.retest


def _finding(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en}


def check_prior(report: Path, spec_path: Path, today: date | None = None) -> PriorCheck:
    """Judge an earlier report (its folder or its report.json) against the sample as it is now: first
    its folder's manifest, then whether a later revision superseded it, its age, the product's
    identity and the coverage of the current basis. Findings in the report's own language."""
    from harness.spec import load_spec

    today = today or clock.today()
    folder = report if report.is_dir() else report.parent
    report_json = report / "report.json" if report.is_dir() else report
    content = _load_json(report_json)
    if content is None:
        raise ReportError(f"{report_json}: not a readable report JSON")
    missing_keys = [k for k in ("number", "dates", "sample", "basis", "items") if k not in content]
    if missing_keys:
        raise ReportError(f"{report_json}: not a type-test report (missing {', '.join(missing_keys)})")
    loaded = load_spec(spec_path)  # SpecError: bad input
    spec = loaded.spec
    lang: str = str(content.get("language")) if content.get("language") in ("zh", "en") else "zh"
    issued_text = (content.get("dates") or {}).get("issued")
    approved = (content.get("signatures") or {}).get("approved")
    issued = date.fromisoformat(issued_text) if issued_text else None
    validity = lab_config().retention_months
    revision = content.get("revision") if isinstance(content.get("revision"), int) else None
    result = PriorCheck(
        str(content["number"]), revision, lang, issued, add_months(issued, validity) if issued else None
    )
    # The folder first: a report whose files do not verify is not judged further.
    if (folder / MANIFEST).is_file():
        v = verify(folder)
        result.verification = v
        if not v.ok:
            what = [*(f"changed {p}" for p in v.changed), *(f"missing {p}" for p in v.missing)]
            what += [*(f"added {p}" for p in v.added), *v.problems]
            result.findings.append(
                _finding(
                    f"报告文件夹未通过校验（{'；'.join(what[:5])}），不予评价",
                    f"the report folder does not verify ({'; '.join(what[:5])}); it is not judged further",
                )
            )
            return result
        if v.superseded_by:
            result.findings.append(
                _finding(
                    f"该报告已被 {v.superseded_by.replace(' revision ', ' 第 ')} 版替代，应提交最新版本",
                    f"this report was superseded by {v.superseded_by}: the latest revision must be offered",
                )
            )
    else:
        result.findings.append(
            _finding(
                f"未提供报告文件夹及其清单（{MANIFEST}），无法校验报告文件的完整性",
                f"no report folder with its {MANIFEST} was offered: the files' integrity cannot be verified",
            )
        )
    everything = False
    if issued is None or not approved:
        result.findings.append(
            _finding("该报告未经批准签发，是草稿", "the report was never approved and issued: a draft")
        )
        everything = True
    elif result.valid_until is not None and today > result.valid_until:
        age = (today.year - issued.year) * 12 + today.month - issued.month
        result.findings.append(
            _finding(
                f"签发于 {issued}，约 {age} 个月前，超过 {validity} 个月有效期（有效至 {result.valid_until}）",
                f"issued {issued}, about {age} months ago: older than {validity} months "
                f"(valid until {result.valid_until})",
            )
        )
        everything = True
    s = content["sample"]
    unit = s.get("certification_unit") or {}
    fields_ = [
        ("样品名称", "sample name", s.get("name"), spec.sample.name),
        ("样品版本", "sample version", s.get("version"), spec.sample.version),
        ("型号", "model", unit.get("model"), spec.certification_unit.model),
        ("认证单元版本", "certification-unit version", unit.get("version"), spec.certification_unit.version),
    ]
    for zh, en, then, now in fields_:
        if then != now:
            result.findings.append(
                _finding(f"{zh}已变更：报告为 {then}，现为 {now}", f"{en} changed: report {then}, now {now}")
            )
            everything = True
    old_media = {m.get("sha256") for m in s.get("media") or []}
    if old_media != {m.sha256 for m in spec.media}:
        result.findings.append(
            _finding(
                "样品介质（SHA-256）与报告所载不同：产品已变更",
                "the sample's media (SHA-256) differ from those the report names: the product changed",
            )
        )
        everything = True
    cat = load_catalogue(spec.basis[0])
    if content["basis"].get("standard") != cat.standard.id:
        was = content["basis"].get("standard")
        result.findings.append(
            _finding(
                f"检测依据已变更：报告为 {was}，现为 {cat.standard.id}",
                f"basis changed: report {was}, now {cat.standard.id}",
            )
        )
        everything = True
    not_applicable: dict[str, str] = {}
    for key, appl in spec.applicability.items():
        try:
            covered = cat.covers(key)
        except KeyError:
            continue  # a use case, or a typo intake reports
        if not appl.applicable:
            for it in covered:
                not_applicable[it.id] = appl.reason or ""
    old = {i.get("item_id"): i for i in content["items"]}
    for it in cat.items:
        if it.id in not_applicable:
            continue
        prior = old.get(it.id)
        title = it.title if lang == "zh" else it.title_en
        if everything:
            result.retest.append(f"{it.id}: {title}")
        elif prior is None:
            result.retest.append(f"{it.id}: {title} ({'报告未覆盖' if lang == 'zh' else 'not covered by the report'})")
        elif prior.get("verdict") != CONFORM:
            said = value(prior.get("verdict"), lang)
            result.retest.append(
                f"{it.id}: {title} ({f'报告结论为{said}' if lang == 'zh' else f'the report says {said}'})"
            )
    return result
