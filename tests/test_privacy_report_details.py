"""The privacy details the report plots: DCR histogram and the MIA ROC curve."""

from __future__ import annotations

import pytest
from conftest import make_mixed_frame

from qaharness import evaluate


def test_dcr_histogram_and_mia_roc_are_plot_ready():
    real, synthetic, holdout = make_mixed_frame(300, 1), make_mixed_frame(300, 2), make_mixed_frame(300, 3)
    run = evaluate(real, synthetic, holdout, metrics=["privacy.dcr", "privacy.mia"], seed=0)
    hist = run.metric("privacy.dcr").details["histogram"]
    assert len(hist["edges"]) == len(hist["train"]) + 1 == len(hist["holdout"]) + 1
    assert sum(hist["train"]) == pytest.approx(1.0, abs=1e-4) and sum(hist["holdout"]) == pytest.approx(1.0, abs=1e-4)
    roc = run.metric("privacy.mia").details["roc"]
    assert roc["fpr"][0] == 0.0 and roc["fpr"][-1] == 1.0 and roc["tpr"][-1] == 1.0
    assert len(roc["fpr"]) == len(roc["tpr"]) <= 200
    assert all(a <= b for a, b in zip(roc["fpr"], roc["fpr"][1:]))
