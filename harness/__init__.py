"""Fintech type-test lab harness: spec -> intake -> plan -> deploy -> run -> results -> report."""
