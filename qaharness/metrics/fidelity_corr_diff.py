"""fidelity.corr_diff — difference of the pairwise association matrices."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from ..errors import NumericalError
from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ..schema import ColumnKind
from ._base import Metric, MetricDetails, RunContext, register_metric

MAX_CATEGORIES = 100  # beyond this, the rarest categories are pooled (documented in details)
#: all categorical columns' categories together up to this many: Cramér's V of every pair from one
#: co-occurrence matrix (≤ 4,000² floats, 128 MB); beyond, pair by pair
MAX_JOINT_CATEGORIES = 4_000
_NUMERIC = (ColumnKind.NUMERIC, ColumnKind.DATETIME)


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    mask = ~(np.isnan(x) | np.isnan(y))
    x, y = x[mask], y[mask]
    if x.size < 3 or x.std() == 0 or y.std() == 0:
        return 0.0
    return float(np.corrcoef(x, y)[0, 1])


def cramers_v(a: np.ndarray, b: np.ndarray) -> float:
    """Cramér's V without bias correction: sqrt(χ²/n / (min(r, c) − 1)) over the observed levels.

    ``a`` and ``b`` are non-negative integer codes.
    """
    r, c = int(a.max()) + 1, int(b.max()) + 1
    table = np.bincount(a * c + b, minlength=r * c).reshape(r, c).astype(float)
    table = table[table.sum(1) > 0][:, table.sum(0) > 0]
    r, c = table.shape
    if min(r, c) < 2:
        return 0.0
    n = table.sum()
    expected = np.outer(table.sum(1), table.sum(0)) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return float(np.sqrt(min(chi2 / n / (min(r, c) - 1), 1.0)))


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


def _encode(real: pd.Series, other: pd.Series, kind: ColumnKind) -> tuple[np.ndarray, np.ndarray]:
    if kind in _NUMERIC:

        def as_float(s: pd.Series) -> np.ndarray:
            out = s.astype("int64").to_numpy(dtype=float) if kind is ColumnKind.DATETIME else s.to_numpy(float)
            if kind is ColumnKind.DATETIME:
                out[s.isna().to_numpy()] = np.nan
            return out

        return as_float(real), as_float(other)
    keep = real.value_counts(dropna=False).index[: MAX_CATEGORIES - 1]
    index = pd.Index(keep)

    def codes(s: pd.Series) -> np.ndarray:
        c = index.get_indexer(s.astype(object))
        c[c < 0] = len(index)  # pooled "other" (and unseen categories)
        return c

    return codes(real), codes(other)


def _standardise(values: np.ndarray, column: str) -> np.ndarray:
    """(x − mean) / std over the present values; NaN stays NaN. Pearson and η are invariant to this.

    Raises ``NumericalError`` naming the column when the mean or spread is not finite (|x| near
    1e160 squares past the float range): an association computed from it would be meaningless.
    """
    if not np.isfinite(values).any():
        return values.copy()
    with np.errstate(over="ignore", invalid="ignore"):
        out = values - np.nanmean(values)
        std = np.nanstd(out)
    if not (np.isfinite(std) and np.isfinite(out[~np.isnan(out)]).all()):
        raise NumericalError(
            f"the association of column {column!r} cannot be computed: its values are too large for "
            "finite arithmetic (rescale the column, e.g. to other units)",
            column=column,
        )
    return out / std if std > 0 else out


def _pairwise_pearson(numeric: np.ndarray) -> np.ndarray:
    """Pearson r for every column pair over the rows where both are present (exact, by matrix products)."""
    missing = np.isnan(numeric)
    present = (~missing).astype(float)
    x = np.where(missing, 0.0, numeric)
    n = present.T @ present
    sx = x.T @ present  # sx[i, j]: sum of column i over rows where i and j are present
    sxx = (x * x).T @ present
    sxy = x.T @ x
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = sxy - sx * sx.T / n
        var_i = sxx - sx**2 / n
        r = cov / np.sqrt(var_i * var_i.T)
    r[(n < 3) | ~np.isfinite(r) | (var_i <= 1e-12 * n) | (1e-12 * n >= var_i.T)] = 0.0
    return np.clip(r, -1.0, 1.0)


def _eta_by_category(codes: np.ndarray, present: np.ndarray, x: np.ndarray, x2: np.ndarray) -> np.ndarray:
    """η of every numeric column grouped by one categorical column (exact, via group sums).

    ``present`` is the 0/1 mask of the numeric block, ``x`` the block with missing as 0, ``x2`` = x².
    """
    from scipy import sparse

    groups = sparse.csr_matrix((np.ones(codes.size), (codes, np.arange(codes.size))))
    count, total = groups @ present, groups @ x
    n, s, ss = count.sum(0), total.sum(0), x2.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        total_ss = ss - s**2 / n
        between = np.where(count > 0, total**2 / np.where(count > 0, count, 1), 0.0).sum(0) - s**2 / n
        eta = np.sqrt(np.clip(between / total_ss, 0.0, 1.0))
    eta[(n < 3) | (total_ss <= 1e-12 * n) | ~np.isfinite(eta)] = 0.0
    return eta


def association_matrix(columns: list[str], kinds: dict[str, ColumnKind], encoded: dict[str, np.ndarray]) -> np.ndarray:
    """Pearson for numeric pairs, Cramér's V for categorical pairs, η for mixed pairs."""
    index = {c: i for i, c in enumerate(columns)}
    numeric = [c for c in columns if kinds[c] in _NUMERIC]
    categorical = [c for c in columns if kinds[c] not in _NUMERIC]
    matrix = np.eye(len(columns))
    if numeric:
        block = np.column_stack([_standardise(encoded[c], c) for c in numeric])
        r = _pairwise_pearson(block)
        for (a, i), (b, j) in itertools.combinations(list(zip(numeric, range(len(numeric)))), 2):
            matrix[index[a], index[b]] = matrix[index[b], index[a]] = r[i, j]
        missing = np.isnan(block)
        present = (~missing).astype(float)
        x = np.where(missing, 0.0, block)
        x2 = x * x
        for cat in categorical:
            for num, value in zip(numeric, _eta_by_category(encoded[cat], present, x, x2)):
                matrix[index[cat], index[num]] = matrix[index[num], index[cat]] = value
    if len(categorical) >= 2:
        codes = [encoded[c] for c in categorical]
        v = cramers_v_matrix(codes) if sum(int(c.max()) + 1 for c in codes) <= MAX_JOINT_CATEGORIES else None
        where = [index[c] for c in categorical]
        for i, j in itertools.combinations(range(len(categorical)), 2):
            value = v[i, j] if v is not None else cramers_v(codes[i], codes[j])
            matrix[where[i], where[j]] = matrix[where[j], where[i]] = value
    return matrix


def cramers_v_matrix(codes: list[np.ndarray]) -> np.ndarray:
    """``cramers_v`` of every pair of categorical columns at once, from one co-occurrence matrix.

    With one-hot blocks O (rows × all categories), C = OᵀO holds every pair's contingency table;
    χ²/n of a pair is Σ C_ij² / (r_i c_j) − 1 over its block, and V = sqrt(χ²/n / (min(r, c) − 1))
    over the levels observed (r, c). Equal to the pairwise definition (tested).
    """
    from scipy import sparse

    sizes = [int(c.max()) + 1 for c in codes]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    n = codes[0].size
    rows = np.tile(np.arange(n), len(codes))
    onehot = sparse.csr_matrix(
        (np.ones(n * len(codes)), (rows, np.concatenate([c + o for c, o in zip(codes, offsets[:-1])]))),
        shape=(n, int(offsets[-1])),
    )
    table = (onehot.T @ onehot).toarray()
    counts = np.diag(table).copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(np.outer(counts, counts) > 0, table**2 / np.outer(counts, counts), 0.0)
    block = sparse.csr_matrix((np.ones(offsets[-1]), (np.arange(offsets[-1]), np.repeat(np.arange(len(codes)), sizes))))
    phi2 = (block.T @ sparse.csr_matrix(share) @ block).toarray() - 1.0
    levels = np.asarray((block.T @ sparse.csr_matrix((counts > 0).astype(float)[:, None])).todense()).ravel()
    smaller = np.minimum.outer(levels, levels) - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(smaller > 0, np.sqrt(np.clip(phi2 / smaller, 0.0, 1.0)), 0.0)
    return v


class Pair(BaseModel):
    """One column pair of the association matrices."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    columns: list[str] = Field(min_length=2, max_length=2)
    difference: float = Field(ge=0, le=2)
    real: float = Field(ge=-1, le=1)
    synthetic: float = Field(ge=-1, le=1)


def pair_summary(columns: list[str], real_m: np.ndarray, synthetic_m: np.ndarray) -> dict[str, Any]:
    """Headline (largest difference), tail and RMS of the pairwise differences, worst pairs first.

    Works on the two association matrices only (the compact summary another engine can compute).
    """
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

    Associations: Pearson r for numeric pairs, Cramér's V for categorical pairs (categories beyond
    the 100 most frequent real ones pooled), the correlation ratio η for mixed pairs. Columns
    constant in real are left out. Range [0, 2] (Pearson pairs can flip sign); lower is better.
    ``details.frobenius`` is the root-mean-square difference over all pairs, ``details.p95`` the
    95th percentile of the pairwise differences. The holdout baseline is a maximum over the same
    pairs at the synthetic table's size, so a wide table's many pairs raise both alike.
    Values too large for finite arithmetic make the metric an error naming the column.
    """

    class Details(MetricDetails):
        model_config = ConfigDict(frozen=True, extra="forbid")
        frobenius: float = Field(ge=0, description="root-mean-square difference over all pairs")
        p95: float = Field(ge=0, description="95th percentile of the pairwise absolute differences")
        n_pairs: int = Field(ge=1, description="column pairs compared")
        worst_pairs: list[Pair] = Field(description="the ten largest differences, worst first")
        columns: list[str] = Field(description="the columns of the matrices, in order")
        real_matrix: list[list[float]] = Field(description="association matrix of real (rounded to 6 places)")
        synthetic_matrix: list[list[float]] = Field(description="association matrix of synthetic (rounded)")

    id = "fidelity.corr_diff"
    family = Family.FIDELITY
    goal = Goal.MINIMIZE
    bounds = (0.0, 2.0)
    conformance_defect = "collapse"
    has_baseline = True
    baseline_scaling = "root_n"
    baseline_draws = 5
    description = "Whether pairs of columns relate to each other in the synthetic data as they do in the real data."

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        columns = [c for c in data.columns() if data.real_n_unique(c) > 1]
        if len(columns) < 2:
            return self.skipped("fewer than two non-constant distribution columns")
        kinds = {c: data.schema[c] for c in columns}
        real_enc, synthetic_enc = {}, {}
        for c in columns:
            real_enc[c], synthetic_enc[c] = _encode(data.real[c], data.synthetic[c], kinds[c])
        # the real matrix depends on the real table alone: the baseline's draws share it
        real_m = ctx.cached(
            data.real, ("corr_diff.real", tuple(columns)), lambda: association_matrix(columns, kinds, real_enc)
        )
        synthetic_m = association_matrix(columns, kinds, synthetic_enc)
        summary = pair_summary(columns, real_m, synthetic_m)
        return self.result(summary["value"], per_column=summary["per_column"], details=summary["details"])
