"""Verifying a report folder: its manifest recomputed against the lab record's and its own, an
approved report's PDF signatures, whether a later revision superseded it, and the run's record
(harness.results.verify_run) against the chain head the report fixed when it was built."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import results
from harness.errors import InputError
from harness.report.folder import MANIFEST, files_digest, folder_files
from harness.report.terms import ReportError, digest
from harness.results import FROZEN, ReportRecord

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
    record: str = ""  # what became of the run's record since the report was built
    superseded_by: str | None = None

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.added or self.problems)


def load_json(path: Path) -> dict[str, Any] | None:
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
    folder_manifest = load_json(manifest_path)
    content = load_json(report_dir / "report.json")
    ident = folder_manifest or content or {}
    number, revision = str(ident.get("number", "")), ident.get("revision")
    problems: list[str] = []
    if folder_manifest is None:
        problems.append(f"{MANIFEST} is missing or unreadable")
    expected: dict[str, str] | None = None
    against = MANIFEST
    report = results.revision_of(number, revision) if number and isinstance(revision, int) else None
    if report is not None:
        row = results.manifest_of(report.id)
        if row is not None:
            expected, against = dict(row.files), "the lab database"
            if folder_manifest is not None and folder_manifest.get("digest") != row.digest:
                problems.append(f"{MANIFEST} does not match the manifest the lab database holds")
    superseded_by = _superseded_by(report)
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
        if report is not None and digest(content) != report.content_sha256:
            result.problems.append("report.json is not the content the lab database holds for this report")
        if report is not None:
            _check_record(content, result)
    _check_signatures(report_dir, content, result)
    return result


def _superseded_by(report: ReportRecord | None) -> str | None:
    if report is None:
        return None
    later = [r for r in results.revisions(report.number) if r.revision > report.revision and r.status in FROZEN]
    return later[-1].label if later else None


def _check_record(content: dict[str, Any], result: Verification) -> None:
    """The run's verdicts and evidence files as the lab record holds them now, against the chain head
    the report fixed: a verdict edited, removed or added, or an evidence file changed since."""
    run = content.get("run") or {}
    fixed = run.get("chain_head")
    if not fixed:
        result.record = "the run's record was not sealed in this report (a report of an older schema)"
        return
    try:
        now = results.verify_run(str(run.get("id")))
    except InputError as e:  # the run is gone from the lab database
        result.problems.append(f"the run's record: {e}")
        return
    result.problems += [f"the run's record: {p}" for p in now.problems]
    if now.head != fixed:
        result.problems.append(
            f"the run's verdict chain has changed since the report was built (head {now.head[:16]}…, "
            f"the report fixed {fixed[:16]}…)"
        )
    elif now.ok:
        result.record = (
            f"the run's record verifies: {now.verdicts} verdicts and {now.evidence_files} evidence files, "
            f"chain head {fixed[:16]}… as the report fixed it"
        )
