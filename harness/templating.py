"""Spec templates: ``{workdir}``, ``{host}``, ``{ports.https}``, ``{username}`` ...

One formatter for every template a spec holds (steps, URLs, request bodies), so a spec author
learns one syntax. ``{{`` and ``}}`` are literal braces.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any


class TemplateError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


class _Strict(string.Formatter):
    def get_value(self, key: int | str, args: Any, kwargs: Mapping[str, Any]) -> Any:
        if isinstance(key, str) and key not in kwargs:
            raise TemplateError(f"unknown placeholder {{{key}}}; available: {', '.join(sorted(kwargs))}")
        return super().get_value(key, args, kwargs)

    def get_field(self, field_name: str, args: Any, kwargs: Mapping[str, Any]) -> Any:
        try:
            return super().get_field(field_name, args, kwargs)
        except AttributeError as e:
            raise TemplateError(f"unknown placeholder {{{field_name}}}: {e}") from None


_FMT = _Strict()


def render(template: str, values: Mapping[str, Any]) -> str:
    return _FMT.vformat(template, (), values)


def render_obj(obj: Any, values: Mapping[str, Any]) -> Any:
    """Render every string inside a JSON-like object. A string that is exactly one placeholder
    keeps the value's type (``"{amount}"`` stays a Decimal or int, not its text)."""
    if isinstance(obj, str):
        inner = obj[1:-1]
        if obj.startswith("{") and obj.endswith("}") and inner.isidentifier() and inner in values:
            return values[inner]
        return render(obj, values)
    if isinstance(obj, dict):
        return {k: render_obj(v, values) for k, v in obj.items()}
    if isinstance(obj, list):
        return [render_obj(v, values) for v in obj]
    return obj


def ports_ns(ports: Mapping[str, int]) -> SimpleNamespace:
    return SimpleNamespace(**ports)
