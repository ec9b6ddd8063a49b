"""The typed sample spec and its loader."""

from harness.spec.loader import LoadedSpec, SpecError, SpecProblem, load_spec
from harness.spec.model import SampleSpec

__all__ = ["LoadedSpec", "SampleSpec", "SpecError", "SpecProblem", "load_spec"]
