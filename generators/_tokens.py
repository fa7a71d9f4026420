"""Every column as one token per row, for the autoregressive generator.

- Categorical and boolean columns: one token per category seen more than ``rare_threshold``
  times; the rest are pooled into one rare token (a privacy threshold, as the reports' masking:
  a category seen by a handful of people could identify one of them). Missing is its own token.
- Numeric and datetime columns: frequent exact values (seen more than ``rare_threshold``
  times, at most ``max_points`` of them) are tokens of their own, so spikes such as
  ``capital_gain = 0`` or ``hours_per_week = 40`` come back exactly; the remaining values
  fall into ``max_bins`` equal-count quantile bins. A bin token is decoded with a within-bin
  value: a uniform draw inside the bin's quantile range mapped through the bin's own quantile
  table, so the within-bin distribution is the real one. Extreme values are clipped to the
  ``rare_threshold + 1``-th smallest/largest value, so no lone record's extreme is stored.
- Under differential privacy nothing is read from the data here: categories come from the
  (DP-estimated or declared) domain, numeric columns get equal-width bins over the domain's
  bounds with a uniform within-bin value, and a rare token always exists.

Token 0 of every column is "missing" when the column may be missing, then "rare" when there is
one; ``ColumnTokens`` records the layout. Reference: the per-column tokenisation of TabularARGN
(Tiwald et al., "TabularARGN", 2025), written here from the paper's description.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from ._domain import ColumnDomain, from_float, to_float

__all__ = ["ColumnTokens", "fit_tokens", "encode", "decode"]

_QUANTILES = 101  # quantile table per bin (within-bin values)


@dataclass(frozen=True)
class ColumnTokens:
    """One column's vocabulary. ``values``: categories (discrete) or exact points (numeric)."""

    name: str
    kind: str
    missing: bool = False
    rare: bool = False
    values: tuple[Any, ...] = ()
    bins: tuple[tuple[float, ...], ...] = ()  # per bin: its quantile table (edges = first and last)
    counts: tuple[float, ...] = field(default=(), compare=False)  # training frequency per token

    @property
    def discrete(self) -> bool:
        return self.kind in ("categorical", "boolean")

    @property
    def offset(self) -> int:
        """Index of the first value token."""
        return int(self.missing) + int(self.rare)

    @property
    def rare_token(self) -> int | None:
        return int(self.missing) if self.rare else None

    @property
    def size(self) -> int:
        return self.offset + len(self.values) + len(self.bins)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ColumnTokens:
        data = dict(data)
        data["values"] = tuple(data["values"])
        data["bins"] = tuple(tuple(b) for b in data["bins"])
        data["counts"] = tuple(data.get("counts", ()))
        return cls(**data)


def fit_tokens(
    series: pd.Series,
    domain: ColumnDomain,
    *,
    private: bool,
    rare_threshold: int,
    max_bins: int,
    max_points: int,
    max_categories: int,
) -> ColumnTokens:
    """The vocabulary of one coerced column (``private``: from the domain only)."""
    if domain.discrete:
        return _fit_discrete(series, domain, private, rare_threshold, max_categories)
    if private:  # equal-width bins over the domain's bounds, a uniform value inside
        edges = np.linspace(domain.low or 0.0, domain.high or 0.0, max_bins + 1)
        bins = tuple((float(lo), float(hi)) for lo, hi in pairwise(edges))
        return ColumnTokens(domain.name, domain.kind, missing=bool(domain.missing), bins=bins)
    return _fit_numeric(series, domain, rare_threshold, max_bins, max_points)


def _fit_discrete(
    series: pd.Series, domain: ColumnDomain, private: bool, rare_threshold: int, max_categories: int
) -> ColumnTokens:
    categories = [c for c in domain.categories or () if c is not None]
    if private:
        return ColumnTokens(domain.name, domain.kind, missing=bool(domain.missing), rare=True, values=tuple(categories))
    counts = series.dropna().astype(str).value_counts()
    kept = [c for c in counts.index[:max_categories] if counts[c] > rare_threshold]
    kept.sort()
    tokens = ColumnTokens(
        domain.name,
        domain.kind,
        missing=bool(series.isna().any()),
        rare=len(kept) < len(counts),
        values=tuple(kept),
    )
    return _with_counts(tokens, series)


def _fit_numeric(
    series: pd.Series, domain: ColumnDomain, rare_threshold: int, max_bins: int, max_points: int
) -> ColumnTokens:
    x = to_float(series, domain.kind)
    present = x[~np.isnan(x)]
    values, counts = np.unique(present, return_counts=True)
    frequent = np.flatnonzero(counts > rare_threshold)
    frequent = frequent[np.argsort(-counts[frequent], kind="stable")][:max_points]
    points = np.sort(values[frequent])
    rest = present[~np.isin(present, points)]
    bins: tuple[tuple[float, ...], ...] = ()
    if rest.size:
        rest = np.sort(rest)
        k = min(rare_threshold, (rest.size - 1) // 2)
        rest = np.clip(rest, rest[k], rest[rest.size - 1 - k])  # no lone record's extreme is kept
        n_bins = int(max(1, min(max_bins, rest.size // max(rare_threshold + 1, 1))))
        levels = np.linspace(0.0, 1.0, n_bins * (_QUANTILES - 1) + 1)
        table = np.quantile(rest, levels)
        step = _QUANTILES - 1
        bins = tuple(tuple(float(v) for v in table[b * step : (b + 1) * step + 1]) for b in range(n_bins))
    tokens = ColumnTokens(
        domain.name,
        domain.kind,
        missing=bool(np.isnan(x).any()),
        values=tuple(float(p) for p in points),
        bins=bins,
    )
    return _with_counts(tokens, series)


def _with_counts(tokens: ColumnTokens, series: pd.Series) -> ColumnTokens:
    counts = np.bincount(encode(series, tokens), minlength=tokens.size).astype(float)
    return ColumnTokens(**{**asdict(tokens), "counts": tuple(counts)})


def encode(series: pd.Series, tokens: ColumnTokens) -> np.ndarray:
    """Token per row (int64)."""
    n = len(series)
    out = np.empty(n, dtype=np.int64)
    if tokens.discrete:
        lookup = {v: tokens.offset + i for i, v in enumerate(tokens.values)}
        fallback = tokens.rare_token if tokens.rare_token is not None else tokens.offset
        values = series.astype(object).where(series.notna(), None)
        out[:] = np.fromiter(
            (0 if v is None else lookup.get(str(v), fallback) for v in values), dtype=np.int64, count=n
        )
        return out
    x = to_float(series, tokens.kind)
    missing = np.isnan(x)
    filled = np.nan_to_num(x)
    exact = np.asarray(tokens.values, dtype=float)
    if tokens.bins:
        uppers = np.array([b[-1] for b in tokens.bins[:-1]], dtype=float)
        out[:] = tokens.offset + exact.size + np.searchsorted(uppers, filled, side="right")
    elif exact.size:  # every value was frequent: a value between exact goes to the nearest one
        out[:] = tokens.offset + _nearest(exact, filled)
    else:
        out[:] = 0
    if exact.size:
        pos = np.clip(np.searchsorted(exact, filled), 0, exact.size - 1)
        hit = (exact[pos] == filled) & ~missing
        out[hit] = tokens.offset + pos[hit]
    if tokens.missing:
        out[missing] = 0
    return out


def decode(token: np.ndarray, tokens: ColumnTokens, domain: ColumnDomain, rng: np.random.Generator) -> pd.Series:
    """Values for ``token`` (canonical dtypes: str/None, float64, datetime64[ns]); bins get a within-bin value."""
    n = len(token)
    index = token - tokens.offset
    if tokens.discrete:
        table = np.array([*tokens.values, None], dtype=object)
        index = np.where(index >= 0, index, len(tokens.values))
        out = pd.Series(table[np.minimum(index, len(tokens.values))], dtype=object)
        return out
    points = np.asarray(tokens.values, dtype=float)
    x = np.full(n, np.nan)
    is_point = (index >= 0) & (index < points.size)
    x[is_point] = points[index[is_point]]
    u = rng.random(n)
    for b, quantiles in enumerate(tokens.bins):
        rows = index == points.size + b
        if rows.any():
            grid = np.linspace(0.0, 1.0, len(quantiles))
            x[rows] = np.interp(u[rows], grid, np.asarray(quantiles))
    return from_float(x, domain)


def _nearest(points: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Index of the nearest of the sorted ``points`` for every ``x``."""
    right = np.clip(np.searchsorted(points, x), 0, points.size - 1)
    left = np.maximum(right - 1, 0)
    return np.where(np.abs(x - points[left]) <= np.abs(points[right] - x), left, right)
