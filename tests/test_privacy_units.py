"""Known-answer tests for the privacy building blocks: encoding, kNN, anonymeter statistics,
singling-out query counting, PII patterns."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist

from qaharness.metrics._anonymeter_style import AttackCounts, count_links, guesses_correct, residual_risk, success_rate
from qaharness.metrics._nn import MixedEncoder, closer_share, knn
from qaharness.metrics._pii import find_pii, iban_ok, luhn_ok, shape
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
)
from qaharness.metrics.privacy_nndr import nndr
from qaharness.schema import ColumnKind, Schema

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


def test_closer_share_counts_ties_half():
    successes, n, ties = closer_share(np.array([0.0, 1.0, 2.0, 3.0]), np.array([1.0, 1.0, 1.0, 4.0]))
    assert (successes, n, ties) == (2.5, 4, 1)


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
