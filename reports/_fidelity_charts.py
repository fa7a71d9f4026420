"""Fidelity charts and tables, read from results.json by the metrics' declared detail names.

- ``fidelity.corr_diff``: ``details.columns``, ``details.real_matrix``, ``details.synthetic_matrix``
- ``run.profiles`` (``qaharness.profile``): ``columns.<name>.{kind, edges, real, synthetic, categories}``
- every fidelity metric's ``per_column`` (the distributions are ordered and captioned by it)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qaharness._format import fmt
from qaharness.results import Family, Goal, Run

from . import _charts
from ._readers import chart, metric, numbers

__all__ = ["fidelity_charts", "per_column_table", "worst_scores", "MAX_DISTRIBUTIONS", "MAX_HEATMAP"]

MAX_DISTRIBUTIONS = 24
MAX_HEATMAP = 30
MAX_PER_COLUMN_ROWS = 40


@dataclass(frozen=True)
class Worst:
    """A column's worst fidelity score: how bad (0 best, 1 worst), by which metric, and its value."""

    badness: float
    metric: str
    value: float


def worst_scores(run: Run) -> dict[str, Worst]:
    """Per column, the worst of the [0, 1]-bounded fidelity per-column scores (for ordering and captions)."""
    out: dict[str, Worst] = {}
    for m in run.metrics:
        if m.family is not Family.FIDELITY or not m.ok or not m.per_column or m.bounds != (0.0, 1.0):
            continue
        for column, value in m.per_column.items():
            bad = value if m.goal is Goal.MINIMIZE else 1.0 - value
            if column not in out or bad > out[column].badness:
                out[column] = Worst(bad, m.id, value)
    return out


def _heatmap(run: Run) -> tuple[list[dict], list[str]]:
    corr = metric(run, "fidelity.corr_diff")
    if corr is None:
        return [], []
    columns, real, synthetic = (corr.details.get(k) for k in ("columns", "real_matrix", "synthetic_matrix"))
    if not isinstance(columns, list) or not isinstance(real, list) or not isinstance(synthetic, list):
        return [], []
    k = len(columns)
    if (
        k < 2
        or len(real) != k
        or len(synthetic) != k
        or not all(numbers(r, k) and numbers(s, k) for r, s in zip(real, synthetic))
    ):
        return [], []
    notes, keep = [], list(range(k))
    if k > MAX_HEATMAP:
        per = corr.per_column or {}
        keep = sorted(sorted(range(k), key=lambda i: -per.get(str(columns[i]), 0.0))[:MAX_HEATMAP])
        notes.append(f"Association heatmap: the {MAX_HEATMAP} columns with the largest differences, of {k}.")
    names = [str(columns[i]) for i in keep]

    def pick(matrix: list) -> list[list[float]]:
        return [[matrix[i][j] for j in keep] for i in keep]

    uri = _charts.heatmap(names, pick(real), pick(synthetic))
    caption = (
        f"fidelity.corr_diff (largest difference {fmt(corr.value)}): pairwise associations (on ranks: "
        "Spearman ρ, the correlation ratio of the ranks; Cramér's V) in the real and the synthetic data, "
        "and their absolute difference; "
        "dark cells on the right are relationships the generator did not reproduce."
    )
    return [chart("Associations between columns", uri, caption, size="wide")], notes


def _distributions(run: Run) -> tuple[list[dict], list[str]]:
    profiles = (run.profiles or {}).get("columns")
    if not isinstance(profiles, dict) or not profiles:
        return [], []
    worst = worst_scores(run)
    order = sorted(profiles, key=lambda c: -worst[c].badness if c in worst else 0.0)
    charts = []
    for column in order[:MAX_DISTRIBUTIONS]:
        drawn = _distribution(column, profiles[column], worst.get(column))
        if drawn:
            charts.append(drawn)
    notes = []
    total = (run.profiles or {}).get("n_columns", len(profiles))
    if isinstance(total, int) and total > len(charts):
        notes.append(f"Distributions: {len(charts)} of {total} columns shown, those that differ most first.")
    rare_k = (run.profiles or {}).get("rare_k")
    if rare_k:
        notes.append(
            f"Categories seen at most {rare_k} times in the real data appear as rare#<code>; "
            "numeric axes span the real 1st–99th percentiles (outliers fall in the end bins)."
        )
    return charts, notes


def _distribution(column: str, profile: Any, worst: Worst | None) -> dict[str, Any] | None:
    if not isinstance(profile, dict):
        return None
    kind = str(profile.get("kind", ""))
    caption = f"{kind}; worst score: {worst.metric} {fmt(worst.value)}" if worst else kind
    edges = numbers(profile.get("edges"))
    if edges and len(edges) >= 2:
        real = numbers(profile.get("real"), len(edges) - 1)
        synthetic = numbers(profile.get("synthetic"), len(edges) - 1)
        if real and synthetic:
            uri = _charts.histogram(column, edges, real, synthetic, datetime=kind == "datetime")
            return chart(column, uri, caption)
    labels = profile.get("categories")
    if isinstance(labels, list) and labels:
        real, synthetic = numbers(profile.get("real"), len(labels)), numbers(profile.get("synthetic"), len(labels))
        if real and synthetic:
            return chart(column, _charts.categories(column, [str(v) for v in labels], real, synthetic), caption)
    return None


def fidelity_charts(run: Run) -> tuple[list[dict[str, Any]], list[str]]:
    heat, heat_notes = _heatmap(run)
    dist, dist_notes = _distributions(run)
    return heat + dist, heat_notes + dist_notes


def per_column_table(run: Run) -> list[dict[str, Any]]:
    metrics = [m for m in run.metrics if m.family is Family.FIDELITY and m.ok and m.per_column]
    if not metrics:
        return []
    worst = worst_scores(run)
    columns = list(dict.fromkeys(c for m in metrics for c in m.per_column or {}))
    columns.sort(key=lambda c: -worst[c].badness if c in worst else 0.0)
    rows = [
        [c] + [fmt((m.per_column or {}).get(c)) if c in (m.per_column or {}) else "" for m in metrics]
        for c in columns[:MAX_PER_COLUMN_ROWS]
    ]
    return [
        {
            "title": "Per-column scores (worst first)",
            "header": ["column"] + [m.id for m in metrics],
            "rows": rows,
            "more": max(0, len(columns) - MAX_PER_COLUMN_ROWS),
        }
    ]
