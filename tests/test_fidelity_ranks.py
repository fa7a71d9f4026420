"""fidelity.corr_diff on ranks: known answers, the rank map's bound, and the heavy-tail case."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from qaharness.engine import run_metric
from qaharness.inputs import prepare_inputs
from qaharness.metrics import get_metric
from qaharness.metrics.fidelity_corr_diff import association_matrix
from qaharness.ranks import RANK_KNOTS, RankMap
from qaharness.schema import ColumnKind, Schema
from qaharness.stats import distinct_counts
from qaharness.summaries import PandasSummaries

NUMERIC, CATEGORICAL = ColumnKind.NUMERIC, ColumnKind.CATEGORICAL


def matrix_of(frame: pd.DataFrame, kinds: dict[str, ColumnKind], categories: dict[str, list]) -> np.ndarray:
    summaries = PandasSummaries({"real": frame}, Schema(kinds))
    numeric = [c for c in frame.columns if kinds[c] is NUMERIC]
    return association_matrix(list(frame.columns), kinds, summaries.associations("real", numeric, categories))


def exact_mid_ranks(values: np.ndarray) -> np.ndarray:
    return (sps.rankdata(values) - 0.5) / values.size


def test_numeric_pair_is_spearman_with_ties():
    x = np.array([1.0, 2.0, 2.0, 3.0, 5.0, 5.0, 5.0, 8.0, 100_000.0])
    y = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0])
    matrix = matrix_of(pd.DataFrame({"x": x, "y": y}), {"x": NUMERIC, "y": NUMERIC}, {})
    assert matrix[0, 1] == pytest.approx(sps.spearmanr(x, y).statistic, abs=1e-12)
    assert matrix[0, 1] != pytest.approx(sps.pearsonr(x, y).statistic, abs=1e-3)  # the outlier would drive Pearson


def test_mixed_pair_is_eta_of_the_ranks_by_hand():
    # mid-ranks of [10, 20, 20, 1000, 30] are [1, 2.5, 2.5, 5, 4]; groups a = [1, 2.5], b = [2.5, 5, 4]
    # between = 2 (1.75 − 3)² + 3 (23/6 − 3)² = 125/24, total = 4 + 0.25 + 0.25 + 4 + 1 = 19/2
    frame = pd.DataFrame({"g": ["a", "a", "b", "b", "b"], "v": [10.0, 20.0, 20.0, 1000.0, 30.0]})
    matrix = matrix_of(frame, {"g": CATEGORICAL, "v": NUMERIC}, {"g": ["a", "b"]})
    assert matrix[0, 1] == pytest.approx(np.sqrt(125 / 24 / (19 / 2)), abs=1e-12)
    h = sps.kruskal([10.0, 20.0], [20.0, 1000.0, 30.0]).statistic  # tie-corrected H = (n − 1) η²
    assert matrix[0, 1] == pytest.approx(np.sqrt(h / 4), abs=1e-12)


def test_missing_values_stay_missing_and_rows_are_pairwise_complete():
    x = np.array([1.0, np.nan, 3.0, 4.0, 2.0, 6.0])
    y = np.array([2.0, 5.0, np.nan, 3.0, 1.0, 7.0])
    matrix = matrix_of(pd.DataFrame({"x": x, "y": y}), {"x": NUMERIC, "y": NUMERIC}, {})
    rx, ry = (
        RankMap.of(*distinct_counts(x[~np.isnan(x)])).apply(x),
        RankMap.of(*distinct_counts(y[~np.isnan(y)])).apply(y),
    )
    assert np.isnan(rx[1]) and np.isnan(ry[2])
    both = ~np.isnan(x) & ~np.isnan(y)
    assert matrix[0, 1] == pytest.approx(np.corrcoef(rx[both], ry[both])[0, 1], abs=1e-12)


def test_rank_map_is_exact_up_to_k_distinct_values():
    rng = np.random.default_rng(0)
    values = rng.integers(0, 500, 3_000).astype(float) ** 3
    ranks = RankMap.of(*distinct_counts(values)).apply(values)
    np.testing.assert_allclose(ranks, exact_mid_ranks(values), rtol=0, atol=1e-12)


@pytest.mark.parametrize("k", [16, RANK_KNOTS])
def test_rank_map_beyond_k_is_exact_at_knots_and_within_its_bound(k):
    rng = np.random.default_rng(1)
    values = np.concatenate([rng.lognormal(0, 2, 4 * RANK_KNOTS), np.zeros(3_000), np.full(40, 99_999.0)])
    distinct, counts = distinct_counts(values)
    assert distinct.size > k
    rank_map = RankMap.of(distinct, counts, k)
    ranks, exact = rank_map.apply(values), exact_mid_ranks(values)
    at_knot = np.isin(values, rank_map.knots)
    np.testing.assert_allclose(ranks[at_knot], exact[at_knot], rtol=0, atol=1e-12)
    assert np.abs(ranks - exact).max() < 1 / k
    heavy = distinct[counts > values.size / k]
    assert np.isin(heavy, rank_map.knots).all()  # every atom heavier than n/K keeps its exact mid-rank
    assert rank_map.knots.size <= k + 1 and ranks.min() > 0 and ranks.max() < 1


# -- heavy tails: a few extreme values drove the old (raw-value) association --------------------------
def population(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Zero-inflated ``gain`` (0 in ≈ 92 % of rows) whose rare 99,999s occur in group c only."""
    group = rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2])
    nonzero = rng.random(n) < np.select([group == "a", group == "b"], [0.04, 0.10], 0.16)
    gain = np.where(nonzero, np.round(rng.lognormal(8, 0.8, n)), 0.0)
    gain[nonzero & (group == "c") & (rng.random(n) < 0.25)] = 99_999.0
    hours = np.round(40 + 8 * (gain > 0) + rng.normal(0, 6, n))
    age = np.round(30 + 5 * (group == "c") + 0.0002 * gain.clip(0, 20_000) + rng.normal(0, 8, n))
    return pd.DataFrame({"group": group, "gain": gain, "hours": hours, "age": age})


@pytest.fixture(scope="module")
def heavy_tailed():
    """2,000 real : 500 holdout : 2,000 honest synthetic rows, the real and holdout rows holding few of
    the 99,999s (4 and 1) and the synthetic rows as many as the population gives (≈ 15)."""
    rng = np.random.default_rng(1)
    pop = population(20_000, rng)
    extreme = pop.gain == 99_999
    real = pd.concat([pop[extreme].head(4), pop[~extreme].head(1_996)]).sample(frac=1, random_state=1)
    holdout = pd.concat([pop[extreme].iloc[4:5], pop[~extreme].iloc[1_996:2_495]])
    synthetic = pop.iloc[5_000:7_000]
    return real.reset_index(drop=True), synthetic.reset_index(drop=True), holdout.reset_index(drop=True)


class RawValues:
    """The old association: Pearson and η of the values themselves (both invariant to standardising)."""

    def apply(self, values: np.ndarray) -> np.ndarray:
        return np.asarray(values, dtype=float)


def dependence(real, synthetic, holdout) -> tuple[bool, float, float, list[str]]:
    result = run_metric(get_metric("fidelity.corr_diff")(), prepare_inputs(real, synthetic, holdout), seed=0)
    assert result.ok and result.baseline is not None
    worst = result.details["worst_pairs"][0]["columns"]
    return result.value <= 2 * result.baseline, result.value, result.baseline, worst


def test_heavy_tail_fails_honest_data_on_values_but_not_on_ranks(heavy_tailed, monkeypatch):
    real, synthetic, holdout = heavy_tailed
    passed, value, baseline, worst = dependence(real, synthetic, holdout)
    assert passed, (value, baseline, worst)
    with monkeypatch.context() as patch:
        patch.setattr(PandasSummaries, "rank_map", lambda self, column, seat: RawValues())
        raw_passed, raw_value, raw_baseline, raw_worst = dependence(real, synthetic, holdout)
    assert not raw_passed and sorted(raw_worst) == ["gain", "group"], (raw_value, raw_baseline)


def test_broken_dependence_still_fails_on_ranks(heavy_tailed):
    real, synthetic, holdout = heavy_tailed
    rng = np.random.default_rng(2)
    independent = synthetic.apply(lambda column: rng.permutation(column.to_numpy()))
    assert not dependence(real, independent, holdout)[0]
    collapsed = synthetic.assign(gain=0.0)  # one column collapsed onto its mode
    assert not dependence(real, collapsed, holdout)[0]
