"""Known-answer tests for the privacy building blocks: encoding, kNN, anonymeter statistics,
singling-out query counting, PII patterns."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist

from qaharness.metrics._anonymeter_style import AttackCounts, count_links, guesses_correct, residual_risk, success_rate
from qaharness.metrics._nn import MixedEncoder, count_within, knn
from qaharness.metrics._pii import find_pii, iban_ok, luhn_ok, shape
from qaharness.metrics._privacy_stats import clustered_share, excess_over_null, newcombe_difference, to_excess
from qaharness.metrics._rows import duplicate_share, leave_one_out_excess, pooled_attribution
from qaharness.metrics._singling_out import (
    EQ,
    GE,
    GT,
    ISNULL,
    LE,
    LT,
    NE,
    NOTNULL,
    QueryTable,
    count_matches,
    generate_queries,
    random_queries,
    shared_categories,
    singled_out_at_size,
)
from qaharness.metrics.privacy_dcr_tail import tail_test
from qaharness.metrics.privacy_nndr import nndr
from qaharness.schema import ColumnKind, Schema
from qaharness.summaries import RowMatches

SCHEMA = Schema({"x": ColumnKind.NUMERIC, "c": ColumnKind.CATEGORICAL})


def test_encoding_known_distances():
    real = pd.DataFrame({"x": [0.0, 10.0, 5.0, np.nan], "c": ["a", "b", "a", "a"]})
    encoder = MixedEncoder(real, SCHEMA, ["x", "c"])
    rows = encoder.transform(real)
    d = cdist(rows.astype(float), rows.astype(float))
    assert d[0, 1] == pytest.approx(math.sqrt(1.0 + 1.0))  # full range on x (1) + category mismatch (1)
    assert d[0, 2] == pytest.approx(0.5)  # half the range, same category
    assert d[2, 3] == pytest.approx(1.0)  # present vs missing: indicator only (x at median)
    assert d[3, 3] == 0.0


def test_encoding_unseen_category_goes_to_other():
    real = pd.DataFrame({"x": [1.0, 2.0], "c": ["a", "b"]})
    encoder = MixedEncoder(real, SCHEMA, ["x", "c"])
    other = encoder.transform(pd.DataFrame({"x": [1.0, 1.0], "c": ["zz", "yy"]}))
    assert np.array_equal(other[0], other[1])  # both land in the "other" slot
    assert encoder.dims(["c"]).tolist() == [2, 3, 4]


@pytest.mark.parametrize("k", [1, 3])
def test_knn_matches_brute_force(k, monkeypatch):
    import qaharness.metrics._nn as nn

    monkeypatch.setattr(nn, "BLOCK_ELEMENTS", 997)  # force many small blocks
    rng = np.random.default_rng(0)
    queries, candidates = rng.random((60, 5)).astype(np.float32), rng.random((700, 5)).astype(np.float32)
    dist, idx = knn(queries, candidates, k)
    full = cdist(queries.astype(float), candidates.astype(float))
    expected = np.argsort(full, axis=1, kind="stable")[:, :k]
    assert np.array_equal(idx, expected)
    assert np.allclose(dist, np.take_along_axis(full, expected, 1), atol=1e-12)


def test_knn_exact_copy_is_distance_zero_and_ties_take_lower_index():
    candidates = np.array([[1.0, 2.0], [1.0, 2.0], [5.0, 5.0]], dtype=np.float32)
    dist, idx = knn(np.array([[1.0, 2.0]], dtype=np.float32), candidates, 2)
    assert dist.tolist() == [[0.0, 0.0]] and idx.tolist() == [[0, 1]]


def test_count_within_matches_brute_force(monkeypatch):
    import qaharness.metrics._nn as nn

    monkeypatch.setattr(nn, "BLOCK_ELEMENTS", 997)  # force many small blocks
    rng = np.random.default_rng(1)
    candidates = rng.integers(0, 3, (500, 3)).astype(np.float32)  # many exact ties
    queries = rng.integers(0, 3, (40, 3)).astype(np.float32)
    radius = cdist(queries.astype(float), candidates.astype(float)).min(axis=1)
    expected = (cdist(queries.astype(float), candidates.astype(float)) <= radius[:, None] + 1e-9).sum(axis=1)
    assert count_within(queries, candidates, radius).tolist() == expected.tolist()


def test_excess_scale_and_interval():
    assert to_excess(0.5, 0.5) == 0.0 and to_excess(1.0, 0.8) == 1.0 and to_excess(0.0, 0.5) == -1.0
    assert to_excess(0.9, 0.8) == pytest.approx(0.5) and to_excess(0.7, 0.8) == pytest.approx(-0.5)
    assert to_excess(0.2, 0.8) == -1.0  # clipped: linear would be −3
    value, (low, high) = excess_over_null(90, 100, 0.8)
    assert value == pytest.approx(0.5) and low < 0.5 < high
    scaled, _ = excess_over_null(10, 10, 0.5, n=100)  # 10 of 100 rows counted, all on training
    assert scaled == pytest.approx(0.1)
    _, narrow = excess_over_null(500, 1000, 0.5)
    _, wide = excess_over_null(500, 1000, 0.5, effective=100)  # 1,000 rows worth 100 independent ones
    assert wide[1] - wide[0] > 3 * (narrow[1] - narrow[0])


def test_newcombe_difference_known_answer():
    """Newcombe (1998), table II, example (a): 56/70 − 48/80 = 0.2, method 10 interval 0.0524–0.3339."""
    from qaharness.stats import wilson_interval

    diff, (low, high) = newcombe_difference(56, 70, 48 / 80, wilson_interval(48, 80))
    assert (
        diff == pytest.approx(0.2)
        and low == pytest.approx(0.0524, abs=1e-4)
        and high == pytest.approx(0.3339, abs=1e-4)
    )


def test_clustered_share_counts_identical_rows_once():
    hit = np.array([1, 1, 1, 1, 0, 0, 0, 0], dtype=bool)
    p, var_iid = clustered_share(hit, np.arange(8))
    assert p == 0.5 and var_iid == pytest.approx(0.25 / 8)
    _, var_two = clustered_share(hit, np.array([1, 1, 1, 1, 2, 2, 2, 2]))  # two clusters of four
    assert var_two == pytest.approx(4 * var_iid)


def test_leave_one_out_duplicates_and_overlap():
    train = np.array([1, 1, 2, 3, 4, 5, 6, 7, 8, 9])  # one pair: 2 of 10 rows have a twin
    assert duplicate_share(RowMatches.of(train))[0] == pytest.approx(0.2)
    value, _, info = leave_one_out_excess(RowMatches.of(np.array([1, 2, 3, 10, 11]), train), RowMatches.of(train))
    assert info["matched_share"] == pytest.approx(0.6) and value == pytest.approx(0.4)


def test_pooled_attribution_known_answer():
    """t = 3, h = 1 (chance 3/4). Synthetic: a training-only row (score 1), a row in both (1/2), no match."""
    synthetic = RowMatches.of(np.array([1, 2, 9]), np.array([1, 2, 3]), np.array([2]))
    value, (low, high), info = pooled_attribution(synthetic, 3, 1)
    excess = (1 - 0.75) + (0.5 - 0.75)  # 0: the shared row cancels the training-only one
    assert value == pytest.approx(excess / (3 * 0.25)) and low < value < high
    assert info == {"matched_rows": 2, "training_only_rows": 1}


def test_tail_test_is_exact_under_the_null():
    """Synthetic and holdout distances from one distribution: the excess averages 0 and the one-sided
    p-value is uniform (about 5% of draws below 0.05)."""
    rng = np.random.default_rng(7)
    p_values, excesses = [], []
    for _ in range(400):
        synthetic, holdout = rng.random(300), np.sort(rng.random(200))
        tail = tail_test(synthetic, holdout, 0.05, holdout)
        p_values.append(tail.p_value), excesses.append(tail.excess)
    assert abs(np.mean(excesses)) < 0.005
    assert 0.02 < np.mean(np.array(p_values) < 0.05) < 0.09
    near = tail_test(np.r_[np.zeros(30), rng.random(270)], np.sort(rng.random(200)), 0.05, holdout)
    assert near.ci_low > 0.02 and near.p_value < 0.01


def test_singled_out_at_size_exact_cases():
    counts = np.array([0, 1, 1, 2, 3, 0])
    assert singled_out_at_size(counts, 100, 100) == (2.0, "exact (equal sizes)")
    # a 50-row subsample of 100 rows: one matching row lands in it with probability 1/2
    expected, _ = singled_out_at_size(np.array([1]), 100, 50)
    assert expected == pytest.approx(0.5)
    two, _ = singled_out_at_size(np.array([2]), 100, 50)  # exactly one of two: 2 · 50 · 50 / (100 · 99)
    assert two == pytest.approx(2 * 50 * 50 / (100 * 99))


def test_singled_out_at_size_extrapolates_a_beta_binomial():
    """Query weights drawn from a Beta; counts in 500 control and 4,000 training rows. The corrected
    control must land near the true training-size rate, which the raw control misses by far."""
    rng = np.random.default_rng(0)
    w = rng.beta(0.8, 1500, 3000)
    control, train = rng.binomial(500, w), rng.binomial(4000, w)
    truth = float(np.mean(4000 * w * (1 - w) ** 3999))
    estimate, how = singled_out_at_size(control, 500, 4000, train)
    assert "empirical Bayes" in how
    assert abs(estimate / 3000 - truth) < 0.02 < abs(np.mean(control == 1) - truth)


def test_nndr_known_values():
    assert nndr(np.array([[1.0, 2.0], [0.0, 0.0], [0.0, 3.0]])).tolist() == [0.5, 1.0, 0.0]


def test_success_rate_and_risk_match_anonymeter():
    from anonymeter.stats.confidence import EvaluationResults

    for n, main, control in [(500, 120, 40), (2000, 30, 35), (300, 300, 10), (100, 0, 0)]:
        ours = AttackCounts(main, n, control, n, 5, n).risk()
        theirs = EvaluationResults(n_attacks=n, n_success=main, n_baseline=5, n_control=control).risk()
        assert ours[0] == pytest.approx(theirs.value, abs=1e-12)
        assert ours[1] == pytest.approx(theirs.ci, abs=1e-12)


def test_residual_risk_known_answer():
    value, (low, high) = residual_risk((0.6, 0.0), (0.2, 0.0))
    assert value == pytest.approx(0.5) and low == high == pytest.approx(0.5)
    assert success_rate(0, 10)[0] > 0  # Wilson centre is pulled off zero


def test_count_links_and_guesses():
    assert count_links(np.array([[1], [2]]), np.array([[1], [3]])).tolist() == [True, False]
    assert count_links(np.array([[1, 4]]), np.array([[5, 4]])).tolist() == [True]
    hits = guesses_correct(pd.Series([100.0, 100.0, np.nan]), pd.Series([104.0, 106.0, np.nan]), regression=True)
    assert hits.tolist() == [True, False, True]
    cats = guesses_correct(pd.Series(["a", None, "b"], dtype=object), pd.Series(["a", None, "c"], dtype=object), False)
    assert cats.tolist() == [True, True, False]


def _brute_count(frame: pd.DataFrame, columns, cols, ops, vals, categories) -> int:
    mask = np.ones(len(frame), dtype=bool)
    for c, op, v in zip(cols, ops, vals):
        name = columns[c]
        x = frame[name]
        if name in categories:
            x = pd.Series(categories[name].get_indexer(x.astype(object)).astype(float)).where(x.notna().to_numpy())
        x = x.to_numpy(dtype=float)
        present = ~np.isnan(x)
        test = {
            EQ: x == v,
            NE: present & (x != v),
            GT: x > v,
            LT: x < v,
            GE: x >= v,
            LE: x <= v,
            ISNULL: ~present,
            NOTNULL: present,
        }[op]
        mask &= test
    return int(mask.sum())


def _query_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 30, n).astype(float)
    x[rng.random(n) < 0.1] = np.nan
    c = rng.choice(["a", "b", "c", None], n, p=[0.4, 0.3, 0.2, 0.1])
    return pd.DataFrame({"x": x, "y": np.round(rng.normal(0, 1, n), 1), "c": c})


def test_count_matches_equals_brute_force():
    frame = _query_frame(500, 0)
    columns = ["x", "y", "c"]
    kinds = {"x": ColumnKind.NUMERIC, "y": ColumnKind.NUMERIC, "c": ColumnKind.CATEGORICAL}
    categories = shared_categories([frame], columns, kinds)
    table = QueryTable(frame, columns, kinds, categories)
    cols, ops, vals = random_queries(table, 400, 2, np.random.default_rng(1))
    counts = count_matches(table, cols, ops, vals)
    expected = [_brute_count(frame, columns, cols[q], ops[q], vals[q], categories) for q in range(400)]
    assert counts.tolist() == expected
    capped = count_matches(table, cols, ops, vals, stop_at=2)
    assert np.array_equal(np.minimum(counts, 2), np.minimum(capped, 2))


def test_generated_queries_single_out_synthetic_and_are_distinct():
    frame = _query_frame(300, 2)
    columns = ["x", "y", "c"]
    kinds = {"x": ColumnKind.NUMERIC, "y": ColumnKind.NUMERIC, "c": ColumnKind.CATEGORICAL}
    table = QueryTable(frame, columns, kinds, shared_categories([frame], columns, kinds))
    cols, ops, vals, attempts = generate_queries(table, 20, 2, np.random.default_rng(3), max_attempts=20_000)
    assert len(cols) == 20 and attempts >= 20
    assert (count_matches(table, cols, ops, vals) == 1).all()
    keys = {tuple(sorted(zip(c, o, np.nan_to_num(v, nan=-1)))) for c, o, v in zip(cols, ops, vals)}
    assert len(keys) == 20


@pytest.mark.parametrize(
    "text, kind",
    [
        ("write to jane.doe@example.org today", "email"),
        ("call (555) 123-4567", "phone"),
        ("call +1 555-123-4567", "phone"),
        ("ssn 123-45-6789", "ssn"),
        ("card 4111 1111 1111 1111", "card_luhn"),
        ("card 5555-5555-5555-4444", "card_luhn"),
        ("iban GB82 WEST 1234 5698 7654 32", "iban"),
        ("iban DE89370400440532013000", "iban"),
    ],
)
def test_pii_patterns_found(text, kind):
    assert kind in find_pii(text)


@pytest.mark.parametrize(
    "text",
    [
        "card 4111 1111 1111 1112",  # fails Luhn
        "iban GB82 WEST 1234 5698 7654 33",  # fails mod 97
        "ssn 000-45-6789",  # invalid area number
        "order 12345 shipped",
        "age 42, income 50000",
        "2024-01-15",
    ],
)
def test_pii_patterns_not_found(text):
    assert find_pii(text) == {}


def test_checksums_and_shape():
    assert luhn_ok("79927398713") and not luhn_ok("79927398710")
    assert iban_ok("GB82WEST12345698765432") and not iban_ok("GB82WEST12345698765431")
    assert shape("jane.doe@ex4mple.org") == "xxxx.xxx@xx9xxxx.xxx"


def test_weighted_auc_equals_auc_of_resample():
    from qaharness.metrics.privacy_mia import _weighted_auc
    from qaharness.stats import roc_auc

    rng = np.random.default_rng(4)
    pos, neg = np.round(rng.normal(0.3, 1, 40), 1), np.round(rng.normal(0, 1, 50), 1)
    ip, ineg = rng.integers(0, 40, 40), rng.integers(0, 50, 50)
    order = np.argsort(neg, kind="stable")
    w_pos = np.bincount(ip, minlength=40)[None]
    w_neg = np.bincount(ineg, minlength=50)[order][None]
    expected = roc_auc(np.r_[np.ones(40), np.zeros(50)], np.r_[pos[ip], neg[ineg]])
    assert _weighted_auc(pos, neg[order], w_pos, w_neg)[0] == pytest.approx(expected, abs=1e-12)


def test_numpy_fallback_counts_like_numba(monkeypatch):
    import qaharness.metrics._singling_out as engine

    frame = _query_frame(400, 7)
    columns = ["x", "y", "c"]
    kinds = {"x": ColumnKind.NUMERIC, "y": ColumnKind.NUMERIC, "c": ColumnKind.CATEGORICAL}
    table = QueryTable(frame, columns, kinds, shared_categories([frame], columns, kinds))
    cols, ops, vals = random_queries(table, 300, 3, np.random.default_rng(8))
    compiled = count_matches(table, cols, ops, vals)
    monkeypatch.setattr(engine, "_numba_kernel", lambda: None)
    assert np.array_equal(count_matches(table, cols, ops, vals), compiled)
    assert np.array_equal(np.minimum(count_matches(table, cols, ops, vals, stop_at=2), 2), np.minimum(compiled, 2))
