"""Known answers for every fidelity metric, and agreement with scipy / SDMetrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from scipy.spatial.distance import jensenshannon

from qaharness import evaluate
from qaharness.engine import run_metric
from qaharness.inputs import prepare_inputs
from qaharness.metrics import get_metric
from qaharness.metrics.fidelity_corr_diff import correlation_ratio, cramers_v
from qaharness.stats import js_distance


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


def test_baseline_is_a_noise_quantile_of_holdout_samples_of_the_synthetic_size(mixed_frames):
    """Synthetic smaller than holdout: ten holdout samples of synthetic's size, without replacement."""
    from qaharness.engine import BASELINE_QUANTILE, baseline_inputs
    from qaharness.metrics._base import RunContext

    real, synthetic, holdout = mixed_frames
    small = synthetic.head(60)
    result = compute("fidelity.ks", real, small, holdout)
    details = result.details
    assert details["baseline_rows"] == 60 and len(details["baseline_draws"]) == 10
    assert result.baseline == pytest.approx(np.quantile(details["baseline_draws"], BASELINE_QUANTILE), abs=1e-6)
    data = prepare_inputs(real, small, holdout)
    draws = list(baseline_inputs(data, RunContext(seed=0), 10))
    assert all(len(d.synthetic) == 60 and not d.synthetic.duplicated().any() for d in draws)
    direct = [compute("fidelity.ks", real, d.synthetic).value for d in draws]
    assert details["baseline_draws"] == pytest.approx(direct, abs=1e-6)
    per_age = np.quantile([compute("fidelity.ks", real, d.synthetic).per_column["age"] for d in draws], 0.9)
    assert details["baseline_per_column"]["age"] == pytest.approx(per_age)
    # the noise floor follows the synthetic table's size: 60 rows are noisier than the 200-row holdout
    assert result.baseline > compute("fidelity.ks", real, holdout).value


def test_baseline_bootstraps_the_holdout_when_synthetic_is_larger(mixed_frames):
    from qaharness.engine import baseline_inputs
    from qaharness.metrics._base import RunContext

    real, synthetic, holdout = mixed_frames  # 300 synthetic rows, 200 holdout rows
    data = prepare_inputs(real, synthetic, holdout)
    draws = list(baseline_inputs(data, RunContext(seed=0), 10))
    assert all(len(d.synthetic) == 300 for d in draws)
    result = compute("fidelity.ks", real, synthetic, holdout)
    assert result.details["baseline_rows"] == 300
    # a bootstrap draw re-draws the holdout too: its extra noise is taken out (1/300 + 1/300 vs + 1/200)
    scale = np.sqrt((1 / 300 + 1 / 300) / (1 / 300 + 1 / 300 + 1 / 200))
    assert result.details["baseline_scale"] == pytest.approx(scale, abs=1e-6)
    raw = [compute("fidelity.ks", real, d.synthetic).value for d in draws]
    assert result.details["baseline_draws"] == pytest.approx([scale * v for v in raw], abs=1e-6)
    # detection does not bootstrap (a classifier memorises duplicated rows): one draw, the whole holdout
    detection = compute("fidelity.detection", real, synthetic, holdout)
    assert detection.details["baseline_rows"] == 200 and len(detection.details["baseline_draws"]) == 1


def test_js_compares_a_count_column_value_by_value():
    """Few distinct values: 20 quantile bins would merge 0 and 1 (their quantiles coincide)."""
    real = pd.DataFrame({"kids": [0.0] * 60 + [1.0] * 25 + [2.0] * 10 + [3.0] * 5})
    synthetic = pd.DataFrame({"kids": [0.0] * 50 + [1.0] * 40 + [2.0] * 10 + [np.nan] * 0})
    result = compute("fidelity.js", real, synthetic)
    expected = jensenshannon([60, 25, 10, 5], [50, 40, 10, 0], base=2)
    assert result.per_column["kids"] == pytest.approx(expected, abs=1e-6)
    assert result.details["encodings"] == {"kids": "values"}


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.sampled_from([0.0, 1.0, 2.0, 5.0, 7.5, np.nan]), min_size=4, max_size=80),
    st.lists(st.sampled_from([0.0, 1.0, 2.0, 3.0, 7.5, np.nan]), min_size=4, max_size=80),
)
def test_js_per_value_equals_scipy(real_values, synthetic_values):
    real, synthetic = pd.Series(real_values, dtype=float), pd.Series(synthetic_values, dtype=float)
    if real.notna().sum() == 0:
        return  # an all-missing real column is skipped by every distribution metric
    from qaharness.metrics._common import column_codes
    from qaharness.schema import ColumnKind

    codes, n_codes, encoding = column_codes(ColumnKind.NUMERIC, real, synthetic)
    assert encoding == "values"
    p = real.value_counts(dropna=False)
    q = synthetic.value_counts(dropna=False)
    index = p.index.union(q.index)
    expected = jensenshannon(p.reindex(index, fill_value=0), q.reindex(index, fill_value=0), base=2)
    p_codes, q_codes = (np.bincount(c, minlength=n_codes) for c in codes)
    assert js_distance(p_codes, q_codes) == pytest.approx(expected, abs=1e-6)


def test_js_bins_a_column_with_many_values(mixed_frames):
    real, synthetic, _ = mixed_frames
    result = compute("fidelity.js", real, synthetic)
    assert result.details["encodings"]["income"] == "quantile_bins"
    assert result.details["encodings"]["group"] == "categories"


def _discrete_frames(n: int, seed: int, dependent: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 3, n)
    b = (a + (rng.random(n) < 0.15)) % 3 if dependent else rng.integers(0, 3, n)
    c = rng.integers(0, 2, n)
    return pd.DataFrame({"a": a.astype(str), "b": b.astype(str), "c": np.where(c == 1, "x", "y")})


def test_detection_sees_broken_dependence_on_low_cardinality_data():
    """Every row has one of 18 combinations: grouping identical rows in one fold blinded the classifier."""
    real, holdout = _discrete_frames(2000, 1, True), _discrete_frames(1000, 3, True)
    broken = _discrete_frames(2000, 2, False)
    result = compute("fidelity.detection", real, broken, holdout)
    assert result.value > 0.75 and result.ci[0] > 0.7, result.details
    assert result.details["exact_twins"] == 0  # repeated combinations are not twins
    assert result.baseline < 0.56


def test_detection_counts_exact_twins_and_judges_the_rest(mixed_frames):
    real, synthetic, _ = mixed_frames
    copy = compute("fidelity.detection", real, real.sample(frac=1, random_state=0))
    assert copy.value == 0.5 and copy.details["exact_twins"] == 300 and copy.details["exact_twin_share"] == 1.0
    # a third copied, the rest with income tripled: the copies neither blind nor dilute the classifier
    mix = pd.concat([real.head(100), synthetic.iloc[100:].assign(income=synthetic.income.iloc[100:] * 3)])
    result = compute("fidelity.detection", real, mix.reset_index(drop=True))
    assert result.details["exact_twins"] == 100 and result.value > 0.9


def test_corr_diff_names_a_column_too_large_for_finite_arithmetic():
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    real = pd.DataFrame({"x": x, "huge": 1e160 * (1 + x + rng.normal(size=200))})
    synthetic = pd.DataFrame({"x": x, "huge": 1e160 * (1 - x)})
    result = compute("fidelity.corr_diff", real, synthetic)
    assert result.status.value == "error" and "'huge'" in result.message and "1e160" not in result.message


def test_wasserstein_names_a_column_whose_distance_overflows():
    real = pd.DataFrame({"x": [-1.7e308, -1.7e308, 1.7e308, 1.7e308]})  # the IQR overflows to inf
    synthetic = pd.DataFrame({"x": [1.7e308, 1.7e308, 1.7e308, 1.0]})
    result = compute("fidelity.wasserstein", real, synthetic)
    assert result.status.value == "error" and "'x'" in result.message


def test_corr_diff_reports_tail_and_pair_count(mixed_frames):
    real, synthetic, holdout = mixed_frames
    result = compute("fidelity.corr_diff", real, synthetic, holdout)
    n = len(result.details["columns"])
    assert result.details["n_pairs"] == n * (n - 1) // 2
    assert 0 <= result.details["p95"] <= result.value
    assert result.details["baseline_rows"] == len(synthetic)


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
    """The matrix-product ρ and η of the ranks equal the one-pair formulas on each column's ranks
    (ranked over its present values), with missing values."""
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
    rx, ry, rz = (_ranks(v) for v in (x, y, z))
    assert matrix[0, 1] == pytest.approx(pearson(rx, ry), abs=1e-9)
    mask = ~np.isnan(x) & ~np.isnan(y)
    assert matrix[0, 1] == pytest.approx(sps.pearsonr(rx[mask], ry[mask])[0], abs=1e-9)
    assert matrix[3, 2] == pytest.approx(correlation_ratio(codes, rz), abs=1e-9)
    assert matrix[3, 1] == pytest.approx(correlation_ratio(codes, ry), abs=1e-9)


def _ranks(values: np.ndarray) -> np.ndarray:
    """Mid-ranks over the present values; NaN stays NaN."""
    out = np.full(values.shape, np.nan)
    present = ~np.isnan(values)
    out[present] = sps.rankdata(values[present])
    return out


def test_cramers_v_matrix_equals_the_pairwise_definition():
    from qaharness.metrics.fidelity_corr_diff import cramers_v_matrix

    rng = np.random.default_rng(0)
    codes = [rng.integers(0, k, 500) for k in (2, 3, 5, 7)]
    codes.append(codes[0] * 2 + rng.integers(0, 2, 500))  # dependent on the first
    codes.append(np.where(rng.random(500) < 0.5, 0, 4))  # levels 1-3 never observed
    codes.append(np.zeros(500, dtype=int))  # constant: V = 0
    matrix = cramers_v_matrix(codes)
    for i in range(len(codes)):
        for j in range(len(codes)):
            if i != j:
                assert matrix[i, j] == pytest.approx(cramers_v(codes[i], codes[j]), abs=1e-9)


@pytest.mark.parametrize("metric_id", ["fidelity.ks", "fidelity.wasserstein"])
def test_exact_numeric_metrics_hold_one_column_pair_at_a_time(metric_id, monkeypatch):
    """The Spark engine reads counts it cannot keep from disk: a metric that held every column's pair
    would hold a whole table's counts (gigabytes at 10M rows) for its duration."""
    import gc
    import weakref

    from qaharness.engine import RunContext
    from qaharness.summaries import PandasSummaries, ValueCounts

    rng = np.random.default_rng(0)
    real = pd.DataFrame({f"x{i}": rng.normal(size=200) for i in range(6)})
    data = prepare_inputs(real, real * 1.1)
    alive: list[weakref.ref] = []
    most = [0]
    counted = PandasSummaries.value_counts

    def fresh(self, column, seat):  # a new object each call, as counts read back from disk are
        gc.collect()
        most[0] = max(most[0], sum(r() is not None for r in alive))
        known = counted(self, column, seat)
        copy = ValueCounts(known.values.copy(), known.counts.copy(), known.missing)
        alive.append(weakref.ref(copy))
        return copy

    monkeypatch.setattr(PandasSummaries, "value_counts", fresh)
    result = get_metric(metric_id)().compute(data, RunContext(seed=0), rng=np.random.default_rng(0))
    assert len(result.per_column) == 6 and len(alive) == 12
    assert most[0] <= 3  # the previous pair, at most, while the next one is read
