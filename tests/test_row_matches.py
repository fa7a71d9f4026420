"""Row-match summaries (``summaries.RowMatches``): privacy.exact_match and privacy.holdout_overlap
computed from them equal the formulas over whole hash arrays they replaced, on random tables with
duplicate rows, ties between training and holdout, and missing values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qaharness.engine import run_metrics
from qaharness.inputs import prepare_inputs
from qaharness.metrics._privacy_stats import clustered_share, normal_difference
from qaharness.metrics._rows import duplicate_share, matched_share
from qaharness.stats import Z95
from qaharness.summaries import PandasSummaries, RowMatches, row_hashes


# -- the hash-array formulas as they were before the summaries (the reference) ------------------
def _old_duplicate_share(hashes):
    _, inverse, counts = np.unique(hashes, return_inverse=True, return_counts=True)
    return clustered_share(counts[inverse] >= 2, hashes)


def _old_matched_share(queries, reference):
    return clustered_share(np.isin(queries, reference), queries)


def _old_leave_one_out(queries, train):
    observed, var_observed = _old_matched_share(queries, train)
    chance, var_chance = _old_duplicate_share(train)
    value, ci = normal_difference(observed, var_observed, chance, var_chance)
    return value, ci, {"matched_share": observed, "chance_share": chance}


def _old_pooled(synthetic, train, holdout):
    t, h, n = train.size, holdout.size, synthetic.size
    null = t / (t + h)
    values, multiplicity = np.unique(synthetic, return_counts=True)
    a = np.array([(train == v).sum() for v in values])
    b = np.array([(holdout == v).sum() for v in values])
    matched = (a + b) > 0
    m, k = multiplicity[matched].astype(float), (a + b)[matched].astype(float)
    variance = null * (1 - null) * (t + h - k) / (k * max(t + h - 1, 1))
    excess = float((m * (a[matched] / k - null)).sum())
    half = Z95 * float(np.sqrt((m**2 * variance).sum()))

    def scaled(x):
        return max(-1.0, x / (n * (1 - null)))

    info = {"matched_rows": int(m.sum()), "training_only_rows": int(multiplicity[matched & (b == 0)].sum())}
    return scaled(excess), (max(-1.0, scaled(excess - half)), min(1.0, scaled(excess + half))), info


def _old_exact_match(synthetic, real, holdout):
    copies = int(np.isin(synthetic, real).sum())
    details = {
        "synthetic_rows": int(synthetic.size),
        "copies_of_training_rows": copies,
        "share_identical_to_training": copies / synthetic.size,
        "chance_share": _old_duplicate_share(real)[0],
        "synthetic_duplicate_rate": 1.0 - np.unique(synthetic).size / synthetic.size,
        "real_duplicate_rate": 1.0 - np.unique(real).size / real.size,
    }
    if holdout is None:
        value, ci, _ = _old_leave_one_out(synthetic, real)
        return value, ci, None, details
    value, ci, info = _old_pooled(synthetic, real, holdout)
    details.update(
        holdout_rows=int(holdout.size),
        share_identical_to_holdout=_old_matched_share(synthetic, holdout)[0],
        holdout_share_identical_to_training=_old_matched_share(holdout, real)[0],
        **info,
    )
    return value, ci, _old_leave_one_out(holdout, real)[0], details


# -- random tables --------------------------------------------------------------------------------
def _draw(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Few distinct rows (many duplicates), with missing values in every column, and a unique id."""
    return pd.DataFrame(
        {
            "id": rng.permutation(10**6)[:n],
            "colour": rng.choice(np.array(["red", "blue", None], dtype=object), n, p=[0.5, 0.3, 0.2]),
            "size": rng.choice([1.0, 2.0, 3.0, np.nan], n),
            "flag": rng.choice(np.array(["yes", "no", None], dtype=object), n, p=[0.6, 0.3, 0.1]),
            "score": np.where(rng.random(n) < 0.5, rng.integers(0, 4, n).astype(float), rng.normal(size=n)),
        }
    )


def _tables(seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    t, h, s = (int(x) for x in rng.integers([40, 10, 20], [400, 200, 300]))
    real, holdout, synthetic = _draw(rng, t), _draw(rng, h), _draw(rng, s)
    copied = rng.choice(t, size=min(s // 4, t), replace=False)  # some synthetic rows copy training rows
    synthetic.iloc[: copied.size, 1:] = real.iloc[copied, 1:].to_numpy()
    leaked = rng.choice(h, size=min(s // 10, h), replace=False)  # and a few copy holdout rows
    synthetic.iloc[copied.size : copied.size + leaked.size, 1:] = holdout.iloc[leaked, 1:].to_numpy()
    return real, synthetic, holdout


SCHEMA = {"id": "identifier", "colour": "categorical", "size": "numeric", "flag": "categorical", "score": "numeric"}


def _close(new, old) -> None:
    assert type(new) is type(old) or isinstance(new, float), (new, old)
    if isinstance(old, float):
        assert new == pytest.approx(old, rel=1e-12, abs=1e-15)
    else:
        assert new == old


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("with_holdout", [True, False])
def test_exact_match_from_summaries_equals_the_hash_array_formulas(seed, with_holdout):
    real, synthetic, holdout = _tables(seed)
    data = prepare_inputs(real, synthetic, holdout if with_holdout else None, schema=SCHEMA)
    columns = ["colour", "size", "flag", "score"]
    hashes = {n: row_hashes(f, columns) for n, f in (("real", data.real), ("synthetic", data.synthetic))}
    held = row_hashes(data.holdout, columns) if with_holdout else None
    value, ci, baseline, details = _old_exact_match(hashes["synthetic"], hashes["real"], held)
    assert details["copies_of_training_rows"] > 0 and details["real_duplicate_rate"] > 0  # the cases bite
    if with_holdout:
        assert details["matched_rows"] > details["training_only_rows"]  # rows matching both sides: ties
    ids = ["privacy.exact_match", "privacy.holdout_overlap"] if with_holdout else ["privacy.exact_match"]
    results, _ = run_metrics(data, ids, seed=0)
    exact = results[0]
    assert exact.status == "ok" and exact.details["columns"] == columns
    _close(exact.value, value)
    _close(exact.ci[0], ci[0]), _close(exact.ci[1], ci[1])
    assert (exact.baseline is None) == (baseline is None)
    if baseline is not None:
        _close(exact.baseline, baseline)
    for key, expected in details.items():
        _close(exact.details[key], expected)
    if with_holdout:
        overlap = results[1]
        loo_value, loo_ci, info = _old_leave_one_out(held, hashes["real"])
        _close(overlap.value, loo_value)
        _close(overlap.ci[0], loo_ci[0]), _close(overlap.ci[1], loo_ci[1])
        assert overlap.details["holdout_rows_in_training"] == int(np.isin(held, hashes["real"]).sum())
        for key in ("matched_share", "chance_share"):
            _close(overlap.details[key], info[key])


def test_row_matches_known_answer():
    """Query keys 1 1 2 3 3 3 4 against references [1 2 2 9] and [3 5]."""
    matches = RowMatches.of(np.array([3, 1, 2, 3, 4, 3, 1]), np.array([1, 2, 2, 9]), np.array([3, 5]))
    # profiles (multiplicity, count in each reference) → distinct query rows: 4 → (1, 0, 0),
    # 2 → (1, 2, 0), 1 → (2, 1, 0), 3 → (3, 0, 1)
    assert matches.multiplicity.tolist() == [1, 1, 2, 3]
    assert matches.reference_counts.tolist() == [[0, 2, 1, 0], [0, 0, 0, 1]]
    assert matches.rows.tolist() == [1, 1, 1, 1]
    assert (matches.n_rows, matches.distinct) == (7, 4)
    assert (matches.matched_rows(0), matches.matched_rows(1), matches.matched_rows()) == (3, 3, 6)
    groups = RowMatches.of(np.array([5, 5, 6, 7, 7, 7, 8]))  # group sizes 2, 1, 3, 1
    assert groups.multiplicity.tolist() == [1, 2, 3] and groups.rows.tolist() == [2, 1, 1]
    assert groups.reference_counts.shape == (0, 3)
    share, variance = duplicate_share(groups)
    assert share == pytest.approx(5 / 7)
    assert variance == pytest.approx(
        clustered_share(np.array([1, 1, 0, 1, 1, 1, 0], bool), np.array([5, 5, 6, 7, 7, 7, 8]))[1]
    )
    assert matched_share(matches, 1) == pytest.approx(
        _old_matched_share(np.array([3, 1, 2, 3, 4, 3, 1]), np.array([3, 5]))
    )


def test_pandas_row_matches_follow_a_swapped_synthetic_frame():
    """The summary cache outlives a frame passed to ``with_synthetic``: the profile must follow the frame."""
    real, synthetic, holdout = _tables(0)
    data = prepare_inputs(real, synthetic, holdout, schema=SCHEMA)
    columns = ["colour", "size", "flag", "score"]
    first = data.summaries().row_matches(columns, "synthetic", ("real", "holdout"))
    swapped = data.with_synthetic(data.real).summaries()
    assert isinstance(swapped, PandasSummaries)
    again = swapped.row_matches(columns, "synthetic", ("real",))
    assert again.matched_rows(0) == len(data.real) != first.matched_rows(0)
