"""Blocked, vectorised nearest-neighbour search over a mixed-type encoding (shared by privacy metrics).

Encoding — "scaled numerics + one-hot, Euclidean" (``ENCODING`` below is the name results carry):

* numeric and datetime columns: ``(x − median) / range`` with median and range (max − min) taken
  from the real data, so two real values differ by at most 1; a missing value sits at the median
  and sets a missingness indicator, so "missing vs present" adds 1 (plus the present value's
  squared offset from the median) and "missing vs missing" adds 0 (anonymeter counts two missing
  values as distance 1);
* categorical and boolean columns: one-hot over the real data's ``MAX_CATEGORIES − 1`` most
  frequent values plus one "other" slot (missing is a category of its own), scaled by 1/√2 so a
  mismatch adds exactly 1 to the squared distance;
* identifier and free-text columns are left out (they are checked by ``privacy.pii``).

The distance is the Euclidean norm of the difference: every column contributes at most about 1
to its square, like a Gower distance (range-scaled L1 on numerics, 0/1 mismatch on categories),
but numerics enter squared. The nearest row maximises q·c − ‖c‖²/2, found with float32 matrix
products over blocks of query and candidate rows (``BLOCK_ELEMENTS`` scores at a time, so memory stays flat
whatever the table size); the chosen neighbours' distances are then recomputed exactly in float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..schema import ColumnKind
from ..summaries import as_float as _as_float

__all__ = ["ENCODING", "MixedEncoder", "knn", "count_within", "sample_indices", "BLOCK_ELEMENTS"]

ENCODING = "scaled numerics + one-hot (Euclidean; numerics / real range, categories one-hot / sqrt 2)"
MAX_CATEGORIES = 64
BLOCK_ELEMENTS = 1 << 23  # 8M float32 scores (32 MB) per block
_NUMERIC = (ColumnKind.NUMERIC, ColumnKind.DATETIME)


@dataclass(frozen=True)
class _Block:
    column: str
    kind: ColumnKind
    start: int
    width: int
    centre: float = 0.0
    scale: float = 1.0
    categories: pd.Index | None = None


class MixedEncoder:
    """Fit on the real table; ``transform`` any table with the same columns to float32 rows."""

    def __init__(self, real: pd.DataFrame, schema: dict, columns: list[str]):
        blocks, start = [], 0
        for column in columns:
            kind = schema[column]
            if kind in _NUMERIC:
                values = _as_float(real[column])
                present = values[~np.isnan(values)]
                centre = float(np.median(present)) if present.size else 0.0
                spread = float(present.max() - present.min()) if present.size else 0.0
                blocks.append(_Block(column, kind, start, 2, centre, spread if spread > 0 else 1.0))
                start += 2
            elif kind in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN):
                filled = real[column].astype(object).where(real[column].notna(), "\x00missing")
                top = pd.Index(filled.value_counts(sort=True).index[: MAX_CATEGORIES - 1])
                blocks.append(_Block(column, kind, start, len(top) + 1, categories=top))
                start += len(top) + 1
        self.blocks: list[_Block] = blocks
        self.width = start
        self.columns = [b.column for b in blocks]

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        out = np.zeros((len(frame), self.width), dtype=np.float32)
        for block in self.blocks:
            series = frame[block.column]
            if block.kind in _NUMERIC:
                values = (_as_float(series) - block.centre) / block.scale
                missing = np.isnan(values)
                out[:, block.start] = np.where(missing, 0.0, values)
                out[:, block.start + 1] = missing
            else:
                filled = series.astype(object).where(series.notna(), "\x00missing")
                assert block.categories is not None
                codes = block.categories.get_indexer(filled)
                codes[codes < 0] = block.width - 1  # "other"
                out[np.arange(len(frame)), block.start + codes] = np.float32(np.sqrt(0.5))
        return out

    def dims(self, columns: list[str] | None = None) -> np.ndarray:
        """Indices of the encoded dimensions that belong to ``columns`` (default: all)."""
        wanted = set(self.columns if columns is None else columns)
        return np.concatenate(
            [np.arange(b.start, b.start + b.width) for b in self.blocks if b.column in wanted]
            or [np.zeros(0, dtype=int)]
        ).astype(int)


def sample_indices(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of a simple random sample of ``min(size, n)`` rows (all rows when n ≤ size)."""
    if size >= n:
        return np.arange(n)
    return np.sort(rng.choice(n, size=size, replace=False))


def _largest(score: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k largest entries per row (lowest index first among equals): repeated argmax passes,
    which numpy vectorises far better than a sort or torch's max(dim) on CPU."""
    rows = np.arange(score.shape[0])
    values, indices = [], []
    for step in range(k):
        i = score.argmax(axis=1)
        values.append(score[rows, i])
        indices.append(i)
        if step + 1 < k:
            score[rows, i] = -np.inf
    return np.stack(values, axis=1), np.stack(indices, axis=1)


def knn(queries: np.ndarray, candidates: np.ndarray, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest candidates of every query row: (distances (n, k) float64, indices (n, k)).

    Brute force in blocks of ``BLOCK_ELEMENTS`` scores. The nearest candidate maximises
    q·c − ‖c‖²/2, which is one matrix product once each candidate row carries −‖c‖²/2 as an extra
    coordinate (and each query a 1). Neighbours are sorted by distance, ties broken by the lower
    candidate index; distances are recomputed exactly in float64.
    """
    import torch  # imported here: loading qaharness.metrics should not pay for torch

    if candidates.shape[0] == 0:
        raise ValueError("nearest-neighbour search needs at least one candidate row")
    k = min(k, candidates.shape[0])
    n_q, n_c = queries.shape[0], candidates.shape[0]
    centre = candidates.mean(axis=0, dtype=np.float64)
    c64 = candidates - centre
    q = torch.from_numpy(np.hstack([queries - centre, np.ones((n_q, 1))]).astype(np.float32))
    c = torch.from_numpy(np.hstack([c64, -0.5 * np.einsum("nd,nd->n", c64, c64)[:, None]]).astype(np.float32))
    best_s = np.full((n_q, k), -np.inf, dtype=np.float32)
    best_i = np.zeros((n_q, k), dtype=np.int64)
    c_step = min(n_c, max(4096, BLOCK_ELEMENTS // 256))
    q_step = max(1, BLOCK_ELEMENTS // c_step)
    for c0 in range(0, n_c, c_step):
        c_blk = c[c0 : c0 + c_step].T
        kk = min(k, c_step, n_c - c0)
        for q0 in range(0, n_q, q_step):
            s_blk, i_blk = _largest(torch.mm(q[q0 : q0 + q_step], c_blk).numpy(), kk)
            if c0 == 0 and kk == k:
                best_s[q0 : q0 + q_step], best_i[q0 : q0 + q_step] = s_blk, i_blk
                continue
            both_s = np.concatenate([best_s[q0 : q0 + q_step], s_blk], axis=1)
            both_i = np.concatenate([best_i[q0 : q0 + q_step], i_blk + c0], axis=1)
            order = np.argsort(-both_s, axis=1, kind="stable")[:, :k]
            best_s[q0 : q0 + q_step] = np.take_along_axis(both_s, order, 1)
            best_i[q0 : q0 + q_step] = np.take_along_axis(both_i, order, 1)
    return _exact(queries, candidates, best_i)


def _exact(queries: np.ndarray, candidates: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float64 distances to the chosen neighbours, re-sorted by (distance, index)."""
    exact = np.empty(idx.shape)
    for r0 in range(0, queries.shape[0], 65536):
        diff = queries[r0 : r0 + 65536, None, :].astype(np.float64) - candidates[idx[r0 : r0 + 65536]].astype(
            np.float64
        )
        exact[r0 : r0 + 65536] = np.sqrt(np.einsum("nkd,nkd->nk", diff, diff))
    if idx.shape[1] == 1:
        return exact, idx
    order = np.lexsort((idx, exact), axis=1)
    return np.take_along_axis(exact, order, 1), np.take_along_axis(idx, order, 1)


def count_within(
    queries: np.ndarray, candidates: np.ndarray, radius: np.ndarray, tolerance: float = 1e-9
) -> np.ndarray:
    """How many candidate rows lie within ``radius[i]`` (+ ``tolerance``) of query row i, in float64.

    Used to resolve ties (how many training and holdout rows share a query's nearest distance).
    Blocked like ``knn``: ‖q − c‖² = ‖q‖² + ‖c‖² − 2 q·c over centred coordinates, one block of
    candidates at a time, so memory stays flat.
    """
    import torch

    counts = np.zeros(queries.shape[0], dtype=np.int64)
    if queries.shape[0] == 0 or candidates.shape[0] == 0:
        return counts
    centre = candidates.mean(axis=0, dtype=np.float64)
    q = torch.from_numpy(queries.astype(np.float64) - centre)
    q_norm = (q * q).sum(dim=1, keepdim=True)
    limit = torch.from_numpy(((np.asarray(radius, dtype=np.float64) + tolerance) ** 2 + tolerance)[:, None])
    step = max(1, BLOCK_ELEMENTS // max(1, queries.shape[0]))
    for c0 in range(0, candidates.shape[0], step):
        c = torch.from_numpy(candidates[c0 : c0 + step].astype(np.float64) - centre)
        squared = q_norm + (c * c).sum(dim=1)[None, :] - 2.0 * (q @ c.T)
        counts += (squared <= limit).sum(dim=1).numpy()
    return counts
