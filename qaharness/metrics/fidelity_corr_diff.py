"""fidelity.corr_diff — difference of the pairwise association matrices."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ..schema import ColumnKind
from ._base import Metric, register_metric

MAX_CATEGORIES = 100  # beyond this, the rarest categories are pooled (documented in details)
_NUMERIC = (ColumnKind.NUMERIC, ColumnKind.DATETIME)


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    mask = ~(np.isnan(x) | np.isnan(y))
    x, y = x[mask], y[mask]
    if x.size < 3 or x.std() == 0 or y.std() == 0:
        return 0.0
    return float(np.corrcoef(x, y)[0, 1])


def cramers_v(a: np.ndarray, b: np.ndarray) -> float:
    """Cramér's V without bias correction: sqrt(χ²/n / (min(r, c) − 1)) over the observed levels."""
    _, a = np.unique(a, return_inverse=True)
    _, b = np.unique(b, return_inverse=True)
    r, c = a.max() + 1, b.max() + 1
    if min(r, c) < 2:
        return 0.0
    table = np.bincount(a * c + b, minlength=r * c).reshape(r, c).astype(float)
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
    keep = real.value_counts(dropna=False).index[:MAX_CATEGORIES - 1]
    index = pd.Index(keep)
    def codes(s: pd.Series) -> np.ndarray:
        c = index.get_indexer(s.astype(object))
        c[c < 0] = len(index)  # pooled "other" (and unseen categories)
        return c
    return codes(real), codes(other)


def association_matrix(columns: list[str], kinds: dict[str, ColumnKind], encoded: dict[str, np.ndarray]) -> np.ndarray:
    """Pearson for numeric pairs, Cramér's V for categorical pairs, η for mixed pairs."""
    k = len(columns)
    matrix = np.eye(k)
    for i, j in itertools.combinations(range(k), 2):
        a, b = columns[i], columns[j]
        num_a, num_b = kinds[a] in _NUMERIC, kinds[b] in _NUMERIC
        if num_a and num_b:
            value = pearson(encoded[a], encoded[b])
        elif not num_a and not num_b:
            value = cramers_v(encoded[a], encoded[b])
        else:
            cat, num = (b, a) if num_a else (a, b)
            value = correlation_ratio(encoded[cat], encoded[num])
        matrix[i, j] = matrix[j, i] = value
    return matrix


@register_metric
class CorrelationDifference(Metric):
    """Largest absolute difference between the real and synthetic association matrices.

    Associations: Pearson r for numeric pairs, Cramér's V for categorical pairs (categories beyond
    the 100 most frequent real ones pooled), the correlation ratio η for mixed pairs. Columns
    constant in real are left out. Range [0, 2] (Pearson pairs can flip sign); lower is better.
    ``details.frobenius`` is the root-mean-square difference over all pairs.
    """

    id = "fidelity.corr_diff"
    family = Family.FIDELITY
    goal = Goal.MINIMIZE
    bounds = (0.0, 2.0)
    has_baseline = True
    description = "Whether pairs of columns relate to each other in the synthetic data as they do in the real data."

    def compute(self, data: EvalInput, *, rng: np.random.Generator) -> MetricResult:
        columns = [c for c in data.columns() if data.real[c].nunique(dropna=True) > 1]
        if len(columns) < 2:
            return self.skipped("fewer than two non-constant distribution columns")
        kinds = {c: data.schema[c] for c in columns}
        real_enc, synthetic_enc = {}, {}
        for c in columns:
            real_enc[c], synthetic_enc[c] = _encode(data.real[c], data.synthetic[c], kinds[c])
        real_m = association_matrix(columns, kinds, real_enc)
        synthetic_m = association_matrix(columns, kinds, synthetic_enc)
        diff = np.abs(real_m - synthetic_m)
        iu = np.triu_indices(len(columns), 1)
        pairs = sorted(zip(diff[iu], iu[0], iu[1]), key=lambda t: -t[0])
        worst = [{"columns": [columns[i], columns[j]], "difference": float(d),
                  "real": float(real_m[i, j]), "synthetic": float(synthetic_m[i, j])} for d, i, j in pairs[:10]]
        per_column = {c: float(diff[i].max()) for i, c in enumerate(columns)}
        return self.result(float(diff[iu].max()), per_column=per_column, details={
            "frobenius": float(np.sqrt(np.mean(diff[iu] ** 2))), "worst_pairs": worst,
            "columns": columns, "real_matrix": real_m.round(6).tolist(),
            "synthetic_matrix": synthetic_m.round(6).tolist()})
