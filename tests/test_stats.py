"""The shared statistics against scipy and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from scipy.spatial.distance import jensenshannon
from sklearn.metrics import roc_auc_score

from qaharness.stats import (
    align_counts,
    binned_codes,
    binned_counts,
    bootstrap_ci,
    delong_ci,
    distinct_counts,
    js_distance,
    ks_from_counts,
    ks_statistic,
    quantile_edges,
    quantiles_from_counts,
    roc_auc,
    std_from_counts,
    wasserstein_1d,
    wasserstein_from_counts,
    wilson_interval,
)

samples = st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=60)


@settings(max_examples=60, deadline=None)
@given(samples, samples)
def test_ks_matches_scipy(a, b):
    assert ks_statistic(np.array(a), np.array(b)) == pytest.approx(sps.ks_2samp(a, b).statistic, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(samples, samples)
def test_wasserstein_matches_scipy(a, b):
    assert wasserstein_1d(np.array(a), np.array(b)) == pytest.approx(sps.wasserstein_distance(a, b), rel=1e-9, abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 50), min_size=4, max_size=4), st.lists(st.integers(0, 50), min_size=4, max_size=4))
def test_js_matches_scipy_and_is_symmetric(p, q):
    if sum(p) == 0 or sum(q) == 0:
        return
    ours = js_distance(np.array(p), np.array(q))
    assert ours == pytest.approx(jensenshannon(p, q, base=2), abs=1e-9)
    assert ours == pytest.approx(js_distance(np.array(q), np.array(p)), abs=1e-12)
    assert 0.0 <= ours <= 1.0


def test_js_known_answers():
    assert js_distance(np.array([1, 0]), np.array([0, 1])) == pytest.approx(1.0)
    assert js_distance(np.array([5, 5]), np.array([1, 1])) == pytest.approx(0.0)


def test_wilson_known_answer():
    low, high = wilson_interval(5, 10)  # textbook: 0.2366, 0.7634
    assert (low, high) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson_interval(0, 10)[0] == 0.0


def test_auc_and_delong_match_sklearn():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 400)
    scores = labels * 0.5 + rng.normal(size=400)
    assert roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    auc, (low, high) = delong_ci(labels, scores)
    assert auc == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert low < auc < high and high - low < 0.2


def test_auc_ties_get_half_credit():
    assert roc_auc(np.array([1, 0]), np.array([0.3, 0.3])) == pytest.approx(0.5)


def test_bootstrap_ci_covers_the_mean():
    rng = np.random.default_rng(1)
    values = rng.normal(10, 1, 500)
    low, high = bootstrap_ci(lambda idx: values[idx].mean(), 500, np.random.default_rng(2))
    assert low < values.mean() < high


def test_binned_codes_put_missing_in_its_own_bin():
    edges = quantile_edges(np.arange(100.0), 4)
    codes = binned_codes(np.array([0.0, 99.0, np.nan]), edges)
    assert codes[0] == 0 and codes[1] == edges.size and codes[2] == edges.size + 1


# -- the count-based forms the engines share (qaharness.summaries) ------------------------------
repeated = st.lists(st.sampled_from([-2.5, -0.0, 0.0, 1.0, 3.0, 3.5, 1e9]), min_size=1, max_size=80)


@settings(max_examples=80, deadline=None)
@given(st.one_of(samples, repeated), st.lists(st.floats(0, 1), max_size=8))
def test_quantiles_from_counts_are_numpys_bit_for_bit(values, quantiles):
    """JS bin edges are quantiles: a last-bit difference would move a value into another bin."""
    qs = np.array([0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0, *quantiles])
    expected = np.quantile(np.array(values), qs)
    assert np.array_equal(quantiles_from_counts(*distinct_counts(values), qs), expected)


def _union_reference(a_values, a_counts, b_values, b_counts):
    """The plain construction ``align_counts`` must equal: sort the union, place each side's counts."""
    values = np.union1d(a_values, b_values)
    ca, cb = np.zeros(values.size, dtype=np.int64), np.zeros(values.size, dtype=np.int64)
    ca[np.searchsorted(values, a_values)] = a_counts
    cb[np.searchsorted(values, b_values)] = b_counts
    return values, ca, cb


_tied = st.lists(st.integers(-6, 6).map(lambda k: k / 2), min_size=1, max_size=40)


@settings(max_examples=300, deadline=None)
@given(_tied, _tied)
def test_align_and_ks_equal_the_union_construction_bit_for_bit(a, b):
    """Many ties and shared values: the merge by binary search gives the union's values and counts, and
    KS evaluated at the shorter side's values gives the union's supremum to the last bit."""
    sides = [distinct_counts(np.array(x)) for x in (a, b)]
    for first, second in (sides, sides[::-1]):
        got, want = align_counts(*first, *second), _union_reference(*first, *second)
        assert all(np.array_equal(g, w) for g, w in zip(got, want))
        _, ca, cb = want
        union_ks = float(np.max(np.abs(np.cumsum(ca) / ca.sum() - np.cumsum(cb) / cb.sum())))
        assert ks_from_counts(*first, *second) == union_ks
    assert ks_from_counts(*sides[0], *sides[1]) == pytest.approx(sps.ks_2samp(a, b).statistic, abs=1e-12)


def _union_wasserstein(a_values, a_counts, b_values, b_counts):
    values, ca, cb = _union_reference(a_values, a_counts, b_values, b_counts)
    gaps = np.diff(values)
    return float(np.sum(np.abs(np.cumsum(ca)[:-1] / ca.sum() - np.cumsum(cb)[:-1] / cb.sum()) * gaps))


@settings(max_examples=200, deadline=None)
@given(_tied, _tied, st.integers(1, 5))
def test_ks_and_wasserstein_walked_in_pieces_equal_the_whole_union(a, b, chunk):
    """Pieces of a few values (every boundary case: a piece of one side only, a value shared across a
    boundary, the last gap): KS to the last bit, W1 to rounding of the sum's order."""
    sides = [distinct_counts(np.array(x)) for x in (a, b)]
    for first, second in (sides, sides[::-1]):
        _, ca, cb = _union_reference(*first, *second)
        union_ks = float(np.max(np.abs(np.cumsum(ca) / ca.sum() - np.cumsum(cb) / cb.sum())))
        assert ks_from_counts(*first, *second, chunk=chunk) == union_ks
        whole = _union_wasserstein(*first, *second)
        assert wasserstein_from_counts(*first, *second) == whole  # one piece: the very same sum
        assert wasserstein_from_counts(*first, *second, chunk=chunk) == pytest.approx(whole, rel=1e-12, abs=1e-15)
    assert wasserstein_from_counts(*sides[0], *sides[1], chunk=chunk) == pytest.approx(
        sps.wasserstein_distance(a, b), rel=1e-9, abs=1e-12
    )


def test_wasserstein_in_pieces_known_answer():
    # F_a − F_b: 1/2 on [0, 1), 0 on [1, 2), 1/2 on [2, 4): W1 = 1/2 + 1 = 1.5, also in pieces of one value
    a = (np.array([0.0, 2.0]), np.array([1, 1]))
    b = (np.array([1.0, 4.0]), np.array([1, 1]))
    assert wasserstein_from_counts(*a, *b, chunk=1) == 1.5 == wasserstein_from_counts(*a, *b)


def test_ks_from_counts_known_answers_and_an_empty_side():
    # F_a jumps to 1 at 1; F_b is 0.5 on [0, 2): sup is 0.5 just before 2 and at 1
    assert ks_from_counts(np.array([1.0]), np.array([4]), np.array([0.0, 2.0]), np.array([1, 1])) == 0.5
    assert ks_from_counts(np.array([0.0, 5.0]), np.array([1, 1]), np.array([1.0, 2.0, 3.0]), np.array([1, 1, 1])) == 0.5
    with pytest.raises(ValueError, match="empty"):
        ks_from_counts(np.array([1.0]), np.array([1]), np.array([]), np.array([], dtype=np.int64))


def test_counts_known_answers():
    values, counts = distinct_counts([3.0, 1.0, 3.0, -0.0, 0.0])
    assert values.tolist() == [0.0, 1.0, 3.0] and counts.tolist() == [2, 1, 2]
    union, ca, cb = align_counts(np.array([1.0, 3.0]), np.array([2, 5]), np.array([2.0, 3.0]), np.array([1, 1]))
    assert union.tolist() == [1.0, 2.0, 3.0] and ca.tolist() == [2, 0, 5] and cb.tolist() == [0, 1, 1]
    assert binned_counts(np.array([1.0, 2.0, 5.0]), np.array([3, 1, 2]), 4, np.array([2.0])).tolist() == [3, 3, 4]
    x = np.array([1.0, 1.0, 2.0, 7.5])
    assert std_from_counts(*distinct_counts(x)) == pytest.approx(np.std(x), rel=1e-15)


@pytest.mark.parametrize("overwrite", [False, True])
@pytest.mark.parametrize("missing", [0.0, 0.3, 1.0])
@pytest.mark.parametrize("n", [0, 1, 2, 1000])
def test_distinct_counts_equal_numpy_unique_and_overwrite_only_when_asked(n, missing, overwrite):
    """Against ``np.unique`` of the non-NaN values: NaN is missing, −0.0 and 0.0 are one value; the
    input is sorted in place only with ``overwrite`` (the Spark driver's pulled columns), and a
    read-only array (Arrow's zero-copy view) is never written."""
    rng = np.random.default_rng([n, int(missing * 10)])
    raw = rng.integers(0, 7, n).astype(float)
    raw[rng.random(n) < missing] = np.nan
    raw[: min(n, 2)] = [-0.0, 0.0][: min(n, 2)]
    expected = np.unique(raw[~np.isnan(raw)], return_counts=True)
    given = raw.copy()
    distinct, counts = distinct_counts(given, overwrite=overwrite)
    assert distinct.tolist() == expected[0].tolist() and counts.tolist() == expected[1].tolist()
    assert counts.dtype == np.int64 and int(counts.sum()) == int(np.count_nonzero(~np.isnan(raw)))
    assert np.array_equal(given, np.sort(raw) if overwrite else raw, equal_nan=True)
    frozen = raw.copy()
    frozen.flags.writeable = False
    assert distinct_counts(frozen, overwrite=True)[1].tolist() == expected[1].tolist()
    assert np.array_equal(frozen, raw, equal_nan=True)
