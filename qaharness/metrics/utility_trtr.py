"""utility.trtr — train on real, test on holdout: the baseline the synthetic data is measured against."""

from __future__ import annotations

import numpy as np

from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ._base import Metric, RunContext, register_metric
from ._utility import UtilityParams
from ._utility_results import EvaluationDetails, evaluation_result


@register_metric
class TrainRealTestReal(Metric):
    """Score of an XGBoost model trained on real and scored on the holdout (TRTR).

    The real model learns from a real sample of the synthetic table's size (stratified by
    class; all real rows when synthetic is as large, ``details.train_rows``), so TRTR is what a
    perfect generator of that many rows reaches. The headline is fixed per task and named in
    ``details.score``: ROC-AUC (binary), macro-F1 (multiclass; accuracy beside it), R²
    (regression; MAE beside it); ``details.chance`` is the score of a model with no skill. Range
    (−∞, 1] (AUC and F1 stay in [0, 1]); higher is better. 95% percentile bootstrap CI over the
    holdout rows. ``details.per_model`` adds a linear model (logistic / ridge regression).
    Reference: Esteban et al. 2017 (TSTR/TRTR); SDMetrics' ML-efficacy.

    It is a baseline, not a target: no input makes it 1. Conformance: on identical inputs
    (synthetic = real) it equals ``utility.tstr``, both models learning from the same rows.
    """

    Params = UtilityParams
    Details = EvaluationDetails
    params: UtilityParams

    id = "utility.trtr"
    family = Family.UTILITY
    goal = Goal.MAXIMIZE
    bounds = (None, 1.0)
    conformance_equals = "utility.tstr"
    requires_holdout = True
    requires_target = True
    description = "How well a model trained on the real data predicts the holdout (the baseline)."

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        return evaluation_result(self, data, ctx, rng, train="real", test="holdout")
