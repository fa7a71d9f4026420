"""utility.tstr — train on synthetic, test on (real) holdout."""

from __future__ import annotations

import numpy as np

from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ._base import Metric, RunContext, register_metric
from ._utility import UtilityParams
from ._utility_results import EvaluationDetails, evaluation_result


@register_metric
class TrainSyntheticTestReal(Metric):
    """Score of an XGBoost model trained on synthetic and scored on the holdout (TSTR).

    Same task, headline score, models and bootstrap CI as ``utility.trtr`` (see there);
    compare the two, or read ``utility.tstr_ratio``. Range (−∞, 1]; higher is better.
    A class missing from the synthetic target is named in ``message``; a synthetic target
    with a single class is ``status: error``. Reference: Esteban et al. 2017.

    Conformance: identical inputs (synthetic = real) give exactly ``utility.trtr``'s value.
    """

    Params = UtilityParams
    Details = EvaluationDetails
    params: UtilityParams

    id = "utility.tstr"
    family = Family.UTILITY
    goal = Goal.MAXIMIZE
    bounds = (None, 1.0)
    conformance_equals = "utility.trtr"
    conformance_defect = "shuffled_target"
    requires_holdout = True
    requires_target = True
    description = "How well a model trained on the synthetic data predicts real holdout rows."

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        return evaluation_result(self, data, ctx, rng, train="synthetic", test="holdout")
