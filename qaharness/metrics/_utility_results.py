"""Results of the utility pillar: typed details, shared result builders, the chance check.

* ``UtilityDetails`` — the details every utility result shares (task, score, models, rows);
  each metric's ``Details`` extends it.
* ``real_skill(fit)`` — does the real model beat chance on the holdout, measurably? The skill
  ratio and the importance agreement are meaningless when it barely does (the interval of its
  excess over chance reaching below 0.6 of it), so those metrics are then ``skipped`` with
  ``details.insufficient_evidence`` (a policy rule reading them is ``insufficient``, not a pass).
  The check resamples with ``model_seed``, so every metric of the run reaches the same answer.
* ``dropped_notes(fit)`` — rows left out for a missing or unknown target, for the run's notes.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import ConfigDict, Field

from qaharness.errors import UtilityError

from ..inputs import EvalInput
from ..results import MetricResult
from ..stats import Z95
from ._base import Metric, MetricDetails, RunContext
from ._utility import LINEAR_MAX_ROWS, SINGLE_THREAD_ROWS, UtilityFit, UtilityParams, get_fit
from ._utility_importance import leakage
from ._utility_scores import HEADLINE, SECONDARY, paired_bootstrap, weighted_bootstrap_ci

__all__ = [
    "UtilityDetails",
    "EvaluationDetails",
    "preconditions",
    "n_boot",
    "describe",
    "warnings_for",
    "dropped_notes",
    "real_skill",
    "RealSkill",
    "barely_beats_chance",
    "evaluation_result",
    "CHANCE_BOOT",
    "SKILL_PRECISION",
    "MAX_RATIO_INTERVAL",
]

#: resamples of the check that the real model beats chance
CHANCE_BOOT = 200
#: the real model's excess over chance e must be measured well enough (the lower end of its 95%
#: interval above SKILL_PRECISION × e) for a skill ratio to separate "no skill kept" (0) from the
#: usual bar (0.9): the ratio of a skill-less synthetic model has standard error ≈ SE(e) / e, and
#: 0.9 / (2 × 1.96) ≥ SE(e) / e means e ≥ 4.4 SE(e), i.e. a lower end ≥ 0.55 e; 0.6 leaves a margin.
#: On the calibration grid a real model at ROC-AUC 0.555 (lower end 0.53-0.55 × e) let a shuffled target
#: pass the bar (benchmarks/calibration_fidelity.py, the weak table)
SKILL_PRECISION = 0.6
#: a skill ratio whose interval is wider than this cannot tell keeping all of the skill (1) from none (0)
MAX_RATIO_INTERVAL = 1.0
BARELY_BEATS_CHANCE = "the real model barely beats chance; utility cannot be judged"


class UtilityDetails(MetricDetails):
    """What every utility result's details hold."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    task: Literal["binary", "multiclass", "regression"]
    score: str = Field(description="the headline score: roc_auc, macro_f1 or r2")
    secondary_scores: list[str] = Field(description="scores reported beside the headline")
    target: str
    features: list[str] = Field(description="feature columns, in model order")
    model: dict[str, Any] = Field(description="the XGBoost model: rounds and parameters")
    linear_model: dict[str, Any] = Field(description="the linear model beside it")
    model_seed: int = Field(ge=0)
    rows: dict[str, int] = Field(description="rows with a usable target per table")
    train_rows: dict[str, int] = Field(
        description="rows each model was trained on: real = a real sample of the synthetic table's size"
    )
    rows_dropped: dict[str, int] = Field(description="rows left out per table (missing or unknown target)")
    leakage: list[dict[str, float | str]] = Field(description="features that alone predict the target")
    chance: float = Field(description="the headline score of a model with no skill on the test rows")
    n_classes: int | None = None
    positive_class: str | None = None


class EvaluationDetails(UtilityDetails):
    """Details of trtr, tstr and trts: one model scored on one table."""

    train: Literal["real", "synthetic"]
    test: Literal["holdout", "synthetic"]
    scores: dict[str, float] = Field(description="every score of the headline (XGBoost) model")
    per_model: dict[str, dict[str, float | str]] = Field(description="every score of every model")
    n_boot: int = Field(ge=0, description="bootstrap resamples of the interval (0: none)")


def preconditions(metric: Metric, data: EvalInput) -> MetricResult | None:
    """``skipped`` when there is no holdout or no target (the engine checks this too)."""
    if data.holdout is None:
        return metric.skipped("needs a holdout (real rows the generator never saw): pass --holdout")
    if data.target is None:
        return metric.skipped("needs a target column: pass --target")
    return None


def n_boot(metric: Metric, default: int = 200) -> int:
    value = getattr(metric.params, "n_boot", None)
    return default if value is None else int(value)


def linear_name(task: str) -> str:
    return "ridge_regression" if task == "regression" else "logistic_regression"


def per_model(fit: UtilityFit, train: str, test: str) -> dict[str, dict[str, Any]]:
    """Every score of every model, so a verdict doesn't hinge on one learner."""
    out: dict[str, dict[str, Any]] = {"xgboost": fit.scores(train, test)}
    try:
        out[linear_name(fit.task)] = fit.scores(train, test, "linear")
    except (UtilityError, ValueError) as exc:
        out[linear_name(fit.task)] = {"error": str(exc).splitlines()[0]}
    return out


def describe(fit: UtilityFit, test: str = "holdout") -> dict[str, Any]:
    """Details every utility result shares: the task, the score, the models, the rows."""
    details: dict[str, Any] = {
        "task": fit.task,
        "score": HEADLINE[fit.task],
        "secondary_scores": list(SECONDARY[fit.task]),
        "target": fit.target,
        "features": list(fit.encoder.features),
        "model": {
            "name": "xgboost",
            "num_boost_round": fit.rounds,
            **fit.xgb_params(),
            "nthread": fit.n_jobs,
            "single_thread_below_rows": SINGLE_THREAD_ROWS,
        },
        "linear_model": {"name": linear_name(fit.task), "max_train_rows": LINEAR_MAX_ROWS},
        "model_seed": fit.model_seed,
        "rows": {k: int(v.size) for k, v in fit.y.items()},
        "train_rows": {side: fit.n_train(side) for side in ("real", "synthetic")},
        "rows_dropped": fit.rows_dropped,
        "leakage": leakage(fit),
        "chance": float(fit.chance_score(test)(None)),
    }
    if fit.classes:
        details["n_classes"] = fit.k
        if fit.task == "binary":
            details["positive_class"] = fit.label(1)
    return details


def warnings_for(fit: UtilityFit, *, synthetic: bool) -> list[str]:
    """Plain-language warnings: suspected leakage; classes the synthetic target lacks."""
    out = []
    for item in leakage(fit):
        score = next(v for k, v in item.items() if k != "column")
        out.append(
            f"leakage suspected: feature {item['column']!r} alone predicts the target almost perfectly "
            f"(score {score} real → holdout); keep post-outcome columns out of the features"
        )
    missing = fit.missing_classes("synthetic") if synthetic else []
    if missing:
        out.append(f"class(es) missing from the synthetic target: {', '.join(repr(m) for m in missing)}")
    return out


def dropped_notes(fit: UtilityFit) -> list[str]:
    """One note per table whose rows were left out of the utility models (no values shown)."""
    notes = []
    for side in ("real", "synthetic", "holdout"):
        why = fit.dropped_why[side]
        parts = [f"{why['missing']:,} with a missing target"] if why["missing"] else []
        if why["unknown_class"]:
            parts.append(f"{why['unknown_class']:,} with a target class the real table never has")
        if parts:
            notes.append(
                f"utility: {fit.rows_dropped[side]:,} {side} row(s) of {fit.target!r} left out of model "
                f"training and scoring ({'; '.join(parts)})"
            )
    return notes


class RealSkill:
    """The real model's headline on the holdout against chance, with a bootstrap interval of the excess."""

    def __init__(self, trtr: float, chance: float, excess_ci: tuple[float, float] | None):
        self.trtr, self.chance, self.excess_ci = trtr, chance, excess_ci

    @property
    def barely_beats_chance(self) -> bool:
        """True when the excess over chance is not measured well enough for a ratio over it: its
        interval reaches below ``SKILL_PRECISION`` × the excess (chance itself is the extreme case)."""
        excess = self.trtr - self.chance
        low = self.excess_ci[0] if self.excess_ci else excess
        return not (excess > 0 and low > SKILL_PRECISION * excess)

    def details(self) -> dict[str, Any]:
        return {
            "insufficient_evidence": True,
            "trtr": self.trtr,
            "chance": self.chance,
            "trtr_excess_ci": list(self.excess_ci) if self.excess_ci else None,
        }


def real_skill(fit: UtilityFit) -> RealSkill:
    """Does the (size-matched) real model beat chance on the holdout? Resampled with ``model_seed``."""

    def make() -> RealSkill:
        real, chance = fit.headline_score("real", "holdout"), fit.chance_score("holdout")
        rng = np.random.default_rng([fit.model_seed, 4])
        draws = paired_bootstrap({"real": real, "chance": chance}, fit.y["holdout"].size, rng, n_boot=CHANCE_BOOT)
        excess = draws["real"] - draws["chance"]
        excess = excess[np.isfinite(excess)]
        trtr, floor = float(real(None)), float(chance(None))
        if excess.size < 2:
            return RealSkill(trtr, floor, None)
        # normal interval from the bootstrap's spread: steadier than its 2.5% quantile of 200 draws
        half = Z95 * float(np.std(excess, ddof=1))
        return RealSkill(trtr, floor, (trtr - floor - half, trtr - floor + half))

    return fit._once(("real_skill",), make)


def barely_beats_chance(metric: Metric, skill: RealSkill) -> MetricResult:
    """The ``skipped`` result of a metric that cannot judge because the real model has no skill."""
    interval = (
        f" (interval of the excess {skill.excess_ci[0]:.3g} to {skill.excess_ci[1]:.3g})" if skill.excess_ci else ""
    )
    return metric.skipped(
        f"{BARELY_BEATS_CHANCE}: real → holdout scores {skill.trtr:.3g} against chance {skill.chance:.3g}{interval}",
        details=skill.details(),
    )


def evaluation_result(
    metric: Metric,
    data: EvalInput,
    ctx: RunContext,
    rng: np.random.Generator,
    train: str,
    test: str,
    default_boot: int = 200,
) -> MetricResult:
    """Headline score of the ``train``-side XGBoost model on the ``test`` table, with a
    bootstrap interval over the test rows and every score of both models in details."""
    skip = preconditions(metric, data)
    if skip is not None:
        return skip
    params = metric.params
    assert isinstance(params, UtilityParams)
    try:
        fit = get_fit(data, params, ctx)
        fit.check_testable(test)
        score = fit.headline_score(train, test)
        boots = n_boot(metric, default_boot)
        models = per_model(fit, train, test)
        shared = describe(fit, test)
    except UtilityError as exc:
        return metric.error(str(exc))
    value = score(None)
    if not np.isfinite(value):
        return metric.error(f"{HEADLINE[fit.task]} is undefined on the {test} rows")
    ci = weighted_bootstrap_ci(score, fit.y[test].size, rng, n_boot=boots) if boots else None
    details = {
        **shared,
        "train": train,
        "test": test,
        "scores": models["xgboost"],
        "per_model": models,
        "n_boot": boots,
    }
    involved = "synthetic" in (train, test)
    return metric.result(
        value,
        ci=ci,
        ci_level=0.95 if ci else None,
        details=details,
        message="; ".join(warnings_for(fit, synthetic=involved)),
        notes=dropped_notes(fit),
    )
