"""Helpers shared by metric plugins: consistent encodings across real and synthetic.

The finishing arithmetic of the exact fidelity metrics works on compact summaries (sorted values,
code counts), so another engine (Spark) can compute the summaries and reuse these functions.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd
from pydantic import ConfigDict, Field

from ..schema import ColumnKind
from ..stats import binned_codes, binned_counts, quantile_edges, quantile_edges_from_counts
from ..summaries import ValueCounts, as_float
from ._base import MetricDetails

if TYPE_CHECKING:
    from ..inputs import EvalInput

__all__ = [
    "numeric_values",
    "numeric_pairs",
    "numeric_count_pairs",
    "frequency_vectors",
    "category_codes",
    "column_codes",
    "Codes",
    "Codebook",
    "codebook",
    "PerColumnDetails",
    "as_float",
    "MISSING",
    "DISCRETE_MAX_VALUES",
    "N_BINS",
]

MISSING = "\x00missing"
#: numeric/datetime columns with at most this many distinct real values are compared value by value
DISCRETE_MAX_VALUES = 20
#: the others on this many real-quantile bins
N_BINS = 20


def numeric_values(series: pd.Series) -> np.ndarray:
    """Float values of a numeric or datetime column, missing dropped (datetimes as ns)."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        values = series.dropna().astype("int64").to_numpy(dtype=float)
    else:
        values = series.to_numpy(dtype=float)
        values = values[~np.isnan(values)]
    return values


def numeric_pairs(data: EvalInput) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict[str, str]]:
    """(real, synthetic) non-missing values per numeric/datetime column, and the columns skipped (with why)."""
    pairs, skipped = {}, {}
    for column in data.columns(ColumnKind.NUMERIC, ColumnKind.DATETIME):
        synthetic = numeric_values(data.synthetic[column])
        if synthetic.size == 0:
            skipped[column] = "synthetic column is all missing"
            continue
        pairs[column] = (numeric_values(data.real[column]), synthetic)
    return pairs, skipped


#: ``as_float`` under its old private name (``_dependencies`` imports it)
_as_float = as_float


def numeric_count_pairs(data: EvalInput, skipped: dict[str, str]) -> Iterator[tuple[str, ValueCounts, ValueCounts]]:
    """(column, real, synthetic) value counts of each numeric/datetime column (``data.summaries()``),
    one column at a time: a 10M-row table's continuous column has ~160 MB of counts, so a caller that
    finishes each column before the next holds one pair, not the table's. Columns whose synthetic side
    is all missing are left out and go to ``skipped`` with why. The exact-metric form of ``numeric_pairs``."""
    summaries = data.summaries()
    for column in data.columns(ColumnKind.NUMERIC, ColumnKind.DATETIME):
        synthetic = summaries.value_counts(column, "synthetic")
        if synthetic.n == 0:
            skipped[column] = "synthetic column is all missing"
            continue
        real = summaries.value_counts(column, "real")
        yield column, real, synthetic
        del real, synthetic  # not held while the next column is read


def frequency_vectors(
    data: EvalInput, column: str, n_bins: int = N_BINS, max_values: int = DISCRETE_MAX_VALUES
) -> tuple[np.ndarray, np.ndarray, str]:
    """Real and synthetic counts per code of one distribution column, from the summaries, and the
    encoding (``column_codes``'s, computed without the rows).

    Categorical/boolean columns: per category ("categories"). Numeric/datetime columns with at most
    ``max_values`` distinct real values: per value ("values"); others per bin of ``n_bins`` real
    quantiles ("quantile_bins"). Missing is always a code of its own; values or categories real
    never shows share one code (pooling them leaves a Jensen–Shannon distance unchanged: p = 0 there).
    """
    summaries = data.summaries()
    if data.schema[column] in (ColumnKind.NUMERIC, ColumnKind.DATETIME):
        real, synthetic = summaries.value_counts(column, "real"), summaries.value_counts(column, "synthetic")
        if real.values.size <= max_values:
            return (*_per_value(real, synthetic), "values")
        edges = quantile_edges_from_counts(real.values, real.counts, n_bins)
        return (
            binned_counts(real.values, real.counts, real.missing, edges),
            binned_counts(synthetic.values, synthetic.counts, synthetic.missing, edges),
            "quantile_bins",
        )
    real_counts = summaries.category_counts(column, "real").as_dict()
    synthetic_counts = summaries.category_counts(column, "synthetic").as_dict()
    labels = list(dict.fromkeys([*real_counts, *synthetic_counts]))
    return (
        np.array([real_counts.get(label, 0) for label in labels], dtype=np.int64),
        np.array([synthetic_counts.get(label, 0) for label in labels], dtype=np.int64),
        "categories",
    )


def _per_value(real: ValueCounts, synthetic: ValueCounts) -> tuple[np.ndarray, np.ndarray]:
    """Counts per real value, then missing, then every value real never shows (pooled)."""
    k = real.values.size
    position = np.searchsorted(real.values, synthetic.values).clip(max=max(k - 1, 0))
    matched = real.values[position] == synthetic.values if k else np.zeros(synthetic.values.size, dtype=bool)
    counts = np.bincount(position[matched], weights=synthetic.counts[matched], minlength=k)
    other = int(synthetic.counts[~matched].sum())
    return (
        np.concatenate([real.counts, [real.missing, 0]]).astype(np.int64),
        np.concatenate([counts, [synthetic.missing, other]]).astype(np.int64),
    )


def category_codes(*frames_columns: pd.Series) -> tuple[list[np.ndarray], list[str]]:
    """Integer codes over the union of categories (missing is a category of its own)."""
    combined = pd.concat([s.astype(object) for s in frames_columns], ignore_index=True)
    codes, categories = pd.factorize(combined, use_na_sentinel=False)
    bounds = np.cumsum([0] + [len(s) for s in frames_columns])
    labels = [MISSING if (c is None or (isinstance(c, float) and np.isnan(c))) else str(c) for c in categories]
    return [codes[a:b] for a, b in itertools.pairwise(bounds)], labels


class Codes(NamedTuple):
    """Discrete codes of one column in each table, how many codes there are, and how they were made."""

    codes: list[np.ndarray]
    n_codes: int
    encoding: str  # "categories" | "values" | "quantile_bins"


class Codebook(NamedTuple):
    """How one column is made discrete, learnt from the real table alone (so the holdout baseline's
    draws reuse it). Categories or values: real ones 0..k-1, missing k, any other k+1 (pooling what
    real never shows leaves a Jensen–Shannon distance unchanged: each such code has p = 0). Bins:
    ``stats.binned_codes`` on real-quantile edges."""

    encoding: str
    real_codes: np.ndarray
    n_codes: int
    known: pd.Index | None = None
    edges: np.ndarray | None = None

    def encode(self, series: pd.Series) -> np.ndarray:
        if self.edges is not None:
            return binned_codes(as_float(series), self.edges)
        assert self.known is not None
        values = as_float(series) if self.encoding == "values" else series.astype(object).to_numpy()
        codes = self.known.get_indexer(values)
        codes[codes < 0] = self.n_codes - 1
        codes[pd.isna(values)] = self.n_codes - 2
        return codes


def codebook(
    kind: ColumnKind, real: pd.Series, n_bins: int = N_BINS, max_values: int = DISCRETE_MAX_VALUES
) -> Codebook:
    """The codebook of a distribution column (see ``column_codes``)."""
    numeric = kind in (ColumnKind.NUMERIC, ColumnKind.DATETIME)
    values = as_float(real) if numeric else real.astype(object).to_numpy()
    missing = pd.isna(values)
    present = values[~missing]
    uniques = pd.unique(present)
    if numeric and uniques.size > max_values:
        edges = quantile_edges(present.astype(float), n_bins)
        return Codebook("quantile_bins", binned_codes(values, edges), edges.size + 2, edges=edges)
    index = pd.Index(uniques)
    codes = index.get_indexer(values)
    codes[missing] = len(index)
    return Codebook("values" if numeric else "categories", codes, len(index) + 2, known=index)


def column_codes(
    kind: ColumnKind,
    real: pd.Series,
    *others: pd.Series,
    n_bins: int = N_BINS,
    max_values: int = DISCRETE_MAX_VALUES,
) -> Codes:
    """Discrete codes for any distribution column, missing a code of its own.

    Categorical and boolean columns: their categories. Numeric and datetime columns with at most
    ``max_values`` distinct real values (counts, codes, ratings): value by value. Other numeric
    columns: ``n_bins`` bins at the real quantiles. Values real never shows share one code.
    """
    book = codebook(kind, real, n_bins, max_values)
    return Codes([book.real_codes, *(book.encode(s) for s in others)], book.n_codes, book.encoding)


class PerColumnDetails(MetricDetails):
    """Details of a metric whose headline is its worst column."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    mean: float = Field(description="mean of the per-column values")
    worst_column: str = Field(description="the column with the worst value (the headline)")
