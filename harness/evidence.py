"""One recorder for every kind of evidence a check leaves: HTTP transcripts, pcaps, screenshots,
log excerpts. Files are written as they arise (a killed run keeps them); the plugin files them
in the lab database with the verdict."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from harness import clock


@dataclass(frozen=True)
class EvidenceItem:
    kind: str
    title: str
    path: str  # relative to the run directory
    sha256: str
    size: int


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _slug(text: str) -> str:
    slug = re.sub(r"[^\w.-]+", "_", text, flags=re.UNICODE).strip("_")
    if len(slug) > 80:
        # Cut names must stay apart (two examples of one scenario outline differ only at the end):
        # a shared folder would let one check's evidence overwrite another's.
        return f"{slug[:71]}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"
    return slug or "item"


def _body_text(body: bytes | str | None, limit: int = 20000) -> str:
    if body is None:
        return ""
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    return body if len(body) <= limit else body[:limit] + f"\n... ({len(body) - limit} more characters)"


@dataclass
class EvidenceRecorder:
    run_dir: Path
    check_id: str
    model: str
    items: list[EvidenceItem] = field(default_factory=list)
    observations: list[str] = field(default_factory=list)
    # The same observations in English, for the report's English rendering; None where a check gave
    # only the Chinese sentence (the English report then says the text is missing, never guesses).
    observations_en: list[str | None] = field(default_factory=list)
    # Opinions and hints (CNAS-CL01 7.8.7): said beside the result, never a ground of the verdict;
    # the report shows them apart from the observed results, marked as the lab's opinion.
    hints: list[dict[str, str | None]] = field(default_factory=list)
    _transcript: Path | None = None
    _exchanges: int = 0

    @property
    def dir(self) -> Path:
        d = self.run_dir / "evidence" / _slug(self.model) / _slug(self.check_id.replace("::", "__"))
        d.mkdir(parents=True, exist_ok=True)
        return d

    def observe(self, text: str, en: str | None = None) -> None:
        """One sentence of the observed result the report shows for this check: Chinese (the
        report's language), and the same sentence in English for a report requested in English.
        Both are built from the same values; neither is ever an assertion message or a repr."""
        self.observations.append(text)
        self.observations_en.append(en)

    def hint(self, text: str, en: str | None = None) -> None:
        """An opinion or hint beside the result (a self-signed certificate in a test deployment, a
        stronger scheme worth considering): Chinese, and the same in English."""
        self.hints.append({"zh": text, "en": en})

    def summary(self, language: str = "zh") -> str:
        if language == "en":
            if any(e is None for e in self.observations_en):
                return ""
            return "; ".join(e for e in self.observations_en if e)
        return "；".join(self.observations)

    def _add(self, path: Path, kind: str, title: str) -> EvidenceItem:
        item = EvidenceItem(
            kind=kind,
            title=title,
            path=str(path.relative_to(self.run_dir)),
            sha256=sha256_file(path),
            size=path.stat().st_size,
        )
        self.items = [i for i in self.items if i.path != item.path] + [item]
        return item

    def attach_text(self, title: str, text: str, kind: str = "text", ext: str = ".txt") -> EvidenceItem:
        path = self.dir / f"{len(self.items) + 1:02d}-{_slug(title)}{ext}"
        path.write_text(text, encoding="utf-8")
        return self._add(path, kind, title)

    def attach_json(self, title: str, obj: Any, kind: str = "json") -> EvidenceItem:
        return self.attach_text(title, json.dumps(obj, ensure_ascii=False, indent=2, default=str), kind, ".json")

    def attach_file(self, src: Path, title: str, kind: str) -> EvidenceItem:
        dest = self.dir / f"{len(self.items) + 1:02d}-{_slug(title)}{src.suffix}"
        if src.resolve() != dest.resolve():
            shutil.copyfile(src, dest)
        return self._add(dest, kind, title)

    def new_path(self, title: str, ext: str) -> Path:
        """A path inside this check's evidence folder, for tools that write files themselves."""
        return self.dir / f"{len(self.items) + 1:02d}-{_slug(title)}{ext}"

    def http(self, response: requests.Response, note: str = "") -> None:
        """Append one request/response exchange to the check's transcript, at once."""
        req = response.request
        self._exchanges += 1
        lines = [f"### {self._exchanges}. {clock.instant()} {note}".rstrip()]
        lines.append(f"> {req.method} {req.url}")
        lines += [f"> {k}: {v}" for k, v in req.headers.items()]
        body = req.body
        lines.append(">")
        lines.append(_body_text(body if isinstance(body, bytes | str) else None))
        lines.append(f"< {response.status_code} {response.reason}  ({response.elapsed.total_seconds() * 1000:.1f} ms)")
        lines += [f"< {k}: {v}" for k, v in response.headers.items()]
        lines.append("<")
        lines.append(_body_text(response.content))
        lines.append("")
        if self._transcript is None:
            self._transcript = self.dir / "http-transcript.txt"
            self._transcript.write_text("", encoding="utf-8")
        with self._transcript.open("a", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        self._add(self._transcript, "transcript", "HTTP 交互记录")

    def note_failure(self, text: str) -> None:
        self.attach_text("失败详情", text, kind="text")
