"""Spec templates: ``{workdir}``, ``{host}``, ``{ports.https}``, ``{username}`` ...

One formatter for every template a spec holds (steps, URLs, request bodies), so a spec author
learns one syntax. ``{{`` and ``}}`` are literal braces.

A placeholder is a name and nothing more: no attribute access (``{host.__class__}``), no indexing
(``{ports[0]}``), no conversion (``{x!r}``) and no format (``{x:>10}``). The dotted forms are the
documented namespaces followed by names: ``{ports.https}``, ``{services.db.url}``. Specs come from
applicants; a template must never reach into the harness's objects: a dotted name is looked up in
mappings and namespaces only, never as an attribute of anything else.
"""

from __future__ import annotations

import re
import string
from collections.abc import Collection, Mapping
from types import SimpleNamespace
from typing import Any

# Namespaces with a documented dotted form, and how many names follow: {ports.NAME},
# {services.NAME.FIELD}.
NAMESPACES: Mapping[str, int] = {"ports": 1, "services": 2}
SERVICE_FIELDS: tuple[str, ...] = ("url", "host", "port", "user", "password", "name")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_PARSER = string.Formatter()


class TemplateError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def _shown(field: str) -> str:
    return "{" + (field if len(field) <= 40 else field[:37] + "...") + "}"


def placeholders(template: str, namespaces: Mapping[str, int] = NAMESPACES) -> list[str]:
    """The placeholders of ``template`` in order of appearance (``ports.https`` for
    ``{ports.https}``), or TemplateError saying what is wrong with the first bad one.

    This is the one definition of the template syntax: rendering and ``spec check`` both use it."""
    try:
        parsed = list(_PARSER.parse(template))
    except ValueError as e:
        raise TemplateError(f"{e}; write a literal brace as {{{{ or }}}}") from None
    out = []
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if conversion is not None or spec:
            suffix = f"!{conversion}" if conversion is not None else f":{spec}"
            raise TemplateError(f"{_shown(field + suffix)}: a placeholder is a name only, without ! or :")
        if not field:
            raise TemplateError("{}: an empty placeholder; write a literal brace as {{ or }}")
        head, *rest = field.split(".")
        if not all(_NAME.fullmatch(part) for part in (head, *rest)):
            raise TemplateError(
                f"{_shown(field)}: a placeholder is a name (letters, digits, _), or {_dotted(namespaces)}"
            )
        if rest and head not in namespaces:
            raise TemplateError(f"{_shown(field)}: only {_dotted(namespaces)} have a dotted form")
        if head in namespaces and len(rest) != namespaces[head]:
            raise TemplateError(f"{_shown(field)}: write it as {_dotted({head: namespaces[head]})}")
        out.append(field)
    return out


def _dotted(namespaces: Mapping[str, int]) -> str:
    forms = [f"{{{n}{'.NAME' if depth == 1 else '.NAME.FIELD'}}}" for n, depth in namespaces.items()]
    return " or ".join(forms) or "no dotted form"


def unknown(template: str, available: Collection[str], namespaces: Mapping[str, int] = NAMESPACES) -> list[str]:
    """The placeholders of ``template`` that are not among ``available`` (names such as ``host``
    and ``ports.https``); TemplateError if the template is malformed."""
    return [f for f in dict.fromkeys(placeholders(template, namespaces)) if f not in available]


def _lookup(field: str, values: Mapping[str, Any]) -> Any:
    head, *rest = field.split(".")
    if head not in values:
        raise TemplateError(f"unknown placeholder {_shown(field)}; available: {', '.join(sorted(values))}")
    value, path = values[head], head
    for part in rest:
        # Mappings and plain namespaces only: never an attribute of any other object.
        names = vars(value) if isinstance(value, SimpleNamespace) else value if isinstance(value, Mapping) else {}
        if part not in names:
            known = ", ".join(sorted(names)) or "(none)"
            raise TemplateError(f"unknown placeholder {_shown(field)}; {path} has: {known}")
        value, path = names[part], f"{path}.{part}"
    return value


def render(template: str, values: Mapping[str, Any]) -> str:
    placeholders(template)  # the form first: nothing is looked up for a malformed template
    out = []
    for literal, field, _spec, _conversion in _PARSER.parse(template):
        out.append(literal)
        if field is not None:
            out.append(format(_lookup(field, values), ""))
    return "".join(out)


def render_obj(obj: Any, values: Mapping[str, Any]) -> Any:
    """Render every string inside a JSON-like object. A string that is exactly one placeholder
    keeps the value's type (``"{amount}"`` stays a Decimal or int, not its text)."""
    if isinstance(obj, str):
        inner = obj[1:-1]
        if obj.startswith("{") and obj.endswith("}") and _NAME.fullmatch(inner) and inner in values:
            return values[inner]
        return render(obj, values)
    if isinstance(obj, dict):
        return {k: render_obj(v, values) for k, v in obj.items()}
    if isinstance(obj, list):
        return [render_obj(v, values) for v in obj]
    return obj


def template_strings(obj: Any) -> list[str]:
    """Every string inside a JSON-like object (what render_obj renders)."""
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in template_strings(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in template_strings(v)]
    return []


def ports_ns(ports: Mapping[str, int]) -> SimpleNamespace:
    return SimpleNamespace(**ports)


# What the deployers provide to a deployment's templates. Install and start steps and the
# environment get all of them; URLs (health check, driver base URL) are filled from the deployment
# as the lab reaches it: host and ports.
STEP_NAMES: tuple[str, ...] = ("workdir", "bind", "host")
URL_NAMES: tuple[str, ...] = ("host",)


def deploy_values(workdir: str, bind: str, host: str, ports: Mapping[str, int], services: Any = None) -> dict[str, Any]:
    """The values of a deployment's step and environment templates (STEP_NAMES, ports, services)."""
    values = {"workdir": workdir, "bind": bind, "host": host, "ports": ports_ns(ports)}
    return values if services is None else {**values, "services": services}


def available(names: Collection[str], port_names: Collection[str], service_names: Collection[str] = ()) -> set[str]:
    """The placeholders a template may use: these names, ``ports.NAME`` for each port and
    ``services.NAME.FIELD`` for each declared service."""
    return {
        *names,
        *(f"ports.{p}" for p in port_names),
        *(f"services.{s}.{f}" for s in service_names for f in SERVICE_FIELDS),
    }
