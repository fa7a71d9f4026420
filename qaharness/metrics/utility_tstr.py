"""utility.tstr — train on synthetic, test on (real) holdout."""

from __future__ import annotations

import numpy as np

from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ._base import Metric, RunContext, register_metric
from ._utility import UtilityParams, evaluation_result


@register_metric
class TrainSyntheticTestReal(Metric):
    """Score of an XGBoost model trained on synthetic and scored on the holdout (TSTR).

    Same task, headline score, models and bootstrap CI as ``utility.trtr`` (see there);
    compare the two, or read ``utility.tstr_ratio``. Range (−∞, 1]; higher is better.
    A class missing from the synthetic target is named in ``message``; a synthetic target
    with a single class is ``status: error``. Reference: Esteban et al. 2017.

    Identical inputs give tstr = trtr, not 1, so the conformance suite's ideal-value check
    does not apply.
    """

    Params = UtilityParams
    params: UtilityParams

    id = "utility.tstr"
    family = Family.UTILITY
    goal = Goal.MAXIMIZE
    bounds = (None, 1.0)
    conformance_identical_is_ideal = False
    identical_inputs_note = "with synthetic = real, tstr equals trtr (the real model's score), not a fixed ideal"
    requires_holdout = True
    requires_target = True
    description = "How well a model trained on the synthetic data predicts real holdout rows."

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        return evaluation_result(self, data, ctx, rng, train="synthetic", test="holdout")
