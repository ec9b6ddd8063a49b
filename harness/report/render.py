"""Renderers over one report content: JSON (the truth), HTML."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

_TEMPLATES = Path(__file__).parent / "templates"
_ENV = Environment(
    loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined
)


def write_json(content: dict[str, Any], out_dir: Path) -> Path:
    p = out_dir / "report.json"
    p.write_text(json.dumps(content, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return p


def html(content: dict[str, Any]) -> str:
    return _ENV.get_template("report.html.j2").render(r=content)


def write_html(content: dict[str, Any], out_dir: Path) -> Path:
    p = out_dir / "report.html"
    p.write_text(html(content), encoding="utf-8")
    return p
