"""The type-test report: built from the lab database, numbered, rendered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from harness.config import lab_config
from harness.report.build import ReportError, build_content, copy_evidence, digest, next_number
from harness.report.render import write_html, write_json
from harness.store import Report, session


@dataclass(frozen=True)
class WrittenReport:
    number: str
    revision: int
    out_dir: Path
    files: dict[str, Path]


def create_report(run_id: str, language: str = "zh") -> WrittenReport:
    number = next_number()
    content = build_content(run_id, number, 1, language)
    out_dir = lab_config().reports_dir / f"{number}-r1"
    out_dir.mkdir(parents=True, exist_ok=True)
    copy_evidence(run_id, out_dir)
    files = {"json": write_json(content, out_dir), "html": write_html(content, out_dir)}
    with session() as s:
        s.add(
            Report(
                number=number,
                revision=1,
                run_id=run_id,
                kind=content["kind"],
                language=language,
                created=datetime.now(),
                tests_completed=date.fromisoformat(content["dates"]["tests_completed"]),
                due=date.fromisoformat(content["dates"]["due"]) if content["dates"]["due"] else None,
                status="draft",
                content=content,
                content_sha256=digest(content),
                out_dir=str(out_dir),
            )
        )
    return WrittenReport(number, 1, out_dir, files)


__all__ = ["ReportError", "WrittenReport", "create_report"]
