"""What ``spec check`` proves about a REST driver description before anything is deployed:

- the signing scheme reproduces the documentation's worked example (signing.example);
- every credential template (auth schemes, an operation's extra credentials, the signing key, a
  provisioning step's fields) names a value something provides: an account's declared value, the
  session token, or what the login, provisioning or an operation captures.

Operation templates are open (a check or a scenario supplies call fields), so only their form is
checked elsewhere. Each problem is a ``SpecProblem`` with the spec file and line.
"""

from __future__ import annotations

import string
from typing import Any

from harness.drivers.signing import example_problem
from harness.spec import LoadedSpec, SpecProblem
from harness.spec.model import ACCOUNT_FIELDS, AuthScheme, RestDriver


def _names(template: str) -> set[str]:
    try:
        return {f.split(".")[0] for _, f, _, _ in string.Formatter().parse(template) if f}
    except ValueError:
        return set()


def provided(d: RestDriver) -> set[str]:
    """Every value name a session can hold."""
    names = {"token", *ACCOUNT_FIELDS}
    for a in d.accounts:
        names |= set(a.values)
    ops = [*d.operations.values(), *([d.login] if d.login else []), *([d.logout] if d.logout else [])]
    for op in ops:
        names |= set(op.capture)
    if d.provision is not None:
        names |= set(d.provision.values)
        for st in d.provision.steps:
            names |= set(st.capture)
    for flow in d.flows.values():
        names |= {c for fs in flow for c in fs.capture}
    return names


def _scheme_templates(s: AuthScheme) -> list[str]:
    if s.kind == "basic":
        return [s.username, s.password]
    if s.kind in ("bearer", "header", "query"):
        return [s.value]
    return []


def driver_problems(loaded: LoadedSpec) -> list[SpecProblem]:
    d = loaded.spec.driver
    if not isinstance(d, RestDriver):
        return []
    out: list[SpecProblem] = []

    def problem(loc: tuple[Any, ...], message: str) -> None:
        # The file and line that wrote the field: the variant's, or its extends: base's.
        path = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc).replace(".[", "[")
        out.append(loaded.problem(path, message))

    if d.signing is not None:
        why = example_problem(d.signing)
        if why is not None:
            problem(("driver", "signing", "example"), why)
    known = provided(d)
    schemes = d.auth_schemes()
    for i, s in enumerate(schemes):
        loc: tuple[Any, ...] = ("driver", "auth", i) if isinstance(d.auth, list) else ("driver", "auth")
        for t in _scheme_templates(s):
            for n in sorted(_names(t) - known):
                problem(loc, f"{{{n}}} is given by nothing: no account value, capture or session token")
    for name, op in d.operations.items():
        for i, s in enumerate(op.credentials):
            for t in _scheme_templates(s):
                for n in sorted(_names(t) - known):
                    problem(("driver", "operations", name, "credentials", i), f"{{{n}}} is given by nothing")
    if d.signing is not None and d.signing.key == "value" and d.signing.key_value:
        for n in sorted(_names(d.signing.key_value) - known):
            problem(("driver", "signing", "key_value"), f"{{{n}}} is given by nothing")
    if d.provision is not None:
        for i, st in enumerate(d.provision.steps):
            for k, t in st.fields.items():
                for n in sorted(_names(t) - known):
                    problem(("driver", "provision", "steps", i, "fields", k), f"{{{n}}} is given by nothing")
    return out
