"""Small statistics shared by the privacy metrics: excess over a null share, differences of shares.

- ``excess_over_null``: a share of synthetic rows against the share chance gives (``null``), as
  ``(s − null) / (1 − null)``: 0 is chance, 1 every row on the bad side (about the share of rows
  drawn to training beyond chance); below chance the same linear scale, clipped at −1 (a piecewise
  scale, ``/ null`` below chance, would bias honest values up whenever null > 0.5). Its interval is
  the Wilson interval of ``s`` mapped the same way. With ``n_counted`` < ``n`` (only some rows can
  show the effect, as in ``privacy.nndr``) the excess is scaled to all ``n`` rows.
- ``newcombe_difference``: the difference of two independent proportions with Newcombe's hybrid
  score interval (method 10 of Newcombe 1998, from the two Wilson intervals).
- ``clustered_share``: a share of rows with a variance that treats rows with identical content as
  one cluster (duplicate rows are not independent evidence), for the exact-match null.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as _sps

from ..stats import Z95, wilson_interval

__all__ = [
    "excess_over_null",
    "to_excess",
    "newcombe_difference",
    "normal_difference",
    "clustered_share",
    "beta_binomial_sf",
]


def to_excess(share: float, null: float) -> float:
    """The share on the excess scale (s − null) / (1 − null): 0 = chance, 1 = every row on the bad
    side; linear on both sides (so unbiased where s is), clipped at −1."""
    if null >= 1.0:
        return 0.0
    return max(-1.0, (share - null) / (1.0 - null))


def excess_over_null(
    successes: float, n_counted: int, null: float, n: int | None = None, effective: float | None = None
) -> tuple[float, tuple[float, float]]:
    """(excess, 95% interval) of ``successes / n_counted`` over ``null``, scaled to ``n`` rows.

    ``effective``: the effective number of independent rows among the counted ones (Kish's n² / Σ c²
    for rows that move together in clusters); the Wilson interval is taken at that size."""
    n = n_counted if n is None else n
    if n_counted <= 0 or n <= 0:
        return 0.0, (0.0, 0.0)
    scale = n_counted / n
    share = successes / n_counted
    size = n_counted if effective is None else max(min(effective, n_counted), 1.0)
    low, high = wilson_interval(share * size, size)
    value = scale * to_excess(share, null)
    return value, (min(value, scale * to_excess(low, null)), max(value, scale * to_excess(high, null)))


def newcombe_difference(
    x1: float, n1: int, p2: float, interval2: tuple[float, float]
) -> tuple[float, tuple[float, float]]:
    """x1 / n1 − p2 with Newcombe's hybrid score 95% interval, from the Wilson interval of x1 / n1 and
    the 95% interval ``interval2`` of p2 (its Wilson interval, or a beta interval for an
    order-statistic coverage)."""
    p1 = x1 / n1
    l1, u1 = wilson_interval(x1, n1)
    l2, u2 = interval2
    diff = p1 - p2
    low = diff - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = diff + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return diff, (max(-1.0, min(low, diff)), min(1.0, max(high, diff)))


def normal_difference(p1: float, var1: float, p2: float, var2: float) -> tuple[float, tuple[float, float]]:
    """p1 − p2 with a normal 95% interval from the two variances, clipped to [−1, 1]."""
    diff = p1 - p2
    half = Z95 * math.sqrt(max(var1, 0.0) + max(var2, 0.0))
    return diff, (max(-1.0, diff - half), min(1.0, diff + half))


def clustered_share(hit: np.ndarray, cluster: np.ndarray) -> tuple[float, float]:
    """(share of rows with ``hit``, its variance with rows of one ``cluster`` id counted as one unit).

    The cluster-robust (sandwich) variance of a mean: Σ_c (Σ_{i∈c} (hit_i − p))² / n². Rows with
    distinct content are clusters of one, which gives the binomial variance p(1 − p)/n back.
    """
    n = hit.size
    if n == 0:
        return 0.0, 0.0
    p = float(hit.mean())
    _, inverse = np.unique(cluster, return_inverse=True)
    sums = np.bincount(inverse, weights=hit.astype(float) - p)
    return p, float((sums**2).sum() / n**2)


def beta_binomial_sf(x: int, n: int, a: float, b: float) -> float:
    """P(X ≥ x) for X ~ BetaBinomial(n, a, b)."""
    if x <= 0:
        return 1.0
    return float(_sps.betabinom.sf(x - 1, n, a, b))
