"""Change analysis (rule 001 §6.3.1, rule 000 §7.3.1): compare a certified version of a product with
a changed one, from what the lab can observe, not only from what the holder says changed."""

from __future__ import annotations

import fnmatch
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from harness.catalogue import load_catalogue
from harness.errors import InputError
from harness.media import describe, documented_operations, languages
from harness.results import get_run, get_sample
from harness.results.reports import latest_revision, latest_run_of
from harness.spec import LoadedSpec, load_spec

IMPACT_FILE = Path(__file__).with_name("impact.yaml")
FUNCTIONAL = "functional"


@cache
def impact_map(path: Path = IMPACT_FILE) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    cat = load_catalogue()
    known = cat.ids() | {ch.id for ch in cat.chapters} | {FUNCTIONAL}
    for kind, entry in data["kinds"].items():
        bad = [c for c in entry.get("clauses", []) if c not in known]
        if bad:
            raise ValueError(f"{path}: kinds.{kind}: unknown clauses {bad}")
    return data


# -- the holder's description -------------------------------------------------------------------
class DeclaredChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str
    description: str
    files: list[str] = []  # glob patterns inside the media, e.g. refpay/signing.py


class ChangeDescription(BaseModel):
    """What the certificate holder says changed (变更说明)."""

    model_config = ConfigDict(extra="forbid")
    product: str
    from_version: str
    to_version: str
    changes: list[DeclaredChange] = Field(default_factory=list)


class ChangeInputError(InputError):
    """A change description or a baseline reference that cannot be used."""


def load_description(path: Path) -> ChangeDescription:
    try:
        desc = ChangeDescription.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as e:
        raise ChangeInputError(f"{path}: not a valid change description: {e}") from None
    kinds = impact_map()["kinds"]
    unknown = [c.kind for c in desc.changes if c.kind not in kinds]
    if unknown:
        raise ChangeInputError(f"{path}: unknown change kinds {unknown}; known: {', '.join(kinds)}")
    return desc


# -- one version of the product, as the lab knows it ---------------------------------------------
@dataclass
class Version:
    label: str
    spec: dict[str, Any]  # the spec as JSON
    media: list[dict[str, Any]]  # {path, sha256, role, files, components}
    openapi_ops: list[str] = field(default_factory=list)
    report: dict[str, Any] | None = None  # the baseline's report content, when it has one
    run_id: str | None = None


def version_from_spec(loaded: LoadedSpec) -> Version:
    spec = loaded.spec
    return Version(
        label=f"{spec.sample.name} {spec.sample.version}",
        spec=spec.model_dump(mode="json"),
        media=describe(loaded),
        openapi_ops=documented_operations(loaded),
    )


def version_from_registry(ref: str) -> Version:
    """A certified version by report number (its latest revision) or sample ID."""
    report = latest_revision(ref)
    run = get_run(report.run_id) if report else None
    sample = get_sample(run.sample_id if run else ref)
    if sample is None:
        raise ChangeInputError(f"{ref}: neither a report number nor a sample ID in the lab database")
    run_id = run.id if run else latest_run_of(sample.id)
    return Version(
        label=f"{sample.name} {sample.version}",
        spec=sample.spec_snapshot,
        media=sample.media,
        openapi_ops=(sample.observed or {}).get("openapi_ops", []),
        report=report.content if report else None,
        run_id=run_id,
    )


def load_version(ref: str) -> Version:
    """A spec file path, a report number, or a sample ID."""
    p = Path(ref)
    if p.suffix in (".yaml", ".yml") and p.exists():
        return version_from_spec(load_spec(p))
    return version_from_registry(ref)


# -- the analysis -------------------------------------------------------------------------------
@dataclass
class Change:
    kind: str
    subject: str
    detail: str
    observed: bool = True
    declared: bool = False
    clauses: list[str] = field(default_factory=list)
    why: str = ""
    major: bool = False


@dataclass
class Analysis:
    baseline: str
    changed: str
    changes: list[Change]
    full_retest: bool
    impacted: list[str]  # clause item IDs (and use-case IDs) to test again; everything when full
    undeclared: list[Change]
    declared_not_observed: list[DeclaredChange]

    def to_json(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline,
            "changed": self.changed,
            "full_retest": self.full_retest,
            "impacted": self.impacted,
            "changes": [asdict(c) for c in self.changes],
            "undeclared": [asdict(c) for c in self.undeclared],
            "declared_not_observed": [c.model_dump() for c in self.declared_not_observed],
        }


def _diff_dict(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for k in sorted(set(a) | set(b)):
        va, vb = a.get(k), b.get(k)
        if isinstance(va, dict) and isinstance(vb, dict):
            out += _diff_dict(va, vb, f"{prefix}{k}.")
        elif va != vb:
            out.append(f"{prefix}{k}: {va!r} -> {vb!r}")
    return out


def _observe(base: Version, new: Version) -> list[Change]:
    imp = impact_map()
    changes: list[Change] = []
    bs, ns = base.spec, new.spec
    if bs["sample"]["version"] != ns["sample"]["version"]:
        changes.append(Change("version", "sample.version", f"{bs['sample']['version']} -> {ns['sample']['version']}"))

    # Media: the files that really differ.
    def by_role(media: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        for m in media:
            out.setdefault(m["role"], {}).update(m.get("files", {}))
        return out

    bm, nm = by_role(base.media), by_role(new.media)
    for role in sorted(set(bm) | set(nm)):
        a, b = bm.get(role, {}), nm.get(role, {})
        for rel in sorted(set(a) | set(b)):
            if a.get(rel) != b.get(rel):
                state = "added" if rel not in a else "removed" if rel not in b else "changed"
                changes.append(Change("file", rel, f"{role} file {state}"))
        la, lb = languages(a, imp["languages"]), languages(b, imp["languages"])
        if set(la) != set(lb):
            changes.append(Change("language", f"{role} media", f"{sorted(la)} -> {sorted(lb)}"))

    # Components, and framework changes among them.
    def comps(media: list[dict[str, Any]]) -> dict[str, str]:
        out: dict[str, str] = {}
        for m in media:
            out.update(m.get("components", {}))
        return out

    ca, cb = comps(base.media), comps(new.media)
    frameworks = set(imp["frameworks"])
    for name in sorted(set(ca) | set(cb)):
        if ca.get(name) != cb.get(name):
            detail = f"{ca.get(name, '(absent)') or '(any)'} -> {cb.get(name, '(absent)') or '(any)'}"
            kind = "framework" if name in frameworks else "component"
            changes.append(Change(kind, name, detail))

    # Declared interfaces: driver operations, ports, documented operations.
    bd, nd = bs["driver"], ns["driver"]
    for name in ("login", "logout"):
        if bd.get(name) != nd.get(name):
            changes.append(
                Change(
                    "authentication", f"driver.{name}", "; ".join(_diff_dict(bd.get(name) or {}, nd.get(name) or {}))
                )
            )
    if bd.get("auth") != nd.get("auth"):
        changes.append(Change("security-mechanism", "driver.auth", "; ".join(_diff_dict(bd["auth"], nd["auth"]))))
    bops, nops = bd.get("operations", {}), nd.get("operations", {})
    for op in sorted(set(bops) | set(nops)):
        if bops.get(op) != nops.get(op):
            a, b = bops.get(op) or {}, nops.get(op) or {}
            kind = "transaction" if (a.get("signed") or b.get("signed")) else "interface"
            changes.append(Change(kind, f"driver.operations.{op}", "; ".join(_diff_dict(a, b)) or "added/removed"))
    sa, sb = bd.get("signing") or {}, nd.get("signing") or {}
    if sa != sb:
        mechanism = ("algorithm", "key", "signature_in")
        kind = "security-mechanism" if any(sa.get(k) != sb.get(k) for k in mechanism) else "signing"
        changes.append(Change(kind, "driver.signing", "; ".join(_diff_dict(sa, sb))))
    if base.openapi_ops and new.openapi_ops and base.openapi_ops != new.openapi_ops:
        gone = sorted(set(base.openapi_ops) - set(new.openapi_ops))
        added = sorted(set(new.openapi_ops) - set(base.openapi_ops))
        changes.append(Change("interface", "documentation.openapi", f"removed {gone}, added {added}"))
    bp = {p["name"]: p for p in bs["deployment"]["ports"]}
    np_ = {p["name"]: p for p in ns["deployment"]["ports"]}
    if bp != np_:
        changes.append(Change("interface", "deployment.ports", "; ".join(_diff_dict(bp, np_))))
    for key in ("install", "start", "env"):
        if bs["deployment"].get(key) != ns["deployment"].get(key):
            changes.append(Change("deployment", f"deployment.{key}", "install or start changed"))

    # Declared parameters: each compares against its own clauses.
    bpar, npar = bs["parameters"], ns["parameters"]
    for name in sorted(set(bpar) | set(npar)):
        if bpar.get(name) != npar.get(name):
            kind = "security-mechanism" if name in ("tls_min_version", "national_crypto") else "parameter"
            ch = Change(kind, f"parameters.{name}", f"{bpar.get(name)!r} -> {npar.get(name)!r}")
            ch.clauses = list(imp["parameters"].get(name, []))
            changes.append(ch)

    # Hardware list.
    bh = {h["model"]: h for h in bs.get("hardware", [])}
    nh = {h["model"]: h for h in ns.get("hardware", [])}
    for model in sorted(set(bh) | set(nh)):
        if bh.get(model) != nh.get(model):
            state = "added" if model not in bh else "removed" if model not in nh else "changed"
            changes.append(Change("hardware", model, f"terminal model {state}"))
    return changes


def _expand(clauses: list[str], new_spec: dict[str, Any]) -> set[str]:
    cat = load_catalogue()
    out: set[str] = set()
    for c in clauses:
        if c == FUNCTIONAL:
            out |= {uc["id"] for uc in new_spec["documentation"]["use_cases"]}
            if new_spec["documentation"].get("openapi"):
                out.add("API-CONFORMANCE")
        else:
            out |= {it.id for it in cat.covers(c)}
    return out


def analyse(base: Version, new: Version, description: ChangeDescription | None = None) -> Analysis:
    imp = impact_map()["kinds"]
    observed = _observe(base, new)
    declared = description.changes if description else []
    used: set[int] = set()

    for ch in observed:
        for i, d in enumerate(declared):
            match_file = ch.kind == "file" and any(fnmatch.fnmatch(ch.subject, pat) for pat in d.files)
            if match_file or (ch.kind != "file" and d.kind == ch.kind):
                ch.declared = True
                used.add(i)
                if ch.kind == "file":
                    ch.kind = d.kind  # the holder's word classifies a file the lab saw change
                break
        if ch.kind == "file" and not ch.declared:
            ch.kind = "undeclared"
        if ch.kind == "version":
            ch.declared = True  # the version is the change being described
        entry = imp.get(ch.kind, {})
        ch.clauses = sorted(set(ch.clauses) | set(entry.get("clauses", [])))
        ch.why = entry.get("why", "")
        ch.major = bool(entry.get("major"))

    # A declared change the lab could not see still counts: the holder knows the product.
    not_seen = [d for i, d in enumerate(declared) if i not in used]
    for d in not_seen:
        entry = imp[d.kind]
        observed.append(
            Change(
                d.kind,
                "declared",
                d.description,
                observed=False,
                declared=True,
                clauses=list(entry.get("clauses", [])),
                why=entry.get("why", ""),
                major=bool(entry.get("major")),
            )
        )

    full = any(c.major for c in observed)
    cat = load_catalogue()
    if full:
        impacted = sorted(cat.ids() | _expand([FUNCTIONAL], new.spec))
    else:
        impacted = sorted(set().union(*[_expand(c.clauses, new.spec) for c in observed]) if observed else set())
    undeclared = [c for c in observed if c.observed and not c.declared and c.kind != "version"]
    return Analysis(
        baseline=base.label,
        changed=new.label,
        changes=observed,
        full_retest=full,
        impacted=impacted,
        undeclared=undeclared,
        declared_not_observed=not_seen,
    )
