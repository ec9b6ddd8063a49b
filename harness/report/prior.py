"""Judging an earlier report an applicant offers against the sample as it is now (rule 001 §5.2.3):
first its folder (harness.report.verify), then whether a later revision superseded it, its age, the
product's identity and the coverage of the current basis, with the plan's own applicability rules
(harness.plan.applicability). Findings in the report's own language."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from harness import clock
from harness.catalogue import load_catalogue
from harness.config import lab_config
from harness.dates import add_months
from harness.plan import applicability
from harness.report.folder import MANIFEST
from harness.report.labels import value
from harness.report.terms import CONFORM, NOT_APPLICABLE, ReportError
from harness.report.verify import Verification, load_json, verify


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
    content = load_json(report_json)
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
    not_applicable = applicability(spec, cat).items_of(cat)  # the plan's reading of the spec
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
        elif prior.get("verdict") not in (CONFORM, NOT_APPLICABLE):  # what the same sample showed still holds
            said = value(prior.get("verdict"), lang)
            result.retest.append(
                f"{it.id}: {title} ({f'报告结论为{said}' if lang == 'zh' else f'the report says {said}'})"
            )
    return result
