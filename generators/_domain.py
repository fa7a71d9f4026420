"""Column domains: the data-dependent preprocessing every generator needs.

A domain is, per column, what values a generator may emit: the category list of a
categorical/boolean column, the bounds (and integrality, resolution) of a numeric or
datetime column, and whether missing values occur. It comes from one of three places,
recorded as ``source`` (and, for a whole fit, as the provenance ``preprocessing`` value):

- ``declared_schema``: declared in a schema file (``columns: {age: {min: 17, max: 90}}``);
  reading nothing from the data, it costs no privacy budget;
- ``data_dependent_budgeted``: estimated from the data under differential privacy, paid
  for from the ε budget (Laplace noise, basic composition):
  categories by a stability-based histogram (noisy counts, kept above a threshold),
  bounds by a thresholded noisy histogram over a fixed, data-independent signed
  power-of-two grid;
- ``data_dependent_not_private``: read from the data as is (no DP asked for).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from qaharness.errors import BadInputError
from qaharness.schema import ColumnKind, Schema

__all__ = [
    "ColumnDomain",
    "DECLARED",
    "BUDGETED",
    "NOT_PRIVATE",
    "fit_domains",
    "to_float",
    "from_float",
    "preprocessing_source",
]

DECLARED, BUDGETED, NOT_PRIVATE = "declared_schema", "data_dependent_budgeted", "data_dependent_not_private"
_DAY = 86_400
_GRID_MIN, _GRID_MAX = -8, 62  # signed grid cells [2^k, 2^(k+1)) for k in this range
_DT_ANCHOR = pd.Timestamp("2000-01-01").value / 1e9


@dataclass(frozen=True)
class ColumnDomain:
    """What one column may hold. ``counts`` are per-category frequencies (noisy under DP)."""

    name: str
    kind: str  # numeric | categorical | boolean | datetime | identifier
    source: str = NOT_PRIVATE
    categories: tuple[Any, ...] = ()  # discrete columns; an entry None stands for "missing" when it occurs
    counts: tuple[float, ...] | None = None
    low: float | None = None  # datetimes: seconds since the epoch
    high: float | None = None
    integral: bool = False
    resolution: int | None = None  # datetimes: 86400 (dates) or 1 (seconds)
    missing: bool = False

    @property
    def discrete(self) -> bool:
        return self.kind in ("categorical", "boolean")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ColumnDomain:
        data = dict(data)
        for key in ("categories", "counts"):
            if data.get(key) is not None:
                data[key] = tuple(data[key])
        data["categories"] = data.get("categories") or ()  # saved before 0.2 as null for non-discrete columns
        return cls(**data)

    @property
    def bounds(self) -> tuple[float, float]:
        """(low, high) of a numeric or datetime column."""
        if self.low is None or self.high is None:
            raise ValueError(f"column {self.name!r} has no bounds")
        return self.low, self.high


def to_float(series: pd.Series, kind: str) -> np.ndarray:
    """Numeric or datetime column as float64 (datetimes: seconds since the epoch), NaN = missing."""
    if kind == "datetime":
        values = series.to_numpy(dtype="datetime64[ns]")
        out = values.astype("int64").astype(float) / 1e9
        out[np.isnat(values)] = np.nan
        return out
    return series.to_numpy(dtype=float)


def from_float(values: np.ndarray, domain: ColumnDomain) -> pd.Series:
    """Inverse of ``to_float`` after clipping to the domain, rounding integral/resolution."""
    out = np.clip(values, domain.low, domain.high) if domain.low is not None else values.copy()
    if domain.kind == "datetime":
        step = domain.resolution or 1
        out = np.round(out / step) * step
        ns = np.where(np.isnan(out), 0, out * 1e9).astype("int64")
        series = pd.Series(ns.astype("datetime64[ns]"))
        series[np.isnan(out)] = pd.NaT
        return series
    if domain.integral:
        out = np.round(out)
    return pd.Series(out, dtype="float64")


def preprocessing_source(domains: dict[str, ColumnDomain]) -> str:
    """One provenance value for a fit: budgeted beats not-private beats declared."""
    sources = {d.source for d in domains.values() if d.kind != "identifier"}
    for value in (NOT_PRIVATE, BUDGETED):
        if value in sources:
            return value
    return DECLARED


def fit_domains(
    frame: pd.DataFrame,
    schema: Schema,
    declared: dict[str, dict[str, Any]] | None = None,
    *,
    epsilon: float | None = None,
    delta: float | None = None,
    rng: np.random.Generator | None = None,
) -> tuple[dict[str, ColumnDomain], float, float]:
    """Domains for every column of a coerced ``frame``; returns (domains, ε spent, δ spent).

    With ``epsilon`` the undeclared columns are estimated under DP, the budget split evenly
    between them; without it they are read from the data.
    """
    declared = declared or {}
    private = epsilon is not None
    undeclared = [
        c for c, k in schema.items() if k is not ColumnKind.IDENTIFIER and not _complete(declared.get(c), k, private)
    ]
    if epsilon is not None and (delta is None or rng is None):
        raise ValueError("DP domain estimation needs delta and an rng")
    eps_c = (epsilon or 0.0) / max(len(undeclared), 1)
    delta_c = (delta or 0.0) / max(len(undeclared), 1)
    domains: dict[str, ColumnDomain] = {}
    for column, kind in schema.items():
        spec = declared.get(column, {})
        if kind is ColumnKind.IDENTIFIER:
            domains[column] = ColumnDomain(column, "identifier", DECLARED)
        elif column not in undeclared:
            domains[column] = _declared(column, kind.value, spec)
        elif rng is not None and private:
            domains[column] = _private(frame[column], column, kind.value, spec, eps_c, delta_c, rng)
        else:
            domains[column] = _from_data(frame[column], column, kind.value)
    if private and undeclared:
        return domains, float(epsilon or 0.0), float(delta or 0.0)
    return domains, 0.0, 0.0


def _complete(spec: dict[str, Any] | None, kind: ColumnKind, private: bool) -> bool:
    if kind is ColumnKind.BOOLEAN:
        # under DP the category list is public and the frequencies are the model's to learn: nothing is
        # read; outside DP the frequencies are read, so a baseline reproduces a 92.7 %-"yes" column
        return private
    if not spec:
        return False
    if kind is ColumnKind.CATEGORICAL:
        return "categories" in spec
    return "min" in spec and "max" in spec


def _declared(column: str, kind: str, spec: dict[str, Any]) -> ColumnDomain:
    missing = bool(spec.get("missing", False))
    if kind in ("categorical", "boolean"):
        cats = ["False", "True"] if kind == "boolean" else [str(c) for c in spec["categories"]]
        if not cats:
            raise BadInputError(f"column {column!r} declares no categories", source="schema", column=column)
        return ColumnDomain(column, kind, DECLARED, tuple(cats + [None] * missing), None, missing=missing)
    low, high = spec["min"], spec["max"]
    if kind == "datetime":
        low, high = (pd.Timestamp(v).value / 1e9 for v in (low, high))
    low, high = float(low), float(high)
    if not low <= high:
        raise BadInputError(f"column {column!r}: min must be <= max", source="schema", column=column)
    resolution = int(spec.get("resolution", _DAY if kind == "datetime" and low % _DAY == 0 else 1))
    return ColumnDomain(
        column,
        kind,
        DECLARED,
        low=low,
        high=high,
        integral=bool(spec.get("integral", False)),
        resolution=resolution if kind == "datetime" else None,
        missing=missing,
    )


def _from_data(series: pd.Series, column: str, kind: str) -> ColumnDomain:
    missing = bool(series.isna().any())
    if kind in ("categorical", "boolean"):
        counts = series.dropna().astype(str).value_counts()
        cats: list[Any] = sorted(counts.index)
        frequencies = [float(counts[c]) for c in cats]
        if missing:
            cats, frequencies = [*cats, None], [*frequencies, float(series.isna().sum())]
        return ColumnDomain(column, kind, NOT_PRIVATE, tuple(cats), tuple(frequencies), missing=missing)
    values = to_float(series, kind)
    present = values[~np.isnan(values)]
    if present.size == 0:
        return ColumnDomain(column, kind, NOT_PRIVATE, low=0.0, high=0.0, missing=True)
    integral = bool(np.all(np.mod(present, 1) == 0))
    resolution = None
    if kind == "datetime":
        resolution = _DAY if np.all(np.mod(present, _DAY) == 0) else 1
    return ColumnDomain(
        column,
        kind,
        NOT_PRIVATE,
        low=float(present.min()),
        high=float(present.max()),
        integral=integral and kind == "numeric",
        resolution=resolution,
        missing=missing,
    )


def _private(
    series: pd.Series, column: str, kind: str, spec: dict[str, Any], eps: float, delta: float, rng: np.random.Generator
) -> ColumnDomain:
    """ε-DP (discrete: (ε, δ)-DP) domain of one column. Noise Laplace(2/ε), threshold for stability."""
    threshold = 1.0 + 2.0 * math.log(2.0 / delta) / eps
    if kind in ("categorical", "boolean"):
        keys = series.astype(object).where(series.notna(), "\x00missing").astype(str)
        counts = keys.value_counts()
        labels = sorted(counts.index)
        noisy = np.array([counts[k] for k in labels], float) + rng.laplace(0, 2.0 / eps, len(labels))
        keep = [(k, n) for k, n in zip(labels, noisy) if n > threshold]
        if kind == "boolean":  # the category list is public; only the frequencies are noisy
            keep = [(k, max(n, 1.0)) for k, n in zip(labels, noisy)]
            keep += [(k, 1.0) for k in ("False", "True") if k not in labels]
        if not keep:
            raise BadInputError(
                f"column {column!r}: no category survived the DP threshold ({threshold:.0f} rows); "
                "declare its categories in the schema or raise epsilon",
                source="schema",
                column=column,
            )
        keep.sort(key=lambda kv: kv[0])
        cats = tuple(None if k == "\x00missing" else k for k, _ in keep)
        return ColumnDomain(column, kind, BUDGETED, cats, tuple(float(n) for _, n in keep), missing=None in cats)
    return _private_bounds(series, column, kind, spec, eps, threshold, rng)


def _private_bounds(
    series: pd.Series,
    column: str,
    kind: str,
    spec: dict[str, Any],
    eps: float,
    threshold: float,
    rng: np.random.Generator,
) -> ColumnDomain:
    values = to_float(series, kind)
    shift = _DT_ANCHOR if kind == "datetime" else 0.0
    present = values[~np.isnan(values)] - shift
    n_cells = 2 * (_GRID_MAX - _GRID_MIN + 1) + 1  # negative cells, the zero cell, positive cells
    cells = _grid_cell(present)
    counts = np.bincount(cells, minlength=n_cells).astype(float) + rng.laplace(0, 2.0 / eps, n_cells)
    n_missing = float(np.isnan(values).sum()) + rng.laplace(0, 2.0 / eps)
    alive = np.flatnonzero(counts > threshold)
    if alive.size == 0:
        raise BadInputError(
            f"column {column!r}: no value range survived the DP threshold ({threshold:.0f} rows); "
            "declare min/max in the schema or raise epsilon",
            source="schema",
            column=column,
        )
    low, high = _cell_edges(alive[0])[0] + shift, _cell_edges(alive[-1])[1] + shift
    return ColumnDomain(
        column,
        kind,
        BUDGETED,
        low=float(spec.get("min", low)),
        high=float(spec.get("max", high)),
        integral=bool(spec.get("integral", False)),
        resolution=int(spec.get("resolution", 1)) if kind == "datetime" else None,
        missing=bool(n_missing > threshold or spec.get("missing", False)),
    )


def _grid_cell(x: np.ndarray) -> np.ndarray:
    """Cell index on the signed grid: 0..K-1 negative (most negative first), K zero, K+1.. positive."""
    k_count = _GRID_MAX - _GRID_MIN + 1
    with np.errstate(divide="ignore"):
        exp = np.clip(np.floor(np.log2(np.abs(x))), _GRID_MIN, _GRID_MAX).astype(int) - _GRID_MIN
    small = np.abs(x) < 2.0**_GRID_MIN
    out = np.where(x > 0, k_count + 1 + exp, k_count - 1 - exp)
    return np.where(small, k_count, out)


def _cell_edges(cell: int) -> tuple[float, float]:
    k_count = _GRID_MAX - _GRID_MIN + 1
    if cell == k_count:
        return -(2.0**_GRID_MIN), 2.0**_GRID_MIN
    if cell > k_count:
        k = cell - k_count - 1 + _GRID_MIN
        return 2.0**k, 2.0 ** (k + 1)
    k = k_count - 1 - cell + _GRID_MIN
    return -(2.0 ** (k + 1)), -(2.0**k)
