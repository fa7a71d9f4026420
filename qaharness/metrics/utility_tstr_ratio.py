"""utility.tstr_ratio — the share of the real data's skill above chance that the synthetic data keeps."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ._base import Metric, RunContext, register_metric
from ._utility import UtilityError, UtilityParams, get_fit
from ._utility_results import (
    MAX_RATIO_INTERVAL,
    UtilityDetails,
    barely_beats_chance,
    describe,
    dropped_notes,
    n_boot,
    preconditions,
    real_skill,
    warnings_for,
)
from ._utility_scores import HEADLINE, paired_bootstrap, percentile_interval

BAR = 0.9


@register_metric
class TstrRatio(Metric):
    """Skill above chance of the synthetic-trained model over that of the real-trained one, both on the holdout:
    (TSTR − chance) / (TRTR − chance).

    Chance is what a model with no skill scores: ROC-AUC 0.5, the macro-F1 of always predicting the
    real majority class, R² 0. The real model learns from as many real rows as synthetic has
    (``utility.trtr``). 1 means the synthetic data is as useful as the real data for this task (the
    usual bar is ≥ 0.9); above 1 is possible by chance; 0 is no skill at all, and below 0 worse than
    chance. Range: unbounded (typically [0, ~1.1]); higher is better. 95% CI from a paired bootstrap of
    the holdout rows (both models and chance scored on the same resample). The ratio cannot be
    judged — ``skipped`` with ``details.insufficient_evidence`` — when the real model's excess over
    chance is too uncertain to separate no skill from the bar (its interval reaches below 0.6 of it;
    chance itself is the extreme case; ``_utility_results.SKILL_PRECISION``), or when the ratio's
    interval is wider than 1 (it cannot tell keeping all of the skill from keeping none). Identical
    inputs give exactly 1.
    """

    class Details(UtilityDetails):
        trtr: float = Field(description="headline of the real-trained model on the holdout")
        tstr: float = Field(description="headline of the synthetic-trained model on the holdout")
        n_boot: int = Field(ge=0, description="paired bootstrap resamples")
        bar: float = Field(description="the usual bar for the ratio")

    Params = UtilityParams
    params: UtilityParams

    id = "utility.tstr_ratio"
    family = Family.UTILITY
    goal = Goal.MAXIMIZE
    bounds = (None, None)
    ideal = 1.0
    ideal_tolerance = 1e-9
    conformance_defect = "shuffled_target"
    requires_holdout = True
    requires_target = True
    description = "The share of the real data's predictive skill (above chance) the synthetic data keeps (1 = all)."

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        skip = preconditions(self, data)
        if skip is not None:
            return skip
        try:
            fit = get_fit(data, self.params, ctx)
            fit.check_testable("holdout")
            real, synthetic = fit.headline_score("real", "holdout"), fit.headline_score("synthetic", "holdout")
            chance = fit.chance_score("holdout")
            skill = real_skill(fit)
            details = describe(fit)
        except UtilityError as exc:
            return self.error(str(exc))
        trtr, tstr, floor = real(None), synthetic(None), chance(None)
        if not (np.isfinite(trtr) and np.isfinite(tstr)):
            return self.error(f"{HEADLINE[fit.task]} is undefined on the holdout rows")
        if skill.barely_beats_chance:
            return barely_beats_chance(self, skill)
        boots = n_boot(self)
        ci = None
        if boots:
            draws = paired_bootstrap(
                {"real": real, "synthetic": synthetic, "chance": chance}, fit.y["holdout"].size, rng, n_boot=boots
            )
            excess = draws["real"] - draws["chance"]
            with np.errstate(divide="ignore", invalid="ignore"):
                ratios = np.where(excess > 0, (draws["synthetic"] - draws["chance"]) / excess, np.nan)
            ci = percentile_interval(ratios)
        if ci is not None and ci[1] - ci[0] > MAX_RATIO_INTERVAL:
            return self.skipped(
                f"the skill ratio's interval ({ci[0]:.3g} to {ci[1]:.3g}) cannot tell keeping all of the real "
                "model's skill from keeping none; utility cannot be judged at this size",
                details={**skill.details(), "tstr": tstr, "ratio_ci": list(ci)},
            )
        return self.result(
            (tstr - floor) / (trtr - floor),
            ci=ci,
            ci_level=0.95 if ci else None,
            details={**details, "trtr": trtr, "tstr": tstr, "n_boot": boots, "bar": BAR},
            message="; ".join(warnings_for(fit, synthetic=True)),
            notes=dropped_notes(fit),
        )
