"""Per-column marginals shared by the statistical baselines (independent, gaussian_copula).

Numeric and datetime columns are summarised by 1,001 quantiles of the present values
(no raw rows are stored) plus a missing rate; discrete columns by their domain's
category counts. ``inverse`` maps uniforms in [0, 1] back to values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._domain import ColumnDomain, from_float, to_float

__all__ = ["fit_marginal", "inverse", "probabilities", "GRID"]

GRID = np.linspace(0.0, 1.0, 1001)


def fit_marginal(series: pd.Series, domain: ColumnDomain) -> dict:
    if domain.discrete:
        return {}
    x = to_float(series, domain.kind)
    present = x[~np.isnan(x)]
    quantiles = np.quantile(present, GRID) if present.size else np.full(GRID.size, domain.low)
    return {"quantiles": [float(v) for v in quantiles], "missing_rate": float(np.isnan(x).mean())}


def probabilities(domain: ColumnDomain) -> np.ndarray:
    """Category probabilities (uniform when the categories were declared without counts)."""
    counts = np.ones(len(domain.categories)) if domain.counts is None else np.maximum(np.asarray(domain.counts), 0)
    total = counts.sum()
    return counts / total if total > 0 else np.full(len(counts), 1 / len(counts))


def inverse(u: np.ndarray, domain: ColumnDomain, marginal: dict, missing_u: np.ndarray | None = None) -> pd.Series:
    """Values for uniforms ``u``; ``missing_u`` (uniforms) decides missingness of continuous columns."""
    if domain.discrete:
        cumulative = np.cumsum(probabilities(domain))
        index = np.minimum(np.searchsorted(cumulative, u, side="right"), len(cumulative) - 1)
        cats = np.array(list(domain.categories), dtype=object)
        return pd.Series(cats[index], dtype=object)
    x = np.interp(u, GRID, np.asarray(marginal["quantiles"]))
    if missing_u is not None:
        x = np.where(missing_u < marginal["missing_rate"], np.nan, x)
    return from_float(x, domain)
