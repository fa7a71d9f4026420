"""Exact row matching between training, holdout and synthetic rows (privacy.exact_match,
privacy.holdout_overlap and the input checks in ``qaharness._overlap``).

Rows are compared on every column but identifiers (a generator that replays records usually
re-draws their keys; identifiers are judged by ``privacy.pii``). The statistics below read only
``summaries.RowMatches`` — per distinct query row its multiplicity and its count in each reference
table, as a histogram of those profiles — which both engines compute over the whole tables
(``TableSummaries.row_matches``: 64-bit row hashes of the validated frames in pandas, 128-bit
hashes and joins in Spark), so the numbers are exact on either.

The chance level of a match, two ways:

- *pooled attribution* (synthetic rows, with a holdout): a synthetic row identical to ``a``
  training and ``b`` holdout rows is attributed to training by ``a / (a + b)``. When the generator
  never saw its training rows, training and holdout rows are exchangeable, so that share averages
  exactly ``t / (t + h)`` whatever the sizes, and a row common in the population (large ``a`` and
  ``b``) carries no weight — only rows that match training and not the holdout do;
- *leave-one-out duplicates* (holdout rows, or synthetic rows without a holdout): the share of
  training rows identical to another training row estimates how often a fresh row from the same
  population matches one of ``t − 1`` training rows — the chance rate at the training's size.

Shares come with cluster-robust variances (``_privacy_stats.clustered_share``: identical rows are
one cluster); since every row of a cluster has the same outcome, a cluster of ``c`` rows adds
``c² (hit − p)²``, which the profiles give directly.
"""

from __future__ import annotations

import numpy as np

from ..inputs import EvalInput
from ..schema import ColumnKind
from ..stats import Z95
from ..summaries import RowMatches
from ._privacy_stats import normal_difference

__all__ = [
    "match_columns",
    "duplicate_share",
    "matched_share",
    "leave_one_out_excess",
    "pooled_attribution",
]


def match_columns(data: EvalInput) -> list[str]:
    """Every column but identifiers."""
    return [c for c in data.schema if data.schema[c] is not ColumnKind.IDENTIFIER]


def _clustered(matches: RowMatches, hit: np.ndarray) -> tuple[float, float]:
    """(share of query rows whose profile has ``hit``, its variance with identical rows as one cluster):
    ``clustered_share`` over the rows, from the profiles."""
    n = matches.n_rows
    if n == 0:
        return 0.0, 0.0
    weight = matches.rows * matches.multiplicity
    p = float(weight[hit].sum()) / n
    deviation = matches.multiplicity * (hit.astype(float) - p)  # one cluster's Σ (hit_i − p)
    return p, float((matches.rows * deviation**2).sum() / n**2)


def duplicate_share(groups: RowMatches) -> tuple[float, float]:
    """(share of rows identical to another row of the same table, its cluster-robust variance),
    from the table's identical-row group sizes (``row_matches`` without references)."""
    return _clustered(groups, groups.multiplicity >= 2)


def matched_share(matches: RowMatches, reference: int = 0) -> tuple[float, float]:
    """(share of query rows identical to some row of reference ``reference``, its variance with
    identical query rows as one cluster)."""
    return _clustered(matches, matches.in_reference(reference))


def leave_one_out_excess(queries: RowMatches, train: RowMatches) -> tuple[float, tuple[float, float], dict]:
    """Share of query rows identical to a training row (``queries``: against training first) minus
    the chance rate (training's own leave-one-out duplicate share; ``train``: its group sizes), with
    a normal 95% interval from the two clustered variances."""
    observed, var_observed = matched_share(queries, 0)
    chance, var_chance = duplicate_share(train)
    value, ci = normal_difference(observed, var_observed, chance, var_chance)
    return value, ci, {"matched_share": observed, "chance_share": chance}


def pooled_attribution(synthetic: RowMatches, t: int, h: int) -> tuple[float, tuple[float, float], dict]:
    """Excess share of synthetic rows attributable to training beyond chance (see the module doc).

    ``synthetic``: the synthetic rows against training (reference 0, ``t`` rows) and the holdout
    (reference 1, ``h`` rows). Per synthetic row with ``a`` identical training and ``b`` identical
    holdout rows (a + b ≥ 1), score a / (a + b); without memorisation it averages π = t / (t + h)
    with the hypergeometric variance π (1 − π) (N − K) / (K (N − 1)), N = t + h, K = a + b.
    ``value`` = S / (n (1 − π)) with S = Σ (score − π): 1 when every synthetic row matches training
    rows only; below chance the same linear scale clipped at −1. 95% interval from the null variance
    (normal), mapped the same way; identical synthetic rows move together. Rows matching nothing
    contribute 0.
    """
    n, null, pool = synthetic.n_rows, t / (t + h), t + h
    a, b = synthetic.reference_counts[0], synthetic.reference_counts[1]
    matched = (a + b) > 0
    rows, m, k = synthetic.rows[matched], synthetic.multiplicity[matched].astype(float), (a + b)[matched].astype(float)
    score = a[matched] / k
    variance = null * (1 - null) * (pool - k) / (k * max(pool - 1, 1))
    excess = float((rows * m * (score - null)).sum())
    half = Z95 * float(np.sqrt((rows * m**2 * variance).sum()))
    low, high = (_scaled(x, n, null) for x in (excess - half, excess + half))
    info = {
        "matched_rows": synthetic.matched_rows(0, 1),
        "training_only_rows": int((synthetic.rows * synthetic.multiplicity)[matched & (b == 0)].sum()),
    }
    return _scaled(excess, n, null), (max(-1.0, low), min(1.0, high)), info


def _scaled(excess: float, n: int, null: float) -> float:
    """An excess count of rows on the excess scale: / n (1 − π), clipped at −1 (linear, so unbiased)."""
    return max(-1.0, excess / (n * (1 - null)))
