"""Table ⇄ matrix encoding for the neural generators (CTGAN, TVAE).

Numeric and datetime columns use a *mode-specific* encoding like CTGAN's, without its
cost: instead of a Bayesian GMM fitted on every row of every column, the modes are
point masses (values holding ≥ 5 % of a subsample of ≤ 10,000 rows) plus quantile bins
of the rest, computed once on the subsample. Under DP, where reading quantiles would
spend budget, the bins are equal-width over the domain bounds and there are no point
masses. A value is encoded as ``[alpha, one-hot(mode)]`` with ``alpha ∈ [-1, 1]`` its
position inside the bin (tanh output); missing values get their own mode.
Categorical and boolean columns are one-hot over the domain's categories (softmax).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._domain import ColumnDomain, from_float, to_float

__all__ = ["Span", "TableEncoder"]

_POINT_SHARE = 0.05
_SUBSAMPLE = 10_000


@dataclass(frozen=True)
class Span:
    """A slice of the encoded matrix: ``tanh`` (one scalar) or ``softmax`` (a one-hot block)."""

    start: int
    width: int
    activation: str
    column: str


class TableEncoder:
    """Fitted once from column domains (and, outside DP, a subsample); encodes and decodes frames."""

    def __init__(self, domains: dict[str, ColumnDomain], modes: dict[str, dict[str, list[float]]]):
        self.domains = domains
        self.modes = modes
        self.spans: list[Span] = []
        self.discrete_columns = [c for c, d in domains.items() if d.discrete]
        start = 0
        for column, domain in domains.items():
            if domain.discrete:
                self.spans.append(Span(start, len(domain.categories), "softmax", column))
                start += len(domain.categories)
            elif domain.kind in ("numeric", "datetime"):
                self.spans.append(Span(start, 1, "tanh", column))
                self.spans.append(Span(start + 1, self._n_modes(column), "softmax", column))
                start += 1 + self._n_modes(column)
        self.width = start

    # -- fitting ---------------------------------------------------------------------
    @classmethod
    def fit(
        cls,
        frame: pd.DataFrame,
        domains: dict[str, ColumnDomain],
        *,
        private: bool,
        rng: np.random.Generator,
        max_modes: int = 10,
    ) -> TableEncoder:
        modes = {}
        for column, domain in domains.items():
            if domain.kind not in ("numeric", "datetime"):
                continue
            if private or domain.source == "declared_schema":
                edges = np.linspace(*domain.bounds, max_modes + 1)
                modes[column] = {"points": [], "edges": np.unique(edges).tolist()}
            else:
                modes[column] = _quantile_modes(to_float(frame[column], domain.kind), domain, rng, max_modes)
        return cls(domains, modes)

    def _n_modes(self, column: str) -> int:
        m = self.modes[column]
        return len(m["points"]) + max(len(m["edges"]) - 1, 1) + int(self.domains[column].missing)

    # -- encoding --------------------------------------------------------------------
    def encode(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(matrix float32 n×width, category index per discrete column n×k, rows kept).

        Rows with a category outside the domain (possible with declared or DP domains) are dropped.
        """
        n = len(frame)
        out = np.zeros((n, self.width), dtype=np.float32)
        keep = np.ones(n, dtype=bool)
        cat_index = np.zeros((n, len(self.discrete_columns)), dtype=np.int64)
        for span in self.spans:
            domain = self.domains[span.column]
            if domain.discrete:
                index = _category_index(frame[span.column], domain.categories)
                keep &= index >= 0
                index = np.maximum(index, 0)
                out[np.arange(n), span.start + index] = 1.0
                cat_index[:, self.discrete_columns.index(span.column)] = index
            elif span.activation == "tanh":
                alpha, mode = self._encode_continuous(frame[span.column], span.column)
                out[:, span.start] = alpha
                out[np.arange(n), span.start + 1 + mode] = 1.0
        return out[keep], cat_index[keep], keep

    def _encode_continuous(self, series: pd.Series, column: str) -> tuple[np.ndarray, np.ndarray]:
        domain, m = self.domains[column], self.modes[column]
        x = to_float(series, domain.kind)
        missing = np.isnan(x)
        low, high = domain.bounds
        x = np.clip(np.nan_to_num(x, nan=low), low, high)
        points, edges = np.asarray(m["points"], float), np.asarray(m["edges"], float)
        n_bins = max(len(edges) - 1, 1)
        if len(edges) < 2:
            edges = np.array([edges[0], edges[0]]) if len(edges) else np.array([domain.low, domain.high])
        b = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, n_bins - 1)
        width = edges[b + 1] - edges[b]
        alpha = np.where(width > 0, 2 * (x - edges[b]) / np.where(width > 0, width, 1) - 1, 0.0)
        mode = len(points) + b
        if len(points):
            hit = x[:, None] == points[None, :]
            is_point = hit.any(axis=1)
            mode = np.where(is_point, hit.argmax(axis=1), mode)
            alpha = np.where(is_point, 0.0, alpha)
        mode = np.where(missing, len(points) + n_bins, mode)
        return np.clip(np.where(missing, 0.0, alpha), -1, 1), mode

    # -- decoding --------------------------------------------------------------------
    def decode(self, matrix: np.ndarray) -> pd.DataFrame:
        """Canonical frame (numeric float64, datetime64[ns], categories as str/None) from activated output."""
        columns: dict[str, pd.Series] = {}
        alpha = None
        for span in self.spans:
            block = matrix[:, span.start : span.start + span.width]
            domain = self.domains[span.column]
            if span.activation == "tanh":
                alpha = np.clip(block[:, 0].astype(float), -1, 1)
            elif domain.discrete:
                index = block.argmax(axis=1)
                cats = np.array(list(domain.categories), dtype=object)
                columns[span.column] = pd.Series(cats[index], dtype=object)
            else:
                assert alpha is not None, "a numeric column's mode span follows its tanh span"
                columns[span.column] = self._decode_continuous(alpha, block.argmax(axis=1), span.column)
        n = len(matrix)
        return pd.DataFrame({c: columns.get(c, pd.Series([None] * n, dtype=object)) for c in self.domains})

    def _decode_continuous(self, alpha: np.ndarray, mode: np.ndarray, column: str) -> pd.Series:
        domain, m = self.domains[column], self.modes[column]
        points, edges = np.asarray(m["points"], float), np.asarray(m["edges"], float)
        if len(edges) < 2:
            edges = np.array([edges[0], edges[0]]) if len(edges) else np.array([domain.low, domain.high])
        n_bins = len(edges) - 1
        b = np.clip(mode - len(points), 0, n_bins - 1)
        x = edges[b] + (alpha + 1) / 2 * (edges[b + 1] - edges[b])
        if len(points):
            x = np.where(mode < len(points), points[np.minimum(mode, len(points) - 1)], x)
        x = np.where(mode >= len(points) + n_bins, np.nan, x)
        if m.get("empty"):
            x = np.full(len(x), np.nan)
        return from_float(x, domain)

    # -- persistence -----------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {"domains": {c: d.to_json() for c, d in self.domains.items()}, "modes": self.modes}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TableEncoder:
        return cls({c: ColumnDomain.from_json(d) for c, d in data["domains"].items()}, data["modes"])


def _category_index(series: pd.Series, categories: tuple[Any, ...]) -> np.ndarray:
    lookup = {c: i for i, c in enumerate(categories)}
    values = series.astype(object).where(series.notna(), None)
    return np.fromiter((lookup.get(v if v is None else str(v), -1) for v in values), dtype=np.int64, count=len(values))


def _quantile_modes(x: np.ndarray, domain: ColumnDomain, rng: np.random.Generator, max_modes: int) -> dict:
    present = x[~np.isnan(x)]
    if present.size > _SUBSAMPLE:
        present = rng.choice(present, _SUBSAMPLE, replace=False)
    if present.size == 0:  # all missing: decoded as missing whatever the model says
        return {"points": [], "edges": [domain.low, domain.high], "empty": True}
    values, counts = np.unique(present, return_counts=True)
    heavy = values[counts >= _POINT_SHARE * present.size]
    heavy = heavy[np.argsort(-counts[counts >= _POINT_SHARE * present.size])][: max_modes // 2]
    rest = present[~np.isin(present, heavy)]
    n_bins = max_modes - len(heavy)
    if rest.size:
        edges = np.unique(np.quantile(rest, np.linspace(0, 1, n_bins + 1)))
        edges[0], edges[-1] = min(edges[0], domain.low), max(edges[-1], domain.high)
    else:
        edges = np.array([domain.low, domain.high])
    if len(edges) < 2:
        edges = np.array([edges[0], edges[0]])
    return {"points": sorted(float(v) for v in heavy), "edges": [float(e) for e in edges]}
