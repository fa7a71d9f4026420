"""Exact row matching between training, holdout and synthetic rows (privacy.exact_match,
privacy.holdout_overlap and the input checks in ``qaharness._overlap``).

Rows are compared on every column but identifiers (a generator that replays records usually
re-draws their keys; identifiers are judged by ``privacy.pii``), through 64-bit row hashes of the
validated frames (the boundary gives real, synthetic and holdout one set of dtypes, so equal rows
hash equal).

The chance level of a match, two ways:

- *pooled attribution* (synthetic rows, with a holdout): a synthetic row identical to ``a``
  training and ``b`` holdout rows is attributed to training by ``a / (a + b)``. When the generator
  never saw its training rows, training and holdout rows are exchangeable, so that share averages
  exactly ``t / (t + h)`` whatever the sizes, and a row common in the population (large ``a`` and
  ``b``) carries no weight — only rows that match training and not the holdout do;
- *leave-one-out duplicates* (holdout rows, or synthetic rows without a holdout): the share of
  training rows identical to another training row estimates how often a fresh row from the same
  population matches one of ``t − 1`` training rows — the chance rate at the training's size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..inputs import EvalInput
from ..schema import ColumnKind
from ..stats import Z95
from ._base import RunContext
from ._privacy_stats import clustered_share, normal_difference

__all__ = [
    "match_columns",
    "row_hashes",
    "table_hashes",
    "duplicate_share",
    "matched_share",
    "leave_one_out_excess",
    "pooled_attribution",
]


def match_columns(data: EvalInput) -> list[str]:
    """Every column but identifiers."""
    return [c for c in data.schema if data.schema[c] is not ColumnKind.IDENTIFIER]


def row_hashes(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """64-bit hash per row over ``columns`` (frames share dtypes, so equal rows hash equal)."""
    return pd.util.hash_pandas_object(frame[columns], index=False).to_numpy()


def table_hashes(data: EvalInput, ctx: RunContext, which: str) -> np.ndarray:
    """Row hashes of ``data.real`` / ``synthetic`` / ``holdout`` over ``match_columns`` (cached per run)."""
    frame = {"real": data.real, "synthetic": data.synthetic, "holdout": data.holdout}[which]
    assert frame is not None
    return ctx.cached(data, ("privacy.row-hashes", which), lambda: row_hashes(frame, match_columns(data)))


def duplicate_share(hashes: np.ndarray) -> tuple[float, float]:
    """(share of rows identical to another row of the same table, its cluster-robust variance)."""
    _, inverse, counts = np.unique(hashes, return_inverse=True, return_counts=True)
    return clustered_share(counts[inverse] >= 2, hashes)


def matched_share(queries: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """(share of query rows identical to some reference row, its variance with identical queries as one cluster)."""
    return clustered_share(np.isin(queries, reference), queries)


def leave_one_out_excess(queries: np.ndarray, train: np.ndarray) -> tuple[float, tuple[float, float], dict]:
    """Share of query rows identical to a training row minus the chance rate (training's own
    leave-one-out duplicate share), with a normal 95% interval from the two clustered variances."""
    observed, var_observed = matched_share(queries, train)
    chance, var_chance = duplicate_share(train)
    value, ci = normal_difference(observed, var_observed, chance, var_chance)
    return value, ci, {"matched_share": observed, "chance_share": chance}


def pooled_attribution(
    synthetic: np.ndarray, train: np.ndarray, holdout: np.ndarray
) -> tuple[float, tuple[float, float], dict]:
    """Excess share of synthetic rows attributable to training beyond chance (see the module doc).

    Per synthetic row with ``a`` identical training and ``b`` identical holdout rows (a + b ≥ 1),
    score a / (a + b); without memorisation it averages π = t / (t + h) with the hypergeometric
    variance π (1 − π) (N − K) / (K (N − 1)), N = t + h, K = a + b. ``value`` = S / (n (1 − π)) with
    S = Σ (score − π): 1 when every synthetic row matches training rows only; below chance the
    same linear scale clipped at −1. 95% interval from the null variance (normal), mapped the same
    way. Rows matching nothing contribute 0.
    """
    t, h, n = train.size, holdout.size, synthetic.size
    null = t / (t + h)
    values, multiplicity = np.unique(synthetic, return_counts=True)  # identical synthetic rows move together
    keys_t, counts_t = np.unique(train, return_counts=True)
    keys_h, counts_h = np.unique(holdout, return_counts=True)
    a = _lookup(values, keys_t, counts_t)
    b = _lookup(values, keys_h, counts_h)
    matched = (a + b) > 0
    m, k = multiplicity[matched].astype(float), (a + b)[matched].astype(float)
    score = a[matched] / k
    pool = t + h
    variance = null * (1 - null) * (pool - k) / (k * max(pool - 1, 1))
    excess = float((m * (score - null)).sum())
    half = Z95 * float(np.sqrt((m**2 * variance).sum()))
    low, high = (_scaled(x, n, null) for x in (excess - half, excess + half))
    info = {
        "matched_rows": int(m.sum()),
        "training_only_rows": int(multiplicity[matched & (b == 0)].sum()),
    }
    return _scaled(excess, n, null), (max(-1.0, low), min(1.0, high)), info


def _scaled(excess: float, n: int, null: float) -> float:
    """An excess count of rows on the excess scale: / n (1 − π), clipped at −1 (linear, so unbiased)."""
    return max(-1.0, excess / (n * (1 - null)))


def _lookup(queries: np.ndarray, keys: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """counts[key] for each query hash (0 where the key is absent); ``keys`` sorted unique."""
    pos = np.searchsorted(keys, queries)
    pos = np.minimum(pos, max(keys.size - 1, 0))
    found = keys.size > 0
    hit = (keys[pos] == queries) if found else np.zeros(queries.size, dtype=bool)
    return np.where(hit, counts[pos] if found else 0, 0).astype(np.int64)
