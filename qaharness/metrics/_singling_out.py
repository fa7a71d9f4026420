"""Singling-out attack (anonymeter's multivariate mode), with fast exact query counting.

A query is a conjunction of ``n_cols`` conditions built from one synthetic record: a category
(or a missing value) must match exactly; a number must be ≥ the record's value when that is above
the column's synthetic median, else ≤ it. A query *singles out* a table when exactly one row
matches. The attacker keeps distinct queries that single out the synthetic table and wins each one
that singles out the training table. The baseline draws random conditions (random value, random
operator) as anonymeter does.

Counting is exact but avoids scanning the whole table per query: every condition selects a
contiguous slice of its column's sort order, so only the rows of the narrowest slice are checked,
in growing windows, and a query stops being checked once two matches are found when only
"exactly one?" matters.
"""

from __future__ import annotations

import functools
import os

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln
from scipy.stats import hypergeom

from ..schema import ColumnKind

__all__ = [
    "QueryTable",
    "shared_categories",
    "generate_queries",
    "random_queries",
    "count_matches",
    "singled_out_at_size",
]

EQ, NE, GT, LT, GE, LE, ISNULL, NOTNULL = range(8)
_MAX_FLAT = 1 << 22
_IDLE_BATCHES = 3  # stop generating after this many batches that found no new query (saturated)


class QueryTable:
    """One table as a (columns × rows) float matrix: numbers as is, categories as shared codes."""

    def __init__(self, frame: pd.DataFrame, columns: list[str], kinds: dict, categories: dict[str, pd.Index]):
        values = []
        for column in columns:
            series = frame[column]
            if column in categories:
                codes = categories[column].get_indexer(series.astype(object)).astype(float)
                codes[series.isna().to_numpy()] = np.nan
                values.append(codes)
            elif pd.api.types.is_datetime64_any_dtype(series.dtype):
                out = series.astype("int64").to_numpy(dtype=float)
                out[series.isna().to_numpy()] = np.nan
                values.append(out)
            else:
                values.append(series.to_numpy(dtype=float))
        self.x = np.vstack(values) if values else np.zeros((0, len(frame)))
        self.order = np.argsort(self.x, axis=1, kind="stable")  # NaN sorts last
        self.sorted = np.take_along_axis(self.x, self.order, axis=1)
        self.n_valid = (~np.isnan(self.x)).sum(axis=1)
        self.n_rows = len(frame)
        self.rows = np.ascontiguousarray(self.x.T)  # row-major copy: one gather per checked row
        self.is_categorical = np.array([c in categories for c in columns], dtype=bool)


def shared_categories(frames: list[pd.DataFrame], columns: list[str], kinds: dict) -> dict[str, pd.Index]:
    numeric = (ColumnKind.NUMERIC, ColumnKind.DATETIME)
    return {
        c: pd.Index(pd.unique(pd.concat([f[c].dropna().astype(object) for f in frames], ignore_index=True)))
        for c in columns
        if kinds[c] not in numeric
    }


def _intervals(ops: np.ndarray, vals: np.ndarray) -> tuple[np.ndarray, ...]:
    """Each condition as: present value in [low, high] (negated for ≠), or missing when ``null_ok``."""
    inf = np.inf
    low = np.select([ops == GE, ops == GT, ops == EQ, ops == NE], [vals, np.nextafter(vals, inf), vals, vals], -inf)
    high = np.select([ops == LE, ops == LT, ops == EQ, ops == NE], [vals, np.nextafter(vals, -inf), vals, vals], inf)
    low[ops == ISNULL], high[ops == ISNULL] = inf, -inf
    return low, high, ops == ISNULL, ops == NE


def _slices(
    table: QueryTable, cols: np.ndarray, low: np.ndarray, high: np.ndarray, null_ok: np.ndarray, negate: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each condition's matching rows as a slice [lo, hi) of its column's sort order (a superset for ≠)."""
    lo = np.zeros(cols.shape, dtype=np.int64)
    hi = table.n_valid[cols].astype(np.int64)
    for column in np.unique(cols):
        at = (cols == column) & ~negate & ~null_ok
        ranked = table.sorted[column, : table.n_valid[column]]
        lo[at] = np.searchsorted(ranked, low[at], "left")
        hi[at] = np.maximum(np.searchsorted(ranked, high[at], "right"), lo[at])
    lo[null_ok] = table.n_valid[cols[null_ok]]
    hi[null_ok] = table.n_rows
    return lo, hi


def count_matches(
    table: QueryTable, cols: np.ndarray, ops: np.ndarray, vals: np.ndarray, stop_at: int | None = None
) -> np.ndarray:
    """Rows of ``table`` matching each query (row q: conditions cols[q], ops[q], vals[q]).

    With ``stop_at``, counting of a query stops once it reaches that many matches.
    """
    n_q = cols.shape[0]
    counts = np.zeros(n_q, dtype=np.int64)
    if n_q == 0:
        return counts
    low, high, null_ok, negate = _intervals(ops, vals)
    lo, hi = _slices(table, cols, low, high, null_ok, negate)
    src = np.argmin(hi - lo, axis=1)
    at = np.arange(n_q)
    src_col, src_lo, src_len = cols[at, src], lo[at, src], hi[at, src] - lo[at, src]
    kernel = _numba_kernel()
    if kernel is not None:
        kernel(
            table.order, table.rows, cols, low, high, null_ok, negate, src_col, src_lo, src_len, stop_at or 0, counts
        )
        return counts
    scanned = np.zeros(n_q, dtype=np.int64)
    active = np.flatnonzero(src_len > 0)
    window = 32
    while active.size:
        take = np.minimum(window, src_len[active] - scanned[active])
        for part in np.array_split(np.arange(active.size), max(1, int(take.sum() // _MAX_FLAT) + 1)):
            counts += _count_window(
                table, cols, low, high, null_ok, negate, active[part], take[part], src_col, src_lo + scanned, n_q
            )
        scanned[active] += take
        done = scanned[active] >= src_len[active]
        if stop_at is not None:
            done |= counts[active] >= stop_at
        active = active[~done]
        window *= 4
    return counts


def _count_window(table, cols, low, high, null_ok, negate, queries, n_take, src_col, first, n_q):
    """Matches among the next ``n_take`` rows of each query's narrowest slice (1-D gathers only)."""
    qid = np.repeat(queries, n_take)
    starts = np.repeat(np.cumsum(n_take) - n_take, n_take)
    pos = np.take(first, qid) + (np.arange(qid.size) - starts)
    n_rows = table.n_rows
    rows = np.take(table.order.ravel(), np.take(src_col, qid) * n_rows + pos)
    base = rows * table.x.shape[0]
    flat_values = table.rows.ravel()
    ok = np.ones(qid.size, dtype=bool)
    for slot in range(cols.shape[1]):
        v = np.take(flat_values, base + np.take(cols[:, slot], qid))
        inside = (v >= np.take(low[:, slot], qid)) & (v <= np.take(high[:, slot], qid))
        if negate[:, slot].any():
            inside ^= np.take(negate[:, slot], qid) & ~np.isnan(v)
        if null_ok[:, slot].any():
            inside |= np.take(null_ok[:, slot], qid) & np.isnan(v)
        ok &= inside
    return np.bincount(qid[ok], minlength=n_q)


@functools.lru_cache(maxsize=1)
def _numba_kernel():
    """The same count as ``_count_window`` row by row, compiled with numba (anonymeter's dependency)
    on first use and cached on disk; None (numpy path) when numba is missing or QAHARNESS_NO_NUMBA is set."""
    if os.environ.get("QAHARNESS_NO_NUMBA"):
        return None
    try:
        import numba
    except ImportError:  # pragma: no cover - numba ships with anonymeter
        return None

    @numba.njit(cache=True, nogil=True)
    def kernel(order, rows, cols, low, high, null_ok, negate, src_col, src_lo, src_len, stop_at, out):
        for q in range(cols.shape[0]):
            count = 0
            for p in range(src_lo[q], src_lo[q] + src_len[q]):
                r = order[src_col[q], p]
                ok = True
                for s in range(cols.shape[1]):
                    v = rows[r, cols[q, s]]
                    if np.isnan(v):
                        inside = null_ok[q, s]
                    else:
                        inside = (v >= low[q, s]) and (v <= high[q, s])
                        if negate[q, s]:
                            inside = not inside
                    if not inside:
                        ok = False
                        break
                if ok:
                    count += 1
                    if stop_at > 0 and count >= stop_at:
                        break
            out[q] = count

    return kernel


def _keys(cols: np.ndarray, ops: np.ndarray, vals: np.ndarray) -> list[tuple]:
    order = np.argsort(cols, axis=1)
    c, o, v = (np.take_along_axis(a, order, 1) for a in (cols, ops, vals))
    v = np.where(np.isnan(v), -0.5, v)  # missing: a code no category or number collides with in practice
    return [tuple(zip(ci, oi, vi)) for ci, oi, vi in zip(c.tolist(), o.tolist(), v.tolist())]


def generate_queries(
    table: QueryTable, n_queries: int, n_cols: int, rng: np.random.Generator, max_attempts: int, batch: int = 8192
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Distinct queries that single out ``table`` (anonymeter's multivariate generator).

    Stops at ``n_queries``, at ``max_attempts`` or after ``_IDLE_BATCHES`` batches without a new query.
    """
    n_dims = table.x.shape[0]
    n_cols = min(n_cols, n_dims)
    medians = np.array([np.nanmedian(row) if np.isfinite(row).any() else 0.0 for row in table.x])
    seen: set[tuple] = set()
    kept: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    attempts, idle = 0, 0
    while len(kept) < n_queries and attempts < max_attempts and idle < _IDLE_BATCHES:
        size = min(batch, max_attempts - attempts)
        records = rng.integers(0, table.n_rows, size=size)
        cols = np.argsort(rng.random((size, n_dims)), axis=1)[:, :n_cols]
        vals = table.x[cols, records[:, None]]
        numeric_op = np.where(vals > medians[cols], GE, LE)
        ops = np.where(np.isnan(vals), ISNULL, np.where(table.is_categorical[cols], EQ, numeric_op))
        attempts += size
        unique = np.flatnonzero(count_matches(table, cols, ops, vals, stop_at=2) == 1)
        before = len(kept)
        for i, key in zip(unique, _keys(cols[unique], ops[unique], vals[unique])):
            if key not in seen and len(kept) < n_queries:
                seen.add(key)
                kept.append((cols[i], ops[i], vals[i]))
        idle = idle + 1 if len(kept) == before else 0
    if not kept:
        empty = np.zeros((0, n_cols))
        return empty.astype(int), empty.astype(int), empty, attempts
    cols, ops, vals = (np.vstack([k[j] for k in kept]) for j in range(3))
    return cols, ops, vals, attempts


def random_queries(
    table: QueryTable, n_queries: int, n_cols: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """anonymeter's baseline: random columns, a random value of each, a random operator."""
    n_dims = table.x.shape[0]
    n_cols = min(n_cols, n_dims)
    cols = np.argsort(rng.random((n_queries, n_dims)), axis=1)[:, :n_cols]
    uniques = [np.unique(row) for row in table.x]  # NaN (missing) kept once at the end
    vals = np.empty(cols.shape)
    ops = np.empty(cols.shape, dtype=np.int64)
    for (q, s), column in np.ndenumerate(cols):
        vals[q, s] = uniques[column][rng.integers(len(uniques[column]))]
        choices = (EQ, NE) if table.is_categorical[column] else (EQ, NE, GT, LT, GE, LE)
        op = choices[rng.integers(len(choices))]
        if np.isnan(vals[q, s]):
            op = ISNULL if op == EQ else NOTNULL
        ops[q, s] = op
    return cols, ops, vals


# -- the control at the training's size ------------------------------------------------------------


def singled_out_at_size(
    control_counts: np.ndarray, n_control: int, n_target: int, target_counts: np.ndarray | None = None
) -> tuple[float, str]:
    """Expected number of queries that would single out a table of ``n_target`` rows drawn like the
    control, from each query's match count among the ``n_control`` control rows; and how it was found.

    A query matching a share w of the population singles out n rows with probability
    n w (1 − w)^(n − 1), so when training and control differ in size their success rates differ
    even when nothing was memorised. Control no smaller than the target: exact — the expected
    count over random ``n_target``-row subsets of the control (hypergeometric). Control smaller:
    empirical Bayes — the queries' w are taken as Beta(a, b) draws, (a, b) fitted by maximum
    likelihood to the queries' match counts in training and control pooled (``target_counts`` +
    ``control_counts`` out of ``n_target + n_control`` rows: the pool probes w at the training's
    scale, which the control alone cannot), and each query contributes its posterior expectation
    of n w (1 − w)^(n − 1) given its control count alone. Copied rows add one match to the pool and
    pull the fitted w up a little, so under memorisation the control comes out high and the risk low
    (never the other way). On independent tables this came within ±0.03 of the success rate on a
    second independent table of the training's size at 4:1 and 8:1; anonymeter's curve fitted to
    control subsamples reported risks of 0.22-0.27 there, where an equal-size control gave 0.00-0.06
    (``benchmarks/bench_privacy.py --size-correction``).
    """
    k = np.asarray(control_counts, dtype=float)
    if n_target == n_control:
        return float((k == 1).sum()), "exact (equal sizes)"
    if n_target < n_control:
        return float(_hypergeometric_one(k, n_control, n_target).sum()), "exact (control subsampled in expectation)"
    pooled = k if target_counts is None else k + np.asarray(target_counts, dtype=float)
    a, b = _fit_beta_binomial(pooled, n_control + (0 if target_counts is None else n_target))
    lg = np.log(n_target) + betaln(a + k + 1, b + n_control - k + n_target - 1) - betaln(a + k, b + n_control - k)
    return float(
        np.exp(lg).sum()
    ), f"empirical Bayes (beta-binomial prior: mean {a / (a + b):.3g}, a + b = {a + b:.3g})"


def _hypergeometric_one(k: np.ndarray, population: int, draws: int) -> np.ndarray:
    """P(exactly one of k matching rows lands in a random ``draws``-row subset of ``population`` rows)."""
    return hypergeom.pmf(1, population, k.astype(np.int64), draws)


def _fit_beta_binomial(k: np.ndarray, n: int) -> tuple[float, float]:
    """Maximum-likelihood (a, b) of a beta-binomial over counts ``k`` of ``n`` trials each, fitted as
    mean μ = a / (a + b) and concentration κ = a + b (κ capped at 1e9: no overdispersion left is a
    point mass at μ, which a cap on κ keeps where it is)."""
    mean = float(np.clip((k.mean() + 0.5) / (n + 1), 1e-12, 0.5))

    def nll(theta: np.ndarray) -> float:
        mu = 1.0 / (1.0 + np.exp(-theta[0]))
        kappa = np.exp(np.clip(theta[1], np.log(1e-2), np.log(1e9)))
        a, b = mu * kappa, (1 - mu) * kappa
        return float(-(betaln(k + a, n - k + b) - betaln(a, b)).sum())

    start = np.array([np.log(mean / (1 - mean)), np.log(max(float(n), 1.0))])
    fit = minimize(nll, start, method="Nelder-Mead", options={"xatol": 1e-5, "fatol": 1e-7, "maxiter": 4000})
    mu = 1.0 / (1.0 + np.exp(-fit.x[0]))
    kappa = float(np.exp(np.clip(fit.x[1], np.log(1e-2), np.log(1e9))))
    return float(mu * kappa), float((1 - mu) * kappa)
