"""Nearest-neighbour work shared by the privacy metrics, computed once per run in the ``RunContext``.

- ``real_encoding``: the ``_nn.MixedEncoder`` fitted on the training rows, with every training and
  holdout row encoded (``privacy.dcr``, ``privacy.nndr``, ``privacy.dcr_tail``, ``privacy.mia``,
  ``privacy.linkability`` and ``privacy.attribute_inference`` all read it);
- ``synthetic_encoding``: a simple random sample of synthetic rows, encoded;
- ``pooled_neighbours``: for sampled synthetic rows, the two nearest training rows (*all* of them)
  and the two nearest holdout rows; which of the pooled real rows is nearest (ties resolved by
  counting the rows at the tied distance); and, for sampled holdout rows, the distance to the
  nearest training row (the yardstick of ``privacy.dcr_tail``).

Samples are drawn from a generator seeded by the run seed and a fixed name, not by the metric that
happens to ask first, so every metric of a run sees the same rows whatever the order.

Why pooled: under the null (the generator never saw its training rows), training and holdout rows
are exchangeable given the synthetic row, so the nearest of the ``t + h`` pooled real rows is a
training row with probability exactly ``t / (t + h)`` whatever the ratio of the sizes, and however
concentrated the synthetic rows are (a synthetic row in a dense region is near training and holdout
rows alike). Subsampling training to the holdout's size would lose most copied rows' originals.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
from pydantic import ConfigDict, Field

from ..inputs import EvalInput
from ._base import MetricDetails, RunContext
from ._nn import ENCODING, MixedEncoder, count_within, knn, sample_indices

__all__ = [
    "SYNTHETIC_QUERIES",
    "HOLDOUT_QUERIES",
    "MAX_HOLDOUT_REFERENCE",
    "MAX_SYNTHETIC",
    "TIE_TOLERANCE",
    "shared_rng",
    "RealEncoding",
    "real_encoding",
    "synthetic_encoding",
    "PooledNeighbours",
    "pooled_neighbours",
    "PooledDetails",
]

SYNTHETIC_QUERIES = 3_000  # synthetic rows whose nearest real rows are looked up
HOLDOUT_QUERIES = 2_000  # holdout rows whose distance to training is the unseen-row yardstick
MAX_HOLDOUT_REFERENCE = 100_000  # holdout rows in the pool (training: every row)
MAX_SYNTHETIC = 250_000  # synthetic rows the attacks search
TIE_TOLERANCE = 1e-9


def shared_rng(ctx: RunContext, name: str) -> np.random.Generator:
    """A generator for work shared by several metrics: a function of the run seed and ``name`` only."""
    return np.random.default_rng([int(ctx.seed), zlib.crc32(name.encode())])


@dataclass(frozen=True)
class RealEncoding:
    """The encoder fitted on training rows, every training row and every holdout row encoded."""

    encoder: MixedEncoder
    train: np.ndarray
    holdout: np.ndarray | None


def real_encoding(data: EvalInput, ctx: RunContext) -> RealEncoding:
    def build() -> RealEncoding:
        encoder = MixedEncoder(data.real, data.schema, data.columns())
        holdout = None if data.holdout is None else encoder.transform(data.holdout)
        return RealEncoding(encoder, encoder.transform(data.real), holdout)

    return ctx.cached(data, "privacy.real-encoding", build)


def synthetic_encoding(data: EvalInput, ctx: RunContext, max_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """(row indices, encoded rows) of a simple random sample of at most ``max_rows`` synthetic rows."""
    size = min(max_rows, len(data.synthetic))

    def build() -> tuple[np.ndarray, np.ndarray]:
        rows = sample_indices(len(data.synthetic), size, shared_rng(ctx, f"privacy.synthetic-sample.{size}"))
        return rows, real_encoding(data, ctx).encoder.transform(data.synthetic.iloc[rows])

    return ctx.cached(data, ("privacy.synthetic-encoding", size), build)


@dataclass(frozen=True)
class PooledNeighbours:
    """Nearest real rows of sampled synthetic rows, and the unseen-row yardstick."""

    to_train: np.ndarray  # (n, 2): distances of each synthetic query to its two nearest training rows
    to_holdout: np.ndarray  # (n, 2): the same against the holdout reference rows
    train_score: np.ndarray  # (n,): 1 = nearest real row is a training row, 0 = holdout, a tie: training share
    nearest: np.ndarray  # (n,): id of each query's nearest real row (training i: i; holdout j: t + j; tie: both)
    ties: int  # synthetic queries whose nearest training and holdout rows are equally far
    holdout_to_train: np.ndarray  # (m,): distance of each holdout query row to its nearest training row
    n_train: int
    n_holdout_reference: int

    @property
    def null_share(self) -> float:
        """The chance that the nearest pooled real row is a training row when nothing was memorised."""
        return self.n_train / (self.n_train + self.n_holdout_reference)

    def effective_rows(self, mask: np.ndarray | None = None) -> float:
        """Kish's effective number of independent queries: n² / Σ c², c = queries sharing a nearest real
        row. Under the null the label (training or holdout) of each real row is the random part, so
        queries with one nearest row move together; with distinct nearest rows this is n."""
        nearest = self.nearest if mask is None else self.nearest[mask]
        if nearest.size == 0:
            return 0.0
        counts = np.unique(nearest, return_counts=True)[1].astype(float)
        return float(nearest.size**2 / (counts**2).sum())

    def sizes(self) -> dict[str, int]:
        return {
            "synthetic_rows_used": int(self.to_train.shape[0]),
            "training_rows_used": self.n_train,
            "holdout_rows_used": self.n_holdout_reference,
        }


def pooled_neighbours(
    data: EvalInput,
    ctx: RunContext,
    *,
    max_queries: int = SYNTHETIC_QUERIES,
    max_reference: int = MAX_HOLDOUT_REFERENCE,
    holdout_queries: int = HOLDOUT_QUERIES,
) -> PooledNeighbours:
    """The shared nearest-neighbour lookups of the distance metrics (cached per run and sizes)."""
    assert data.holdout is not None, "the distance metrics need a holdout"
    key = ("privacy.pooled-neighbours", max_queries, max_reference, holdout_queries)
    return ctx.cached(data, key, lambda: _build(data, ctx, max_queries, max_reference, holdout_queries))


def _build(data: EvalInput, ctx: RunContext, max_queries: int, max_reference: int, holdout_queries: int):
    real = real_encoding(data, ctx)
    assert real.holdout is not None
    _, synthetic = synthetic_encoding(data, ctx, max_queries)
    rng = shared_rng(ctx, "privacy.pooled-neighbours")
    reference = real.holdout[sample_indices(real.holdout.shape[0], max_reference, rng)]
    yardstick = real.holdout[sample_indices(real.holdout.shape[0], holdout_queries, rng)]
    # one search of the training rows for the synthetic queries and the holdout yardstick together
    both, both_index = knn(np.vstack([synthetic, yardstick]), real.train, 2)
    n = synthetic.shape[0]
    to_train, train_index = both[:n], both_index[:n]
    to_holdout, holdout_index = knn(synthetic, reference, 2)
    score, tied = _nearest_is_training(synthetic, real.train, reference, to_train[:, 0], to_holdout[:, 0])
    t, h = real.train.shape[0], reference.shape[0]
    nearest = np.where(score >= 1.0, train_index[:, 0], t + holdout_index[:, 0]).astype(np.int64)
    nearest[tied] = (t + h) * (1 + train_index[tied, 0]) + holdout_index[tied, 0]  # a tied pair: its own id
    return PooledNeighbours(
        to_train=to_train,
        to_holdout=to_holdout,
        train_score=score,
        nearest=nearest,
        ties=int(tied.sum()),
        holdout_to_train=both[n:, 0],
        n_train=int(real.train.shape[0]),
        n_holdout_reference=int(reference.shape[0]),
    )


def _nearest_is_training(
    queries: np.ndarray, train: np.ndarray, holdout: np.ndarray, d_train: np.ndarray, d_holdout: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """1 where the nearest real row is a training row, 0 where it is a holdout row; where the two are
    equally far, the share of training rows among all real rows at that distance (what a uniformly
    random pick among the tied rows gives on average, so the null stays exactly t / (t + h))."""
    tied = np.abs(d_train - d_holdout) <= TIE_TOLERANCE * (1.0 + d_train)
    score = (d_train < d_holdout).astype(float)
    if tied.any():
        radius = np.minimum(d_train, d_holdout)[tied]
        in_train = count_within(queries[tied], train, radius, TIE_TOLERANCE)
        in_holdout = count_within(queries[tied], holdout, radius, TIE_TOLERANCE)
        score[tied] = in_train / np.maximum(in_train + in_holdout, 1)
    return score, tied


class PooledDetails(MetricDetails):
    """Details every pooled nearest-neighbour metric reports (privacy.dcr, privacy.nndr)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    encoding: str = Field(ENCODING, description="how rows are turned into vectors for distances")
    columns: list[str] = Field(description="columns the distances use (identifiers and free text left out)")
    synthetic_rows_used: int = Field(ge=1, description="synthetic rows sampled as queries")
    training_rows_used: int = Field(ge=1, description="training rows searched (all of them)")
    holdout_rows_used: int = Field(ge=1, description="holdout rows in the pooled reference")
    null_share: float = Field(
        ge=0, le=1, description="share of pooled real rows that are training rows: the chance level t / (t + h)"
    )
    share: float = Field(ge=0, le=1, description="share of counted synthetic rows whose nearest real row is training")
    share_ci: tuple[float, float] = Field(description="Wilson 95% interval of share, at effective_rows")
    effective_rows: float = Field(
        ge=0,
        description="independent rows the counted ones are worth (queries sharing a nearest real row move together)",
    )
    excess_share: float = Field(ge=-1, le=1, description="share minus null_share")
