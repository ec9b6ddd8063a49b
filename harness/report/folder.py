"""A report folder: its renderings, the evidence that travels with it, and its manifest.

The folder is written whole in a temporary sibling (``.FTL-2026-0001-r1.tmp-…``) and moved into place
only when complete, so a crash or a full disk leaves no half-written report, and two writers of the
same revision never mix their files. A folder that cannot be written is a lab error naming why.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import results
from harness.config import LabIdentity, lab_config, lab_identity
from harness.errors import LabError
from harness.evidence import sha256_file
from harness.report.privacy import Redactor, copy_masked, shipped
from harness.report.render import file_names, write_html, write_json
from harness.report.terms import canonical_json, digest
from harness.results import ManifestRecord, ReportRecord

MANIFEST = "manifest.json"
Signing = tuple[LabIdentity, str, str]  # (lab identity, reason, name) of a PDF signature


class FolderError(LabError):
    pass


def files_digest(files: dict[str, str]) -> str:
    return hashlib.sha256(canonical_json(dict(sorted(files.items())))).hexdigest()


def folder_files(root: Path, under: Path | None = None) -> dict[str, str]:
    """{path relative to root: sha256} for every file under `under` (default: root), manifest excluded."""
    base = under or root
    if not base.is_dir():
        return {}
    return {
        p.relative_to(root).as_posix(): sha256_file(p)
        for p in sorted(base.rglob("*"))
        if p.is_file() and p.relative_to(root).as_posix() != MANIFEST
    }


@contextlib.contextmanager
def _lab_io(what: Path) -> Iterator[None]:
    """OS errors while writing a report folder become one clear lab error (exit 3)."""
    try:
        yield
    except OSError as e:
        why = e.strerror or str(e)
        hint = {
            errno.ENOSPC: "the disk is full",
            errno.EROFS: "the file system is read-only",
            errno.EACCES: "permission denied",
            errno.EPERM: "not permitted",
        }.get(e.errno or 0, why)
        raise FolderError(f"cannot write the report folder {what}: {hint} ({why})") from None


def _evidence(run_id: str, kinds: dict[str, str], tmp: Path, redactor: Redactor) -> dict[str, Any]:
    """Copy a run's evidence into a report folder: text masked, the lab's figures as they are,
    screenshots and packet captures kept by the lab (their digests listed)."""
    src_root = lab_config().run_dir(run_id)
    shipped_files: dict[str, str] = {}
    retained: list[dict[str, str]] = []
    src = src_root / "evidence"
    for p in sorted(src.rglob("*")) if src.is_dir() else []:
        if not p.is_file():
            continue
        rel = p.relative_to(src_root).as_posix()
        how = shipped(kinds.get(rel, ""), rel)
        dest_rel = redactor.relpath(rel)
        if how == "retained":
            retained.append({"path": dest_rel, "sha256": sha256_file(p)})
            continue
        dest = tmp / dest_rel
        if how == "masked":
            copy_masked(p, dest, redactor)
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, dest)
        shipped_files[dest_rel] = sha256_file(dest)
    return {
        "sha256": files_digest(shipped_files),
        "files": [{"path": k, "sha256": v} for k, v in shipped_files.items()],
        "retained": retained,
    }


@dataclass(frozen=True)
class Written:
    files: dict[str, Path]  # json, html, pdf, html.en, pdf.en, manifest
    manifest: dict[str, Any]
    content: dict[str, Any]

    def record(self) -> tuple[dict[str, Any], str, ManifestRecord]:
        """What the lab record keeps of it: the content as written, its digest, the manifest."""
        m = self.manifest
        return self.content, digest(self.content), ManifestRecord(m["files"], m["digest"], m["evidence_sha256"])


def _move_into_place(tmp: Path, final: Path, replace: bool) -> None:
    if final.exists():
        if not replace:
            raise FolderError(
                f"the report folder {final} already exists and belongs to another report writer: not overwritten"
            )
        old = final.with_name(f".{final.name}.old-{secrets.token_hex(3)}")
        os.rename(final, old)
        os.rename(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, final)


def write_folder(
    final: Path,
    content: dict[str, Any],
    run_id: str,
    spec: dict[str, Any],
    evidence_kinds: dict[str, str],
    languages: list[str],
    pdf: bool = True,
    sign: Signing | None = None,
    replace: bool = False,
) -> Written:
    """Write the folder of one report revision: report.json, the HTML (and PDF) of each language, the
    evidence copies, manifest.json; sign the PDFs when `sign` = (lab identity, reason, name) is given.
    `replace`: the revision's own folder may be replaced (a rebuilt draft)."""
    from harness.report.pdf import Printer

    redactor = Redactor.for_spec(spec)
    with _lab_io(final):
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(f".{final.name}.tmp-{secrets.token_hex(4)}")
        tmp.mkdir()
    try:
        with _lab_io(final):
            content = {**content, "evidence_manifest": _evidence(run_id, evidence_kinds, tmp, redactor)}
            files: dict[str, Path] = {"json": write_json(content, tmp)}
            primary = content.get("language", "zh")
            langs = [primary, *[x for x in languages if x != primary]]
            htmls = {lang: write_html(content, tmp, lang) for lang in langs}
            for lang, p in htmls.items():
                files["html" if lang == primary else f"html.{lang}"] = p
            if pdf:
                with Printer() as printer:
                    printed = {lang: printer.pdf(p) for lang, p in htmls.items()}
                # Signed once the browser is gone: Playwright's event loop runs in this thread while
                # it lives, and pyHanko runs its own.
                for lang, data in printed.items():
                    if sign is not None:
                        from harness.report.signing import sign_pdf

                        data = sign_pdf(data, *sign)
                    out = tmp / file_names(content, lang)[1]
                    out.write_bytes(data)
                    files["pdf" if lang == primary else f"pdf.{lang}"] = out
            listed = folder_files(tmp)
            manifest = {
                "number": content["number"],
                "revision": content["revision"],
                "evidence_sha256": content["evidence_manifest"]["sha256"],
                "files": listed,
                "digest": files_digest(listed),
            }
            (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
            _move_into_place(tmp, final, replace)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Written({k: final / p.name for k, p in files.items()} | {"manifest": final / MANIFEST}, manifest, content)


def lab_signature(number: str, revision: int, content: dict[str, Any]) -> Signing:
    """The PDF signature of an approved revision: the lab's certificate, the approver named."""
    ident = lab_identity()
    approved = (content.get("signatures") or {}).get("approved") or {}
    return ident, f"批准 Approved: {approved.get('name', '')} ({number} r{revision})", ident.name


def write_revision(
    report: ReportRecord,
    content: dict[str, Any],
    languages: tuple[str, ...] | None = None,
    pdf: bool = True,
    sign: Signing | None = None,
) -> Written:
    """(Re)write a stored revision's folder from this content (its JSON truth): the renderings of
    `languages` (default: those it has), the evidence of its run, the manifest."""
    run = results.get_run(report.run_id)
    sample = results.get_sample(run.sample_id) if run is not None else None
    if sample is None:
        raise LabError(f"report {report.label}: its run {report.run_id} or sample is gone from the lab database")
    return write_folder(
        Path(report.out_dir),
        content,
        report.run_id,
        sample.spec_snapshot,
        results.evidence_kinds(report.run_id),
        list(languages or report.languages or (report.language,)),
        pdf=pdf,
        sign=sign,
        replace=True,
    )
