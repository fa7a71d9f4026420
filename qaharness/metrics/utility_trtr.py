"""utility.trtr — train on real, test on holdout: the baseline the synthetic data is measured against."""

from __future__ import annotations

import numpy as np

from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ._base import Metric, RunContext, register_metric
from ._utility import UtilityParams, evaluation_result


@register_metric
class TrainRealTestReal(Metric):
    """Score of an XGBoost model trained on real and scored on the holdout (TRTR).

    The headline is fixed per task and named in ``details.score``: ROC-AUC (binary),
    macro-F1 (multiclass; accuracy beside it), R² (regression; MAE beside it). Range
    (−∞, 1] (AUC and F1 stay in [0, 1]); higher is better. 95% percentile bootstrap CI
    over the holdout rows. ``details.per_model`` adds a linear model (logistic / ridge
    regression). Reference: Esteban et al. 2017 (TSTR/TRTR); SDMetrics' ML-efficacy.

    It is a baseline, not a target: no input makes it 1, and identical inputs (synthetic =
    real) don't change it, so the conformance suite's ideal-value check does not apply.
    """

    Params = UtilityParams
    params: UtilityParams

    id = "utility.trtr"
    family = Family.UTILITY
    goal = Goal.MAXIMIZE
    bounds = (None, 1.0)
    conformance_identical_is_ideal = False
    identical_inputs_note = "trtr never reads the synthetic table: it is the baseline, with no ideal value"
    requires_holdout = True
    requires_target = True
    description = "How well a model trained on the real data predicts the holdout (the baseline)."

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        return evaluation_result(self, data, ctx, rng, train="real", test="holdout")
