"""Regression retests after product changes: change analysis, impacted clauses, supplementary reports."""
