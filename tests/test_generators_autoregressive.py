"""The autoregressive generator: tokeniser, sampling filters, any-order masks, native conditions, early stopping.

Plus the baselines' promises (marginals of yes/no columns, TVAE's softmax decoding) and the short FitReport.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import make_mixed_frame

from qaharness.generators import FitReport, make_generator
from qaharness.generators._argn import draw_tokens, filter_logits, known_mask
from qaharness.generators._domain import ColumnDomain, fit_domains
from qaharness.generators._tokens import decode, encode, fit_tokens
from qaharness.generators._torch import seeded
from qaharness.schema import ColumnKind, Schema, coerce_frame

TOKENS = {"rare_threshold": 7, "max_bins": 4, "max_points": 5, "max_categories": 100}


def _domain(series: pd.Series, kind: str) -> ColumnDomain:
    domains, _, _ = fit_domains(series.to_frame("x"), Schema({"x": ColumnKind(kind)}))
    return domains["x"]


def test_categories_seen_at_most_k_times_are_pooled_behind_one_token():
    series = pd.Series(["a"] * 20 + ["b"] * 10 + ["c"] * 7 + [None] * 2, dtype=object)
    tokens = fit_tokens(series, _domain(series, "categorical"), private=False, **TOKENS)
    assert tokens.missing and tokens.rare and tokens.values == ("a", "b")
    assert tokens.rare_token == 1 and tokens.offset == 2 and tokens.size == 4
    assert encode(pd.Series(["a", "b", "c", None, "zzz"], dtype=object), tokens).tolist() == [2, 3, 1, 0, 1]
    assert tokens.counts == (2.0, 7.0, 20.0, 10.0)
    back = decode(np.array([0, 2, 3]), tokens, _domain(series, "categorical"), np.random.default_rng(0))
    assert back.tolist() == [None, "a", "b"]


def test_numeric_spikes_are_exact_tokens_the_rest_quantile_bins_with_clipped_extremes():
    rest = np.arange(1.0, 101.0)  # 100 distinct values, each seen once
    x = pd.Series(np.concatenate([np.zeros(30), np.full(20, 40.0), rest, [1e9], [np.nan]]))
    domain = _domain(x, "numeric")
    tokens = fit_tokens(x, domain, private=False, **TOKENS)
    assert tokens.values == (0.0, 40.0) and tokens.missing and not tokens.rare
    assert len(tokens.bins) == 4
    assert tokens.bins[0][0] == 8.0  # the 8th smallest of the rest: no lone record's value is an edge
    assert tokens.bins[-1][-1] == 94.0  # the lone 1e9 (and the 7 largest) clipped to the 8th largest
    assert encode(pd.Series([0.0, 40.0, np.nan, 3.0, 1e12]), tokens).tolist() == [1, 2, 0, 3, 6]
    rng = np.random.default_rng(0)
    values = decode(np.repeat(np.arange(tokens.size), 500), tokens, domain, rng).to_numpy()
    assert np.isnan(values[:500]).all() and (values[500:1000] == 0).all() and (values[1000:1500] == 40).all()
    for b, table in enumerate(tokens.bins):  # within-bin values stay inside their bin
        inside = values[1500 + 500 * b : 2000 + 500 * b]
        assert inside.min() >= np.floor(table[0]) and inside.max() <= np.ceil(table[-1])  # integral: rounded


def test_under_dp_the_vocabulary_comes_from_the_domain_only():
    x = pd.Series(np.r_[np.zeros(50), np.arange(50.0)])
    domain = ColumnDomain("x", "numeric", "declared_schema", low=0.0, high=100.0)
    tokens = fit_tokens(x, domain, private=True, **TOKENS)
    assert tokens.values == () and [b[0] for b in tokens.bins] == [0.0, 25.0, 50.0, 75.0]
    categories = ColumnDomain("g", "categorical", "declared_schema", categories=("a", "b"))
    assert fit_tokens(pd.Series(["a"] * 3), categories, private=True, **TOKENS).rare  # always a rare token


def test_known_mask_from_ranks():
    mask = known_mask(torch.tensor([[2, 0, 1]]))  # order: column 1, column 2, column 0
    assert mask[0].tolist() == [[False, True, True], [False, False, False], [False, True, False]]


def test_temperature_top_p_and_banned_tokens():
    logits = torch.log(torch.tensor([[0.6, 0.3, 0.1]]))
    assert torch.allclose(filter_logits(logits, temperature=1.0, top_p=1.0), torch.tensor([[0.6, 0.3, 0.1]]))
    assert torch.allclose(filter_logits(logits, temperature=1.0, top_p=0.5), torch.tensor([[1.0, 0.0, 0.0]]))
    assert torch.allclose(filter_logits(logits, temperature=1.0, top_p=0.8), torch.tensor([[2 / 3, 1 / 3, 0.0]]))
    sharp = filter_logits(logits, temperature=0.5, top_p=1.0)
    assert torch.allclose(sharp, torch.tensor([[0.36, 0.09, 0.01]]) / 0.46)
    assert filter_logits(logits, temperature=1.0, top_p=1.0, banned=[0])[0, 0] == 0.0


def test_draw_tokens_follows_the_probabilities_and_never_picks_a_zero():
    probs = torch.tensor([[0.0, 0.25, 0.75, 0.0]]).repeat(20_000, 1)
    picks = draw_tokens(probs, torch.Generator().manual_seed(0))
    counts = torch.bincount(picks, minlength=4).tolist()
    assert counts[0] == 0 and counts[3] == 0 and abs(counts[1] / 20_000 - 0.25) < 0.015


FAST_FIT = {"epochs": 100, "batch_size": 64, "lr": 0.01, "device": "cpu"}  # early stopping ends it in ~10 epochs


@pytest.fixture(scope="module")
def trained():
    """An autoregressive model trained on 600 mixed rows until early stopping (under a second)."""
    real = make_mixed_frame(600, 4)
    generator = make_generator("autoregressive", **FAST_FIT)
    generator.fit(real, seed=0)
    return generator, real


def test_native_conditions_follow_the_learned_dependence(trained):
    generator, real = trained
    median = real["income"].median()  # flag is "yes" exactly when income is above its median
    yes = generator.sample(2000, seed=1, conditions={"flag": "yes"})
    no = generator.sample(2000, seed=1, conditions={"flag": "no"})
    assert (yes["flag"] == "yes").all() and (no["flag"] == "no").all()
    assert (yes["income"] > median).mean() - (no["income"] > median).mean() > 0.3  # real: 1.0
    both = generator.sample(300, seed=2, conditions={"group": "b", "label": ">50K"})
    assert (both["group"] == "b").all() and (both["label"] == ">50K").all()


def test_early_stopping_keeps_the_best_validation_epoch():
    real = make_mixed_frame(400, 5)
    generator = make_generator("autoregressive", epochs=300, batch_size=64, lr=0.05, patience=1, device="cpu")
    report = generator.fit(real, seed=0)
    assert report.stopped == "early_stopping" and report.epochs < 300
    assert report.validation_rows == 40 and report.rows == 360
    assert len(report.validation_losses) == report.epochs
    assert report.best_epoch is not None and report.best_epoch < report.epochs
    best = min(report.validation_losses)
    assert report.validation_losses[report.best_epoch - 1] == best
    tokens = generator._encode(coerce_frame(real, generator.schema_, source="real"))
    valid = generator._split(tokens, seeded(0, 31, "cpu"))[1]
    assert generator.validation_loss(valid, 0) == pytest.approx(best, rel=1e-5)  # the best weights are back


def test_rare_categories_and_lone_extremes_never_come_out():
    real = make_mixed_frame(400, 6)
    real.loc[:2, "group"] = "rare-person"  # 3 rows: below the privacy threshold
    real.loc[3, "income"] = 9e9
    generator = make_generator("autoregressive", epochs=5, device="cpu")
    generator.fit(real, seed=0)
    synthetic = generator.sample(3000, seed=0)
    assert "rare-person" not in set(synthetic["group"])
    assert synthetic["income"].max() < 1e9
    assert "rare-person" not in str(generator._state())  # not stored in the model either


def test_top_p_narrows_the_output(trained):
    generator, _ = trained
    wide = generator.sample(3000, seed=3)
    narrow = make_generator("autoregressive", **FAST_FIT, top_p=0.3)
    narrow.fit(make_mixed_frame(600, 4), seed=0)
    assert narrow.sample(3000, seed=3)["group"].nunique() < wide["group"].nunique()


@pytest.mark.parametrize("gid", ["independent", "gaussian_copula"])
def test_baselines_reproduce_a_skewed_yes_no_marginal(gid):
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"flag": np.where(rng.random(4000) < 0.927, "yes", "no"), "x": rng.normal(size=4000)})
    generator = make_generator(gid)
    generator.fit(real, seed=0)
    synthetic = generator.sample(8000, seed=0)
    assert set(synthetic["flag"]) == {"yes", "no"} and synthetic["flag"].dtype == object
    assert abs((synthetic["flag"] == "yes").mean() - (real["flag"] == "yes").mean()) < 0.015


def test_tvae_draws_categories_from_the_softmax_by_default():
    real = make_mixed_frame(300, 7)
    real["group"] = np.where(np.arange(300) % 10 == 0, "minority", "majority")
    shares = {}
    for mode in ("softmax", "argmax"):
        generator = make_generator("tvae", epochs=3, device="cpu", categorical_sampling=mode)
        generator.fit(real, seed=0)
        shares[mode] = (generator.sample(3000, seed=0)["group"] == "minority").mean()
    assert make_generator("tvae").config.categorical_sampling == "softmax"
    assert shares["softmax"] > 0.03 and shares["softmax"] > shares["argmax"]


def test_fit_report_repr_is_one_short_line():
    report = FitReport(
        generator="tvae", version="1", rows=10, losses=tuple(range(5000)), seconds=1.0, preprocessing="x"
    )
    assert len(repr(report)) < 200 and "\n" not in repr(report)
    assert re.match(r"FitReport\(tvae v1, 10 training rows", repr(report))
