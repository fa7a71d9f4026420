"""Pillar-specific charts and tables, drawn only where results.json holds what they need.

Each pillar's module reads its metrics' details by the names the metrics declare (their typed
``Details``), listed in its docstring: ``_fidelity_charts``, ``_utility_charts``, ``_privacy_charts``.
A missing or oddly shaped key means no chart, never an error.
"""

from __future__ import annotations

from typing import Any

from qaharness.results import Family, Run

from ._fidelity_charts import MAX_DISTRIBUTIONS, MAX_HEATMAP, fidelity_charts, per_column_table
from ._privacy_charts import privacy_charts
from ._utility_charts import utility_charts

__all__ = ["charts_for", "tables_for", "MAX_DISTRIBUTIONS", "MAX_HEATMAP"]


def charts_for(family: Family, run: Run) -> tuple[list[dict[str, Any]], list[str]]:
    """(charts, notes) for one pillar; charts are dicts with title, uri, caption, size."""
    if family is Family.FIDELITY:
        return fidelity_charts(run)
    if family is Family.UTILITY:
        return utility_charts(run)
    if family is Family.PRIVACY:
        return privacy_charts(run)
    return [], []


def tables_for(family: Family, run: Run) -> list[dict[str, Any]]:
    return per_column_table(run) if family is Family.FIDELITY else []
