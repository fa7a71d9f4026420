"""The utility pillar's weighted scores equal scikit-learn's, with and without bootstrap weights."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, r2_score, roc_auc_score

from qaharness.metrics._utility_scores import (
    all_scores,
    prepared_auc,
    prepared_macro_f1,
    prepared_r2,
    weighted_bootstrap_ci,
)


def test_auc_with_ties_matches_sklearn_and_weights_equal_repeated_rows():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    scores = np.round(rng.normal(size=300) + y, 1)  # rounding makes ties
    auc = prepared_auc(y, scores)
    assert auc(None) == pytest.approx(roc_auc_score(y, scores), abs=1e-12)
    w = np.bincount(rng.integers(0, 300, 300), minlength=300)
    rows = np.repeat(np.arange(300), w)
    assert auc(w) == pytest.approx(roc_auc_score(y[rows], scores[rows]), abs=1e-12)


def test_auc_known_answer_and_single_class():
    assert prepared_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))(None) == 0.75
    assert np.isnan(prepared_auc(np.array([1, 1]), np.array([0.1, 0.2]))(None))


def test_macro_f1_and_accuracy_match_sklearn():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, 500)
    proba = rng.dirichlet(np.ones(4), 500) + 0.6 * np.eye(4)[y]
    proba[:, 3] = 0  # class 3 never predicted
    predicted = proba.argmax(axis=1)
    scores = all_scores("multiclass", y, proba, 4)
    assert scores["macro_f1"] == pytest.approx(f1_score(y, predicted, average="macro", zero_division=0))
    assert scores["accuracy"] == pytest.approx(accuracy_score(y, predicted))
    w = np.bincount(rng.integers(0, 500, 500), minlength=500)
    rows = np.repeat(np.arange(500), w)
    assert prepared_macro_f1(y, predicted, 4)(w) == pytest.approx(
        f1_score(y[rows], predicted[rows], average="macro", zero_division=0)
    )


def test_regression_scores_match_sklearn():
    rng = np.random.default_rng(2)
    y = rng.normal(size=200)
    predicted = y + rng.normal(scale=0.5, size=200)
    scores = all_scores("regression", y, predicted, 0)
    assert scores["r2"] == pytest.approx(r2_score(y, predicted))
    assert scores["mae"] == pytest.approx(mean_absolute_error(y, predicted))
    w = np.bincount(rng.integers(0, 200, 200), minlength=200)
    rows = np.repeat(np.arange(200), w)
    assert prepared_r2(y, predicted)(w) == pytest.approx(r2_score(y[rows], predicted[rows]))


def test_bootstrap_interval_covers_the_estimate_and_is_seeded():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 400)
    auc = prepared_auc(y, rng.normal(size=400) + y)
    low, high = weighted_bootstrap_ci(auc, 400, np.random.default_rng(7))
    assert low < auc(None) < high and high - low < 0.2
    assert (low, high) == weighted_bootstrap_ci(auc, 400, np.random.default_rng(7))
