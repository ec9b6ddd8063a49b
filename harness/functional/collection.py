"""Turning the spec's use cases into pytest tests at collection time.

The feature files live with the sample (``documentation.use_cases[].scenario``), so the tests are
generated from the spec being run: one pytest-bdd scenario test per scenario, marked with the use
case's ID (its plan item). Validation problems are kept and raised as a usage error (exit 2) by
the suite's conftest once collection ends, before any deployment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from harness.functional.scenarios import ScenarioProblem, collect
from harness.spec import SpecError, load_spec


@dataclass
class CollectionState:
    config: pytest.Config | None = None
    problems: list[ScenarioProblem] = field(default_factory=list)
    use_cases: dict[str, Any] = field(default_factory=dict)  # test name -> UseCase


STATE = CollectionState()


def test_name(use_case_id: str, index: int, count: int) -> str:
    base = "test_" + re.sub(r"\W+", "_", use_case_id).strip("_")
    return base if count == 1 else f"{base}_{index}"


EXAMPLE_ID = re.compile(r"(?:^|-)example-(\d+)(?:-|$)")


def _examples_by_position(fn: Any) -> Any:
    """pytest-bdd names an outline's example rows by their values joined ("alice-<alice.账号>"), which
    pytest escapes to ASCII in node IDs and so in evidence folder names ("_u8d26_u53f7"). Name them
    by position instead ("example-3"); the observation names the row by its values."""
    marks = []
    for m in getattr(fn, "pytestmark", []):
        if m.name == "parametrize" and m.args and m.args[0] == "_pytest_bdd_example":
            rows = [pytest.param(*ps.values, id=f"example-{i}", marks=ps.marks) for i, ps in enumerate(m.args[1], 1)]
            m = pytest.mark.parametrize("_pytest_bdd_example", rows).mark
        marks.append(m)
    fn.pytestmark = marks
    return fn


def example_row(item: Any) -> tuple[int, dict[str, str]] | None:
    """(1-based position, column -> value) of the example row a scenario-outline test runs."""
    callspec = getattr(item, "callspec", None)
    if callspec is None or "_pytest_bdd_example" not in callspec.params:
        return None
    m = EXAMPLE_ID.search(callspec.id)
    return (int(m.group(1)) if m else 0), dict(callspec.params["_pytest_bdd_example"])


def generate(namespace: dict[str, Any]) -> None:
    """Add the scenario tests of the spec under test to a test module's namespace."""
    from pytest_bdd import scenario

    config = STATE.config
    spec_path = config.getoption("--sample-spec", None) if config is not None else None
    if not spec_path:
        return
    try:
        loaded = load_spec(spec_path)
    except SpecError:
        return  # the harness plugin has already refused the spec
    found, problems = collect(loaded)
    STATE.problems = problems
    for ucs in found:
        for i, name in enumerate(ucs.names, start=1):

            def _scenario(world: Any) -> None:
                """All the checking is in the steps."""

            fn = _examples_by_position(scenario(str(ucs.path), name)(_scenario))
            fn = pytest.mark.clause(ucs.use_case.id)(fn)
            tname = test_name(ucs.use_case.id, i, len(ucs.names))
            fn.__name__ = tname
            namespace[tname] = fn
            STATE.use_cases[tname] = ucs.use_case
