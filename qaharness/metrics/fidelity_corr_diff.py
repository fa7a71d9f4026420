"""fidelity.corr_diff — difference of the pairwise association matrices."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..errors import NumericalError
from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ..schema import ColumnKind
from ..stats import std_from_counts
from ..summaries import AssociationStats, contingency_tables
from ._base import Metric, MetricDetails, RunContext, register_metric

MAX_CATEGORIES = 100  # beyond this, the rarest categories are pooled (documented in details)
_NUMERIC = (ColumnKind.NUMERIC, ColumnKind.DATETIME)


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    mask = ~(np.isnan(x) | np.isnan(y))
    x, y = x[mask], y[mask]
    if x.size < 3 or x.std() == 0 or y.std() == 0:
        return 0.0
    return float(np.corrcoef(x, y)[0, 1])


def cramers_v(a: np.ndarray, b: np.ndarray) -> float:
    """Cramér's V without bias correction of two non-negative integer code arrays (see ``cramers_v_table``)."""
    r, c = int(a.max()) + 1, int(b.max()) + 1
    return cramers_v_table(np.bincount(a * c + b, minlength=r * c).reshape(r, c))


def cramers_v_table(table: np.ndarray) -> float:
    """Cramér's V without bias correction: sqrt(χ²/n / (min(r, c) − 1)) over the observed levels of a
    contingency table."""
    table = np.asarray(table, dtype=float)
    table = table[table.sum(1) > 0][:, table.sum(0) > 0]
    r, c = table.shape
    if min(r, c) < 2:
        return 0.0
    n = table.sum()
    expected = np.outer(table.sum(1), table.sum(0)) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return float(np.sqrt(min(chi2 / n / (min(r, c) - 1), 1.0)))


def cramers_v_matrix(codes: list[np.ndarray]) -> np.ndarray:
    """``cramers_v`` of every pair of categorical columns at once: every pair's contingency table
    from one co-occurrence matrix (``summaries.contingency_tables``, the way the pandas engine
    builds ``AssociationStats.tables``), then ``cramers_v_table``."""
    sizes = [int(c.max()) + 1 for c in codes]
    tables = contingency_tables(codes, sizes)
    v = np.eye(len(codes))
    for (i, j), table in tables.items():
        v[i, j] = v[j, i] = cramers_v_table(table)
    return v


def correlation_ratio(codes: np.ndarray, values: np.ndarray) -> float:
    """η = sqrt(between-group sum of squares / total sum of squares) of ``values`` by category."""
    mask = ~np.isnan(values)
    codes, values = codes[mask], values[mask]
    if values.size < 3:
        return 0.0
    total = float(((values - values.mean()) ** 2).sum())
    if total == 0:
        return 0.0
    counts = np.bincount(codes)
    sums = np.bincount(codes, weights=values)
    present = counts > 0
    means = sums[present] / counts[present]
    between = float((counts[present] * (means - values.mean()) ** 2).sum())
    return float(np.sqrt(min(between / total, 1.0)))


def pearson_from_moments(stats: AssociationStats) -> np.ndarray:
    """Pearson r for every numeric pair over the rows where both are present, from the pairwise sums
    (of ranks, in ``AssociationStats``: Spearman's ρ)."""
    n, sx, sxx, sxy = stats.n, stats.sx, stats.sxx, stats.sxy
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = sxy - sx * sx.T / n
        var_i = sxx - sx**2 / n
        r = cov / np.sqrt(var_i * var_i.T)
    r[(n < 3) | ~np.isfinite(r) | (var_i <= 1e-12 * n) | (1e-12 * n >= var_i.T)] = 0.0
    return np.clip(r, -1.0, 1.0)


def eta_from_groups(count: np.ndarray, total: np.ndarray, sum_squares: np.ndarray) -> np.ndarray:
    """η of every numeric column grouped by one categorical column, from per-group present counts
    and sums (codes × numeric columns) and each column's sum of squares (of ranks, in
    ``AssociationStats``: η² = H / (n − 1), H the tie-corrected Kruskal–Wallis statistic)."""
    n, s = count.sum(0), total.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        total_ss = sum_squares - s**2 / n
        between = np.where(count > 0, total**2 / np.where(count > 0, count, 1), 0.0).sum(0) - s**2 / n
        eta = np.sqrt(np.clip(between / total_ss, 0.0, 1.0))
    eta[(n < 3) | (total_ss <= 1e-12 * n) | ~np.isfinite(eta)] = 0.0
    return eta


def association_matrix(columns: list[str], kinds: dict[str, ColumnKind], stats: AssociationStats) -> np.ndarray:
    """Spearman's ρ (Pearson on ranks) for numeric pairs, Cramér's V for categorical pairs, η of the
    ranks for mixed pairs, from one table's sufficient statistics (``TableSummaries.associations``)."""
    index = {c: i for i, c in enumerate(columns)}
    numeric = list(stats.numeric)
    categorical = [c for c in columns if kinds[c] not in _NUMERIC]
    matrix = np.eye(len(columns))
    if numeric:
        r = pearson_from_moments(stats)
        for (a, i), (b, j) in itertools.combinations(list(zip(numeric, range(len(numeric)))), 2):
            matrix[index[a], index[b]] = matrix[index[b], index[a]] = r[i, j]
        sum_squares = np.diag(stats.sxx)
        for cat in categorical:
            count, total = stats.groups[cat]
            for num, value in zip(numeric, eta_from_groups(count, total, sum_squares)):
                matrix[index[cat], index[num]] = matrix[index[num], index[cat]] = value
    for a, b in itertools.combinations(categorical, 2):
        matrix[index[a], index[b]] = matrix[index[b], index[a]] = cramers_v_table(stats.tables[(a, b)])
    return matrix


def require_finite_spread(data: EvalInput, columns: list[str]) -> None:
    """Raise ``NumericalError`` naming the first numeric column whose spread is not finite on either
    side (|x| near 1e160 squares past the float range): an association computed from it would be
    meaningless, and the rank interpolation between knots (``ranks.RankMap``) could overflow. Reads
    the value counts only, so every engine raises alike."""
    summaries = data.summaries()
    for column in columns:
        for seat in ("real", "synthetic"):
            counts = summaries.value_counts(column, seat)
            if counts.n == 0:
                continue
            with np.errstate(over="ignore", invalid="ignore"):
                spread = std_from_counts(counts.values, counts.counts)
            if not np.isfinite(spread):
                raise NumericalError(
                    f"the association of column {column!r} cannot be computed: its values are too large for "
                    "finite arithmetic (rescale the column, e.g. to other units)",
                    column=column,
                )


class Pair(BaseModel):
    """One column pair of the association matrices (rank associations for numeric columns)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    columns: list[str] = Field(min_length=2, max_length=2)
    difference: float = Field(ge=0, le=2)
    real: float = Field(ge=-1, le=1)
    synthetic: float = Field(ge=-1, le=1)


def pair_summary(columns: list[str], real_m: np.ndarray, synthetic_m: np.ndarray) -> dict[str, Any]:
    """Headline (largest difference), tail and RMS of the pairwise differences, worst pairs first,
    from the two association matrices alone."""
    diff = np.abs(real_m - synthetic_m)
    iu = np.triu_indices(len(columns), 1)
    flat = diff[iu]
    order = np.argsort(-flat, kind="stable")[:10]
    worst = [
        {
            "columns": [columns[iu[0][k]], columns[iu[1][k]]],
            "difference": float(flat[k]),
            "real": float(real_m[iu[0][k], iu[1][k]]),
            "synthetic": float(synthetic_m[iu[0][k], iu[1][k]]),
        }
        for k in order
    ]
    return {
        "value": float(flat.max()),
        "per_column": {c: float(np.delete(diff[i], i).max()) for i, c in enumerate(columns)},
        "details": {
            "frobenius": float(np.sqrt(np.mean(flat**2))),
            "p95": float(np.quantile(flat, 0.95)),
            "n_pairs": int(flat.size),
            "worst_pairs": worst,
            "columns": columns,
            "real_matrix": real_m.round(6).tolist(),
            "synthetic_matrix": synthetic_m.round(6).tolist(),
        },
    }


@register_metric
class CorrelationDifference(Metric):
    """Largest absolute difference between the real and synthetic association matrices.

    Associations, on ranks for numeric/datetime columns so that a few extreme values cannot drive
    them: Spearman's ρ (Pearson r of the ranks) for numeric pairs, the correlation ratio η of the ranks
    for mixed pairs (a Kruskal–Wallis-type effect size), Cramér's V for categorical pairs (categories
    beyond the 100 most frequent real ones pooled). Each table is ranked within itself from its own
    value counts (mid-ranks for ties, scaled to (0, 1), missing stays missing, pairwise-complete rows):
    exact up to ``ranks.RANK_KNOTS`` (4,096) distinct values, beyond that interpolated between 4,096
    knots with a rank error below 1/4,096 of the range (``qaharness.ranks``). Columns constant in real
    are left out. Range [0, 2] (ρ can flip sign); lower is better. Reference: Spearman (1904);
    Kruskal & Wallis (1952).
    ``details.frobenius`` is the root-mean-square difference over all pairs, ``details.p95`` the
    95th percentile of the pairwise differences. The holdout baseline is a maximum over the same
    pairs at the synthetic table's size, so a wide table's many pairs raise both alike. Computed from
    each table's association sufficient statistics (``data.summaries()``), exact under every engine.
    Values too large for finite arithmetic make the metric an error naming the column.
    """

    class Details(MetricDetails):
        model_config = ConfigDict(frozen=True, extra="forbid")
        frobenius: float = Field(ge=0, description="root-mean-square difference over all pairs")
        p95: float = Field(ge=0, description="95th percentile of the pairwise absolute differences")
        n_pairs: int = Field(ge=1, description="column pairs compared")
        worst_pairs: list[Pair] = Field(description="the ten largest differences, worst first")
        columns: list[str] = Field(description="the columns of the matrices, in order")
        real_matrix: list[list[float]] = Field(
            description="association matrix of real: ρ / η on ranks, Cramér's V (rounded to 6 places)"
        )
        synthetic_matrix: list[list[float]] = Field(
            description="association matrix of synthetic: ρ / η on ranks, Cramér's V (rounded)"
        )

    id = "fidelity.corr_diff"
    family = Family.FIDELITY
    goal = Goal.MINIMIZE
    bounds = (0.0, 2.0)
    conformance_defect = "collapse"
    has_baseline = True
    baseline_scaling = "root_n"
    baseline_draws = 5
    baseline_joint = True  # above 200,000 synthetic rows: 200,000-row draws, rescaled root-n (engine.baseline_plan)
    description = "Whether pairs of columns relate to each other in the synthetic data as they do in the real data."
    summary_based = True

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        columns = [c for c in data.columns() if data.real_n_unique(c) > 1]
        if len(columns) < 2:
            return self.skipped("fewer than two non-constant distribution columns")
        kinds = {c: data.schema[c] for c in columns}
        summaries = data.summaries()
        numeric = [c for c in columns if kinds[c] in _NUMERIC]
        require_finite_spread(data, numeric)
        # categories beyond the most frequent real ones are pooled, on both sides alike
        categories = {
            c: summaries.category_counts(c, "real").top(MAX_CATEGORIES - 1) for c in columns if kinds[c] not in _NUMERIC
        }
        real_m = association_matrix(columns, kinds, summaries.associations("real", numeric, categories))
        synthetic_m = association_matrix(columns, kinds, summaries.associations("synthetic", numeric, categories))
        summary = pair_summary(columns, real_m, synthetic_m)
        return self.result(summary["value"], per_column=summary["per_column"], details=summary["details"])
