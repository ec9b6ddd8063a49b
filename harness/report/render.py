"""Renderers over one report content: JSON (the truth), HTML, and PDF (WeasyPrint renders the HTML)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from harness.report.labels import labels, value

_TEMPLATES = Path(__file__).parent / "templates"
_ENV = Environment(
    loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined
)


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


def html(content: dict[str, Any]) -> str:
    lang = content.get("language", "zh")
    lab = labels(lang)
    rev = f" {lab['revision'].format(n=content['revision'])}" if content.get("revision", 1) > 1 else ""
    css = {
        "lab": _css_string(content["lab"]["name"]),
        "number": _css_string(f"{lab['report_no']}{lab['colon']}{content['number']}{rev}"),
        "draft": _css_string(lab["draft"]),
        "page": _page_css(lab["page"]),
    }
    return _ENV.get_template("report.html.j2").render(
        r=content, L=lab, v=lambda text: value(text, lang), lang=lang, css=css
    )


def write_html(content: dict[str, Any], out_dir: Path) -> Path:
    p = out_dir / "report.html"
    p.write_text(html(content), encoding="utf-8")
    return p


def pdf_bytes(content: dict[str, Any], base_url: Path | None = None) -> bytes:
    from weasyprint import HTML  # imported late: it is slow to import and only the PDF needs it

    return HTML(string=html(content), base_url=str(base_url) if base_url else None).write_pdf()


def write_pdf(content: dict[str, Any], out_dir: Path) -> Path:
    p = out_dir / "report.pdf"
    p.write_bytes(pdf_bytes(content, out_dir))
    return p
