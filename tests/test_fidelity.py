"""Known answers for every fidelity metric, and agreement with scipy / SDMetrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from scipy.spatial.distance import jensenshannon

from qaharness import evaluate
from qaharness.engine import run_metric
from qaharness.inputs import prepare_inputs
from qaharness.metrics import get_metric
from qaharness.metrics.fidelity_corr_diff import correlation_ratio, cramers_v


def compute(metric_id, real, synthetic, holdout=None, **kw):
    return run_metric(get_metric(metric_id)(), prepare_inputs(real, synthetic, holdout, **kw), seed=0)


def test_ks_per_column_matches_scipy(mixed_frames):
    real, synthetic, _ = mixed_frames
    result = compute("fidelity.ks", real, synthetic)
    for column in ("age", "income"):
        expected = sps.ks_2samp(real[column], synthetic[column]).statistic
        assert result.per_column[column] == pytest.approx(expected, abs=1e-6)
    days = sps.ks_2samp(real.day.astype("int64"), synthetic.day.astype("int64")).statistic
    assert result.per_column["day"] == pytest.approx(days, abs=1e-6)
    assert result.value == max(result.per_column.values())


def test_ks_known_answer_tiny():
    real = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]})
    synthetic = pd.DataFrame({"x": [3.0, 4.0, 5.0, 6.0]})
    assert compute("fidelity.ks", real, synthetic).value == pytest.approx(0.5)


def test_js_categorical_matches_scipy_with_missing_as_category():
    real = pd.DataFrame({"c": ["a", "a", "b", None]})
    synthetic = pd.DataFrame({"c": ["a", "b", "b", "b"]})
    result = compute("fidelity.js", real, synthetic)
    # categories: a, b, missing
    expected = jensenshannon([2, 1, 1], [1, 3, 0], base=2)
    assert result.per_column["c"] == pytest.approx(expected, abs=1e-6)


def test_js_per_column_matches_scipy(mixed_frames):
    real, synthetic, _ = mixed_frames
    result = compute("fidelity.js", real, synthetic)
    p = real.group.value_counts().sort_index()
    q = synthetic.group.value_counts().reindex(p.index, fill_value=0)
    assert result.per_column["group"] == pytest.approx(jensenshannon(p, q, base=2), abs=1e-6)
    edges = np.unique(np.quantile(real.age, np.linspace(0, 1, 21)[1:-1]))
    bins_r = np.bincount(np.searchsorted(edges, real.age, side="right"), minlength=edges.size + 1)
    bins_s = np.bincount(np.searchsorted(edges, synthetic.age, side="right"), minlength=edges.size + 1)
    assert result.per_column["age"] == pytest.approx(jensenshannon(bins_r, bins_s, base=2), abs=1e-6)


def test_js_disjoint_categories_is_one():
    real = pd.DataFrame({"c": ["a", "a", "b", "b"]})
    synthetic = pd.DataFrame({"c": ["x", "y", "x", "y"]})
    assert compute("fidelity.js", real, synthetic).value == pytest.approx(1.0)


def test_cramers_v_and_eta_known_answers():
    a = np.array([0, 0, 1, 1])
    assert cramers_v(a, a) == pytest.approx(1.0)
    assert cramers_v(np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])) == pytest.approx(0.0)
    assert correlation_ratio(np.array([0, 0, 1, 1]), np.array([1.0, 1.0, 5.0, 5.0])) == pytest.approx(1.0)
    assert correlation_ratio(np.array([0, 1, 0, 1]), np.array([1.0, 1.0, 5.0, 5.0])) == pytest.approx(0.0)


def test_cramers_v_matches_scipy_contingency():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 3, 500)
    b = (a + rng.integers(0, 2, 500)) % 4
    table = pd.crosstab(a, b).to_numpy()
    assert cramers_v(a, b) == pytest.approx(sps.contingency.association(table, method="cramer"), abs=1e-9)


def test_corr_diff_known_answer_sign_flip():
    x = np.arange(10.0)
    real = pd.DataFrame({"x": x, "y": 2 * x})
    synthetic = pd.DataFrame({"x": x, "y": -2 * x})
    result = compute("fidelity.corr_diff", real, synthetic)
    assert result.value == pytest.approx(2.0)
    assert result.details["worst_pairs"][0]["columns"] == ["x", "y"]


def test_corr_diff_detects_destroyed_dependence(mixed_frames):
    real, synthetic, holdout = mixed_frames
    rng = np.random.default_rng(0)
    broken = synthetic.apply(lambda s: s.sample(frac=1, random_state=int(rng.integers(1000))).to_numpy())
    honest = compute("fidelity.corr_diff", real, synthetic, holdout)
    independent = compute("fidelity.corr_diff", real, broken)
    assert honest.value < 0.3 and independent.value > 0.6
    assert honest.baseline is not None


def test_wasserstein_matches_scipy_scaled_by_iqr(mixed_frames):
    real, synthetic, _ = mixed_frames
    result = compute("fidelity.wasserstein", real, synthetic)
    iqr = np.subtract(*np.quantile(real.income, [0.75, 0.25]))
    expected = sps.wasserstein_distance(real.income, synthetic.income) / iqr
    assert result.per_column["income"] == pytest.approx(expected, rel=1e-9)


def test_missingness_known_answer():
    real = pd.DataFrame({"x": [1.0, None, 3.0, 4.0], "c": ["a", "b", None, None]})
    synthetic = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "c": ["a", "b", "a", None]})
    result = compute("fidelity.missingness", real, synthetic)
    assert result.per_column == {"x": 0.25, "c": 0.25}


def test_coverage_known_answer():
    real = pd.DataFrame({"x": [0.0, 10.0, 5.0, 5.0], "c": ["a", "b", "c", "d"]})
    synthetic = pd.DataFrame({"x": [5.0, 7.5, 6.0, 5.0], "c": ["a", "a", "b", "b"]})
    result = compute("fidelity.coverage", real, synthetic)
    assert result.per_column["x"] == pytest.approx(0.25)
    assert result.per_column["c"] == pytest.approx(0.5)
    assert result.value == pytest.approx(0.25)


def test_detection_separates_shifted_data_and_not_honest(mixed_frames):
    real, synthetic, holdout = mixed_frames
    shifted = synthetic.assign(income=synthetic.income * 3)
    assert compute("fidelity.detection", real, shifted).value > 0.9
    honest = compute("fidelity.detection", real, synthetic, holdout)
    assert honest.value < 0.7 and honest.ci[0] <= 0.6


def test_baseline_is_holdout_vs_real(mixed_frames):
    real, synthetic, holdout = mixed_frames
    with_baseline = compute("fidelity.ks", real, synthetic, holdout)
    direct = compute("fidelity.ks", real, holdout)
    assert with_baseline.baseline == pytest.approx(direct.value)


def test_quality_report_reference_agrees_on_ks_complement(mixed_frames):
    """SDMetrics' KSComplement is 1 − KS on the same column."""
    from sdmetrics.single_column import KSComplement

    real, synthetic, _ = mixed_frames
    result = compute("fidelity.ks", real, synthetic)
    assert 1 - result.per_column["age"] == pytest.approx(KSComplement.compute(real.age, synthetic.age), abs=1e-6)


def test_evaluate_is_deterministic(mixed_frames):
    real, synthetic, holdout = mixed_frames
    first = evaluate(real, synthetic, holdout, target="label", metrics=["fidelity"], seed=3).to_dict()
    second = evaluate(real, synthetic, holdout, target="label", metrics=["fidelity"], seed=3).to_dict()
    for d in (first, second):
        d.pop("created_at"), d.pop("timings")
    assert first == second


def test_vectorised_associations_match_pairwise_definitions():
    """The matrix-product Pearson and η equal the one-pair formulas, with missing values."""
    from qaharness.metrics.fidelity_corr_diff import association_matrix, pearson
    from qaharness.schema import ColumnKind, Schema
    from qaharness.summaries import PandasSummaries

    rng = np.random.default_rng(3)
    n = 400
    x = rng.normal(size=n)
    y = 2 * x + rng.normal(size=n)
    y[rng.random(n) < 0.1] = np.nan
    x[rng.random(n) < 0.1] = np.nan
    codes = rng.integers(0, 4, n)
    z = codes * 1.5 + rng.normal(size=n)
    kinds = {"x": ColumnKind.NUMERIC, "y": ColumnKind.NUMERIC, "z": ColumnKind.NUMERIC, "c": ColumnKind.CATEGORICAL}
    frame = pd.DataFrame({"x": x, "y": y, "z": z, "c": codes.astype(str).astype(object)})
    summaries = PandasSummaries({"real": frame}, Schema(kinds))
    stats = summaries.associations("real", ["x", "y", "z"], {"c": ["0", "1", "2", "3"]})
    matrix = association_matrix(["x", "y", "z", "c"], kinds, stats)
    assert matrix[0, 1] == pytest.approx(pearson(x, y), abs=1e-9)
    mask = ~np.isnan(x) & ~np.isnan(y)
    assert matrix[0, 1] == pytest.approx(sps.pearsonr(x[mask], y[mask])[0], abs=1e-9)
    assert matrix[3, 2] == pytest.approx(correlation_ratio(codes, z), abs=1e-9)
    assert matrix[3, 1] == pytest.approx(correlation_ratio(codes, y), abs=1e-9)
