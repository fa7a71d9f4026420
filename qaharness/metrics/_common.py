"""Helpers shared by metric plugins: consistent encodings across real and synthetic."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from ..schema import ColumnKind
from ..stats import binned_codes, binned_counts, quantile_edges, quantile_edges_from_counts
from ..summaries import ValueCounts
from ..summaries import as_float as _as_float

__all__ = [
    "numeric_values",
    "numeric_pairs",
    "numeric_count_pairs",
    "frequency_vectors",
    "category_codes",
    "column_codes",
    "MISSING",
]

MISSING = "\x00missing"


def numeric_values(series: pd.Series) -> np.ndarray:
    """Float values of a numeric or datetime column, missing dropped (datetimes as ns)."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        values = series.dropna().astype("int64").to_numpy(dtype=float)
    else:
        values = series.to_numpy(dtype=float)
        values = values[~np.isnan(values)]
    return values


def numeric_pairs(data) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict[str, str]]:
    """(real, synthetic) non-missing values per numeric/datetime column, and the columns skipped (with why)."""
    pairs, skipped = {}, {}
    for column in data.columns(ColumnKind.NUMERIC, ColumnKind.DATETIME):
        synthetic = numeric_values(data.synthetic[column])
        if synthetic.size == 0:
            skipped[column] = "synthetic column is all missing"
            continue
        pairs[column] = (numeric_values(data.real[column]), synthetic)
    return pairs, skipped


def numeric_count_pairs(data) -> tuple[dict[str, tuple[ValueCounts, ValueCounts]], dict[str, str]]:
    """(real, synthetic) value counts per numeric/datetime column (``data.summaries()``), and the
    columns skipped (with why): the exact-metric form of ``numeric_pairs``."""
    summaries = data.summaries()
    pairs, skipped = {}, {}
    for column in data.columns(ColumnKind.NUMERIC, ColumnKind.DATETIME):
        synthetic = summaries.value_counts(column, "synthetic")
        if synthetic.n == 0:
            skipped[column] = "synthetic column is all missing"
            continue
        pairs[column] = (summaries.value_counts(column, "real"), synthetic)
    return pairs, skipped


def frequency_vectors(data, column: str, n_bins: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Real and synthetic counts per category (missing is a category) or, for numeric/datetime
    columns, per bin of ``n_bins`` real quantiles (missing its own bin), from the summaries."""
    summaries = data.summaries()
    if data.schema[column] in (ColumnKind.NUMERIC, ColumnKind.DATETIME):
        real, synthetic = summaries.value_counts(column, "real"), summaries.value_counts(column, "synthetic")
        edges = quantile_edges_from_counts(real.values, real.counts, n_bins)
        return (
            binned_counts(real.values, real.counts, real.missing, edges),
            binned_counts(synthetic.values, synthetic.counts, synthetic.missing, edges),
        )
    real_counts = summaries.category_counts(column, "real").as_dict()
    synthetic_counts = summaries.category_counts(column, "synthetic").as_dict()
    labels = list(dict.fromkeys([*real_counts, *synthetic_counts]))
    return (
        np.array([real_counts.get(label, 0) for label in labels], dtype=np.int64),
        np.array([synthetic_counts.get(label, 0) for label in labels], dtype=np.int64),
    )


def category_codes(*frames_columns: pd.Series) -> tuple[list[np.ndarray], list[str]]:
    """Integer codes over the union of categories (missing is a category of its own)."""
    combined = pd.concat([s.astype(object) for s in frames_columns], ignore_index=True)
    codes, categories = pd.factorize(combined, use_na_sentinel=False)
    bounds = np.cumsum([0] + [len(s) for s in frames_columns])
    labels = [MISSING if (c is None or (isinstance(c, float) and np.isnan(c))) else str(c) for c in categories]
    return [codes[a:b] for a, b in itertools.pairwise(bounds)], labels


def column_codes(
    kind: ColumnKind, real: pd.Series, *others: pd.Series, n_bins: int = 20
) -> tuple[list[np.ndarray], int]:
    """Discrete codes for any distribution column: categories as is, numerics binned on real quantiles."""
    if kind in (ColumnKind.NUMERIC, ColumnKind.DATETIME):
        real_values = _as_float(real)
        edges = quantile_edges(real_values[~np.isnan(real_values)], n_bins)
        codes = [binned_codes(_as_float(s), edges) for s in (real, *others)]
        return codes, edges.size + 2
    codes, categories = category_codes(real, *others)
    return codes, len(categories)
