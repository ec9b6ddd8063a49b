"""The standards' clause catalogues, loaded from data files beside this module."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict

DATA_DIR = Path(__file__).parent
Severity = Literal["critical", "major", "minor"]
MethodKind = Literal["automated", "semi", "document"]

SEVERITY_ZH: dict[str, str] = {"critical": "严重", "major": "一般", "minor": "建议"}


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Standard(_Frozen):
    id: str
    title: str
    title_en: str
    issued: str


class Chapter(_Frozen):
    id: str
    title: str
    title_en: str
    verified: bool


class Item(_Frozen):
    id: str
    chapter: str
    title: str
    title_en: str
    requirement: str
    method: str
    requirement_en: str | None = None  # for the report's English rendering
    method_en: str | None = None
    method_kind: MethodKind
    severity: Severity
    verified: bool = False
    standard_clause: str | None = None  # the licensed text's number, once a lab has read it


class Catalogue(_Frozen):
    standard: Standard
    chapters: tuple[Chapter, ...]
    items: tuple[Item, ...]

    def item(self, item_id: str) -> Item:
        for it in self.items:
            if it.id == item_id:
                return it
        raise KeyError(f"{item_id!r} is not an item of {self.standard.id}")

    def chapter(self, chapter_id: str) -> Chapter:
        for ch in self.chapters:
            if ch.id == chapter_id:
                return ch
        raise KeyError(f"{chapter_id!r} is not a chapter of {self.standard.id}")

    def ids(self) -> set[str]:
        return {it.id for it in self.items}

    def automated(self, chapter: str) -> list[str]:
        """The IDs of a chapter's items that checks decide (not document review)."""
        return [it.id for it in self.items if it.chapter == chapter and it.method_kind == "automated"]

    def covers(self, key: str) -> list[Item]:
        """The items an applicability key names: an item ID or a whole chapter."""
        if any(ch.id == key for ch in self.chapters):
            return [it for it in self.items if it.chapter == key]
        return [self.item(key)]


# Standard ID -> data file. A new standard (JR/T 0200, ...) is one more file and one more line.
_FILES = {"JR/T 0199-2020": "jrt0199-2020.yaml"}


@cache
def load_catalogue(standard_id: str = "JR/T 0199-2020") -> Catalogue:
    try:
        name = _FILES[standard_id]
    except KeyError:
        raise KeyError(f"no clause catalogue for {standard_id!r}; known: {', '.join(_FILES)}") from None
    data = yaml.safe_load((DATA_DIR / name).read_text(encoding="utf-8"))
    cat = Catalogue.model_validate(data)
    chapters = {ch.id for ch in cat.chapters}
    bad = [it.id for it in cat.items if it.chapter not in chapters]
    if bad:
        raise ValueError(f"{name}: items name unknown chapters: {bad}")
    return cat


def known_standards() -> list[str]:
    return list(_FILES)
