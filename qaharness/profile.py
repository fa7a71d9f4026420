"""Small per-column profiles of real vs synthetic, for plots in reports.

``column_profiles`` summarises each distribution column so a report can draw it
without the data: numeric and datetime columns as a histogram on shared bin edges,
categorical and boolean columns as the top categories' shares. Nothing here reveals
a rare real value: categories seen at most ``rare_k`` times in the real data are shown
as ``rare#<hash>`` (``qaharness.masking``), and numeric bin edges span the real data's
1st–99th percentiles (values outside fall in the outer bins), so an extreme real value
never appears as an edge. Stored in ``results.json`` under ``profiles``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .inputs import EvalInput
from .masking import RARE_K, masked_counts
from .metrics._common import numeric_values
from .schema import ColumnKind

__all__ = ["column_profiles", "PROFILE_VERSION"]

PROFILE_VERSION = 1
_CLIP = (1.0, 99.0)  # percentiles of real bounding the histogram


def column_profiles(
    data: EvalInput, *, max_columns: int = 60, rare_k: int = RARE_K, bins: int = 20, top: int = 12
) -> dict[str, Any]:
    """Profiles of the first ``max_columns`` distribution columns (schema order).

    Returns ``{"version", "rare_k", "n_columns", "truncated", "columns": {name: profile}}``;
    a numeric profile is ``{"kind", "edges", "real", "synthetic", "missing_real",
    "missing_synthetic"}`` (shares per bin, summing to 1 over non-missing values),
    a categorical one ``{"kind", "categories", "real", "synthetic", "other_real",
    "other_synthetic", ...}`` with the top ``top`` real categories (rare ones masked).
    """
    columns = data.columns()
    out: dict[str, Any] = {
        "version": PROFILE_VERSION,
        "rare_k": rare_k,
        "n_columns": len(columns),
        "truncated": len(columns) > max_columns,
        "columns": {},
    }
    for column in columns[:max_columns]:
        kind = data.schema[column]
        real, synthetic = data.real[column], data.synthetic[column]
        if kind in (ColumnKind.NUMERIC, ColumnKind.DATETIME):
            profile = _numeric(real, synthetic, bins)
        else:
            profile = _categorical(real, synthetic, rare_k, top)
        profile["kind"] = kind.value
        profile["missing_real"] = _share(real.isna().sum(), len(real))
        profile["missing_synthetic"] = _share(synthetic.isna().sum(), len(synthetic))
        out["columns"][column] = profile
    return out


def _share(count: float, total: int) -> float:
    return float(count) / total if total else 0.0


def _numeric(real: pd.Series, synthetic: pd.Series, bins: int) -> dict[str, Any]:
    real_values, synthetic_values = numeric_values(real), numeric_values(synthetic)
    # near ±1.8e308 a difference of two values overflows to inf (percentile interpolation, bin
    # widths): work on values divided by a power of two (exact) and scale the edges back
    scale = 4.0 if real_values.size and np.abs(real_values).max() > 1e307 else 1.0
    low, high = np.percentile(real_values / scale, _CLIP) if real_values.size else (0.0, 1.0)
    if not high > low:  # constant (or nearly) in real: one bin around the value
        low, high = low - 0.5, high + 0.5
        bins = 1
    edges = np.linspace(low, high, bins + 1) * scale
    return {
        "edges": [_edge(e) for e in edges],
        "real": _hist(real_values, edges),
        "synthetic": _hist(synthetic_values, edges),
    }


def _edge(value: float) -> float:
    """An edge rounded to 10 significant digits for the JSON, unless rounding would overflow."""
    rounded = float(f"{value:.10g}")
    return rounded if math.isfinite(rounded) else float(value)


def _hist(values: np.ndarray, edges: np.ndarray) -> list[float]:
    if values.size == 0:
        return [0.0] * (edges.size - 1)
    clipped = np.clip(values, edges[0], edges[-1])
    counts, _ = np.histogram(clipped, bins=edges)
    return [round(float(c) / values.size, 6) for c in counts]


def _categorical(real: pd.Series, synthetic: pd.Series, rare_k: int, top: int) -> dict[str, Any]:
    counts = masked_counts(real, [synthetic], k=rare_k, top=top)
    real_share = [round(v, 6) for v in counts["real"]]
    synthetic_share = [round(v, 6) for v in counts["other_0"]]
    return {
        "categories": [str(c) for c in counts["categories"]],
        "real": real_share,
        "synthetic": synthetic_share,
        "other_real": round(max(0.0, 1.0 - sum(counts["real"])), 6),
        "other_synthetic": round(max(0.0, 1.0 - sum(counts["other_0"])), 6),
        "n_categories_real": int(real.nunique(dropna=True)),
    }
