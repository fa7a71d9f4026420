"""The holdout baseline's draws above ``ROW_DRAW_MAX`` (``qaharness._draws``, ``engine.baseline_plan``):
per-column marginal draws distributed as a row draw's columns, capped row draws for associations
rescaled root-n, and no change at the sizes the calibration grid measured."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from conftest import make_mixed_frame
from scipy import stats

import qaharness.engine as engine
from qaharness._draws import ROW_DRAW_MAX, DrawnSeat, MarginalDraw, draw_counts, draw_scale
from qaharness.inputs import prepare_inputs
from qaharness.metrics import metric_registry
from qaharness.schema import ColumnKind

METRICS = ["fidelity.ks", "fidelity.coverage", "fidelity.missingness", "fidelity.corr_diff", "fidelity.detection"]


@pytest.mark.parametrize("replace", [True, False])
def test_a_marginal_draw_is_distributed_as_a_row_draws_column(replace):
    """Counts of each value among drawn rows: the multinomial (with replacement) or multivariate
    hypergeometric (without) over the held counts matches drawing rows and counting them."""
    held = np.repeat([0, 1, 2, 3], [5, 1, 3, 11])  # 20 rows, four values
    size = 30 if replace else 12
    rows_rng, counts_rng = np.random.default_rng(1), np.random.default_rng(2)
    by_rows = np.array([np.bincount(rows_rng.choice(held, size, replace=replace), minlength=4) for _ in range(4000)])
    by_counts = np.array([draw_counts(np.bincount(held), size, replace, counts_rng) for _ in range(4000)])
    assert (by_counts.sum(axis=1) == size).all()
    for value in range(4):  # each value's count: the same distribution (two-sample KS on 4,000 draws each)
        assert stats.ks_2samp(by_rows[:, value], by_counts[:, value]).pvalue > 0.01, value
    np.testing.assert_allclose(by_counts.mean(axis=0), size * np.bincount(held) / held.size, rtol=0.05)
    if not replace:
        assert (by_counts <= np.bincount(held)).all()  # never more of a value than the holdout has


@pytest.mark.parametrize("keep_values", [0, 65_536], ids=["drawn-again", "kept"])
def test_a_numeric_draw_not_kept_is_drawn_again_the_same(monkeypatch, keep_values):
    """Above ``KEEP_VALUES`` distinct values a draw's counts are not kept (a run keeps every draw):
    asked again, in any order, they are the same numbers, and so is the missing count."""
    import qaharness._draws as draws

    monkeypatch.setattr(draws, "KEEP_VALUES", keep_values)
    data = prepare_inputs(make_mixed_frame(300, 1), make_mixed_frame(300, 2), make_mixed_frame(200, 3))
    base, schema = data.summaries(), data.schema
    drawn = MarginalDraw(base, "holdout", schema, 300, True, [7, 8])
    column = schema.columns(ColumnKind.NUMERIC)[0]
    missing = drawn.missing_counts("synthetic")[column]
    first, again = drawn.value_counts(column, "synthetic"), drawn.value_counts(column, "synthetic")
    assert (first is again) == (keep_values > 0)
    assert np.array_equal(first.values, again.values) and np.array_equal(first.counts, again.counts)
    assert first.missing == again.missing == missing and first.n + first.missing == 300


def test_marginal_draws_do_not_depend_on_the_order_metrics_ask_in():
    real, synthetic, holdout = make_mixed_frame(300, 1), make_mixed_frame(300, 2), make_mixed_frame(200, 3)
    data = prepare_inputs(real, synthetic, holdout)
    base, schema = data.summaries(), data.schema
    first = MarginalDraw(base, "holdout", schema, 300, True, [1, 2, 3, 4])
    second = MarginalDraw(base, "holdout", schema, 300, True, [1, 2, 3, 4])
    numeric = schema.columns(ColumnKind.NUMERIC, ColumnKind.DATETIME)
    missing = first.missing_counts("synthetic")  # all columns first, then one …
    column = numeric[0]
    a, b = second.value_counts(column, "synthetic"), first.value_counts(column, "synthetic")  # … and the reverse
    assert np.array_equal(a.values, b.values) and np.array_equal(a.counts, b.counts)
    assert missing == second.missing_counts("synthetic") and a.n + a.missing == 300
    whole = MarginalDraw(base, "holdout", schema, 200, False, [5])  # all 200 rows without replacement
    for c in numeric:
        drawn, held = whole.value_counts(c, "synthetic"), base.value_counts(c, "holdout")
        assert np.array_equal(drawn.counts, held.counts) and drawn.missing == held.missing
    view = DrawnSeat(base, first)
    assert view.n_rows("synthetic") == 300 and view.n_rows("real") == 300
    with pytest.raises(NotImplementedError, match="baseline_joint"):
        view.associations("synthetic", numeric, {})
    with pytest.raises(NotImplementedError):
        view.row_matches(list(schema), "synthetic", ("real",))


def test_draw_scale_is_the_bootstrap_scale_at_the_synthetic_size_and_rescales_a_capped_draw():
    assert draw_scale(900, 1000, 300, 1000, True) == pytest.approx(engine.bootstrap_scale(900, 1000, 300), rel=1e-15)
    assert draw_scale(900, 1000, 300, 1000, False) == pytest.approx(1.0)
    # 200 rows drawn without replacement vary as an honest table of 200: scaled to 1,000
    assert draw_scale(900, 1000, 3000, 200, False) == pytest.approx(np.sqrt((1 / 900 + 1 / 1000) / (1 / 900 + 1 / 200)))


def test_above_the_cap_each_metric_gets_its_draws(monkeypatch):
    """1,000 synthetic rows with the cap lowered to 400: per-column metrics read marginal draws,
    corr_diff 400-row draws rescaled root-n, detection row draws of the frames; at the cap, rows."""
    real, synthetic, holdout = make_mixed_frame(1000, 1), make_mixed_frame(1000, 2), make_mixed_frame(1500, 3)
    data = prepare_inputs(real, synthetic, holdout, target="label")
    plans = {m: engine.baseline_plan(metric_registry.get(m)(), data) for m in METRICS}
    assert {m: p.method for m, p in plans.items()} == dict.fromkeys(METRICS, "rows")
    monkeypatch.setattr(engine, "ROW_DRAW_MAX", 400)
    plans = {m: engine.baseline_plan(metric_registry.get(m)(), data) for m in METRICS}
    assert [plans[m].method for m in METRICS] == ["marginals", "marginals", "marginals", "rows_capped", "rows"]
    capped = plans["fidelity.corr_diff"]
    assert capped.rows == 400 and not capped.replace and capped.draws == 5
    assert capped.scale == pytest.approx(draw_scale(1000, 1000, 1500, 400, False))
    results, _ = engine.run_metrics(data, METRICS, seed=0)
    by_id = {r.id: r for r in results}
    assert all(r.baseline is not None for r in results), [(r.id, r.message) for r in results]
    assert by_id["fidelity.corr_diff"].details["baseline_rows"] == 400
    assert by_id["fidelity.ks"].details["baseline_method"] == "marginals"
    assert by_id["fidelity.detection"].details["baseline_rows"] == 1000  # the frames' row draws, as below the cap


def test_below_the_cap_the_draws_are_the_row_draws_the_calibration_measured():
    """The calibration sizes keep their baselines: the draws are holdout rows at positions of its canonical order."""
    assert ROW_DRAW_MAX >= 40_000
    real, synthetic, holdout = make_mixed_frame(300, 1), make_mixed_frame(300, 2), make_mixed_frame(200, 3)
    data = prepare_inputs(real, synthetic, holdout)
    result, _ = engine.run_metrics(data, ["fidelity.ks"], seed=0)
    rng = np.random.default_rng([0, zlib.crc32(b"baseline-sample"), 0])
    rows = np.sort(rng.choice(200, 300, replace=True))
    drawn = data.holdout.iloc[data.summaries().canonical_order("holdout")[rows]].reset_index(drop=True)
    direct = engine.run_metrics(prepare_inputs(real, drawn), ["fidelity.ks"], seed=0)[0][0].value
    details = result[0].details
    assert details["baseline_method"] == "rows"
    assert details["baseline_draws"][0] == pytest.approx(direct * details["baseline_scale"], abs=1e-6)
