"""utility.trts — train on real, test on synthetic: can the real model score the synthetic rows?"""

from __future__ import annotations

import numpy as np

from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ._base import Metric, RunContext, register_metric
from ._utility import UtilityParams
from ._utility_results import EvaluationDetails, evaluation_result


@register_metric
class TrainRealTestSynthetic(Metric):
    """Score of the real-trained XGBoost model on the synthetic rows (TRTS).

    A synthetic table whose target the real model can't predict is implausible (its
    feature–target relation differs from real); a TRTS far above TRTR hints at
    over-simplified synthetic data. Headline, models and CI as ``utility.trtr``.
    The real model is the size-matched one of ``utility.trtr``. Range (−∞, 1]; higher is better.
    No confidence interval by default (the synthetic table can be large; ``n_boot`` > 0 asks for a
    bootstrap one). Conformance: with synthetic = holdout it equals ``utility.trtr`` (the same
    model scored on the same rows).
    """

    Params = UtilityParams
    Details = EvaluationDetails
    params: UtilityParams

    id = "utility.trts"
    family = Family.UTILITY
    goal = Goal.MAXIMIZE
    bounds = (None, 1.0)
    conformance_input = "holdout"
    conformance_equals = "utility.trtr"
    conformance_defect = "shuffled_target"
    requires_holdout = True
    requires_target = True
    description = "How well a model trained on real data predicts the synthetic rows' target."

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        return evaluation_result(self, data, ctx, rng, train="real", test="synthetic", default_boot=0)
