"""Renderers over one report content: JSON (the truth), HTML (Jinja2) in either language, and the PDF
printed from that same HTML file (harness.report.pdf)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from harness.report.labels import check_language, labels, pick, value
from harness.report.privacy import shipped

_TEMPLATES = Path(__file__).parent / "templates"
_ENV = Environment(
    loader=FileSystemLoader(_TEMPLATES),
    autoescape=select_autoescape(["html", "j2"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def file_names(content: dict[str, Any], language: str) -> tuple[str, str]:
    """(HTML, PDF) file names of a rendering: report.html / report.pdf in the language the report was
    issued in, report.en.html / report.en.pdf (or .zh) for the other."""
    if language == content.get("language", "zh"):
        return "report.html", "report.pdf"
    return f"report.{language}.html", f"report.{language}.pdf"


def write_json(content: dict[str, Any], out_dir: Path) -> Path:
    p = out_dir / "report.json"
    p.write_text(json.dumps(content, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return p


def _css_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ").replace("<", "\\3c ") + '"'


def _page_css(template: str) -> str:
    """ "第 {page} 页 共 {pages} 页" -> a CSS content value with the page counters."""
    parts = re.split(r"(\{page\}|\{pages\})", template)
    out = []
    for part in parts:
        if part == "{page}":
            out.append("counter(page)")
        elif part == "{pages}":
            out.append("counter(pages)")
        elif part:
            out.append(_css_string(part))
    return " ".join(out)


def html(content: dict[str, Any], language: str | None = None) -> str:
    lang = check_language(language or content.get("language", "zh"))
    lab = labels(lang)
    rev = f" {lab['revision'].format(n=content['revision'])}" if content.get("revision", 1) > 1 else ""
    configs = {c["model"]: c for c in content.get("tested_on", [])}

    def on(model: str | None) -> str:
        c = configs.get(model or "")
        return pick(c["label"], lang) if c else (model or "")

    def t(text: Any) -> str:
        return pick(text, lang)

    def v(text: Any) -> str:
        return value(text, lang)

    def signer(sig: dict[str, Any] | None) -> str:
        if not sig:
            return lab["unsigned"]
        return str(sig.get("name_en") or sig["name"]) if lang == "en" else str(sig["name"])

    css = {
        "lab": _css_string(t(content["lab"]["name"])),
        "number": _css_string(f"{lab['report_no']}{lab['colon']}{content['number']}{rev}"),
        "draft": _css_string(lab["draft"]),
        "page": _page_css(lab["page"]),
    }
    return _ENV.get_template("report.html.j2").render(
        r=content,
        L=lab,
        t=t,
        v=v,
        on=on,
        signer=signer,
        shipped=shipped,
        lang=lang,
        css=css,
        rev_text=rev,
        primary=lang == content.get("language", "zh"),
    )


def write_html(content: dict[str, Any], out_dir: Path, language: str | None = None) -> Path:
    name, _ = file_names(content, language or content.get("language", "zh"))
    p = out_dir / name
    p.write_text(html(content, language), encoding="utf-8")
    return p
