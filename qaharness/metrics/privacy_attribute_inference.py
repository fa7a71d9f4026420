"""privacy.attribute_inference — can the synthetic data reveal a sensitive value of a training record?"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import ConfigDict, Field
from scipy import stats as _sps

from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ..schema import ColumnKind
from ._anonymeter_style import (
    DEFAULT_ATTACKS,
    AttackCounts,
    AttackDetails,
    attack_columns,
    attack_targets,
    clip_risk,
    guesses_correct,
)
from ._base import Metric, MetricDetails, MetricParams, RunContext, register_metric
from ._neighbours import MAX_SYNTHETIC, real_encoding, synthetic_encoding
from ._nn import ENCODING, knn

MAX_SECRETS = 10


class SecretDetails(AttackDetails):
    """One secret column's attack (anonymeter's rates and risk) and its simultaneous interval."""

    regression: bool = Field(description="numeric secret: a guess within 5% of |guess| counts")
    risk_unclipped: float = Field(description="(main − control) / (1 − control) before clipping")
    simultaneous_ci: tuple[float, float] = Field(
        description="the risk's interval at the Bonferroni level over all attacked columns, clipped to [0, 1]"
    )


@register_metric
class AttributeInference(Metric):
    """Attribute-inference risk per sensitive column, the anonymeter method; the headline is the
    column with the strongest evidence of risk.

    For each secret column (``--sensitive``; default: every distribution column, capped at the first
    10 — details say which were attacked), the attacker knows a target's other columns, finds the
    nearest synthetic row on them and guesses its secret. A category guess must match; a number
    must lie within 5% of the guess (relative to |guess|). Main attack on ``n_attacks`` (default
    2,000) training rows, control on as many holdout rows, baseline = the secret of a random
    synthetic row. Per column: risk = (main − control) / (1 − control), clipped to [0, 1]
    (``per_column``), with the Wilson-propagated error. Headline: not the largest of the per-column
    risks — a maximum over noisy estimates is biased up, most where guessing is easy (the error is
    divided by 1 − control) — but the column whose *lower* simultaneous bound is highest (the
    strongest evidence of risk, ``details.selected_column``); ``ci`` is its interval at the
    Bonferroni level 1 − 0.05 / J over the J attacked columns, so the interval holds whichever
    column is chosen. With one secret it is that column's plain 95% interval. Range [0, 1]; 0 is
    ideal. Neighbours by blocked exact search over ``_nn.ENCODING``. Reference:
    ``anonymeter.InferenceEvaluator``.
    """

    class Params(MetricParams):
        n_attacks: int = Field(DEFAULT_ATTACKS, ge=1, description="training (and holdout) rows attacked per secret")
        max_secrets: int = Field(MAX_SECRETS, ge=1, description="sensitive columns attacked at most")

    class Details(MetricDetails):
        model_config = ConfigDict(frozen=True, extra="forbid")
        selected_column: str = Field(description="the column with the highest lower simultaneous bound")
        selection: str = Field(description="how the headline column was chosen")
        largest_point_risk: float = Field(ge=0, le=1, description="the largest per-column risk (biased up)")
        largest_point_column: str = Field(description="the column with the largest per-column risk")
        simultaneous_level: float = Field(gt=0, le=1, description="confidence level of each simultaneous interval")
        secrets: str = Field(description="which columns were attacked and why")
        per_column: dict[str, SecretDetails] = Field(description="every attacked column's rates and risk")
        synthetic_rows_used: int = Field(ge=1, description="synthetic rows searched")
        encoding: str = Field(ENCODING, description="how rows are turned into vectors for distances")

    params: Params

    id = "privacy.attribute_inference"
    family = Family.PRIVACY
    goal = Goal.MINIMIZE
    bounds = (0.0, 1.0)
    ideal = 0.0
    ideal_tolerance = 0.05
    requires_holdout = True
    conformance_identical_is_ideal = False
    #: the conformance suite's ideal input: synthetic = fresh real rows of the same population
    #: (honest data; synthetic = real is a full copy, the worst case)
    conformance_input = "honest"
    conformance_defect = "copy"
    description = "Excess share of training records whose sensitive value the synthetic data lets an attacker guess."

    def _secrets(self, data: EvalInput) -> tuple[list[str], str]:
        if data.sensitive:
            return attack_columns(data, list(data.sensitive), option="--sensitive"), "from --sensitive"
        columns = data.columns()
        cap = self.params.max_secrets
        note = (
            f"every distribution column ({len(columns)})"
            if len(columns) <= cap
            else f"the first {cap} of {len(columns)} distribution columns (cap; pass --sensitive to choose)"
        )
        return columns[:cap], note

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        columns = data.columns()
        if len(columns) < 2:
            return self.skipped("needs a secret column and at least one other column the attacker knows")
        assert data.holdout is not None
        secrets, note = self._secrets(data)
        real = real_encoding(data, ctx)
        assert real.holdout is not None
        rows, synthetic = synthetic_encoding(data, ctx, MAX_SYNTHETIC)
        synthetic_rows = data.synthetic.iloc[rows]
        train_rows, control_rows = attack_targets(data, self.params.n_attacks, rng)
        targets = np.vstack([real.train[train_rows], real.holdout[control_rows]])
        train, control = data.real.iloc[train_rows], data.holdout.iloc[control_rows]
        level = 1.0 - 0.05 / len(secrets)
        z = float(_sps.norm.ppf(0.5 + level / 2))
        per_column: dict[str, float] = {}
        per_detail: dict[str, dict] = {}
        for secret in secrets:
            dims = real.encoder.dims([c for c in columns if c != secret])
            nearest = knn(targets[:, dims], synthetic[:, dims], 1)[1][:, 0]
            counts = _attack(secret, data, train, control, synthetic_rows, nearest, rng)
            per_column[secret] = counts.risk()[0]
            per_detail[secret] = _secret_details(counts, z, data.schema[secret] is ColumnKind.NUMERIC)
        selected = max(per_detail, key=lambda c: per_detail[c]["risk_unclipped"] - per_detail[c]["_error"])
        largest = max(per_column, key=lambda c: per_column[c])
        ci = per_detail[selected]["simultaneous_ci"]
        for entry in per_detail.values():
            entry.pop("_error")
        return self.result(
            per_column[selected],
            ci=ci,
            ci_level=level if len(secrets) > 1 else 0.95,
            per_column=per_column,
            details={
                "selected_column": selected,
                "selection": "highest lower bound of the simultaneous interval (strongest evidence of risk)",
                "largest_point_risk": per_column[largest],
                "largest_point_column": largest,
                "simultaneous_level": level,
                "secrets": note,
                "per_column": per_detail,
                "synthetic_rows_used": len(synthetic_rows),
                "encoding": ENCODING,
            },
        )


def _attack(
    secret: str,
    data: EvalInput,
    train: pd.DataFrame,
    control: pd.DataFrame,
    synthetic_rows: pd.DataFrame,
    nearest: np.ndarray,
    rng: np.random.Generator,
) -> AttackCounts:
    """Main, control and random-baseline successes of guessing ``secret`` from the nearest synthetic row."""
    regression = data.schema[secret] is ColumnKind.NUMERIC
    n_main = len(train)
    truth = np.r_[train[secret].to_numpy(), control[secret].to_numpy()]
    guesses = synthetic_rows[secret].iloc[nearest].reset_index(drop=True)
    hits = guesses_correct(guesses, pd.Series(truth), regression)
    random = synthetic_rows[secret].iloc[rng.integers(0, len(synthetic_rows), n_main)].reset_index(drop=True)
    baseline = guesses_correct(random, train[secret].reset_index(drop=True), regression)
    return AttackCounts(
        int(hits[:n_main].sum()), n_main, int(hits[n_main:].sum()), len(control), int(baseline.sum()), n_main
    )


def _secret_details(counts: AttackCounts, z: float, regression: bool) -> dict:
    found = counts.residual(z)
    value, error = found if found is not None else (0.0, 1.0)
    return {
        **counts.details(),
        "regression": regression,
        "risk_unclipped": value,
        "simultaneous_ci": (clip_risk(value - error), clip_risk(value + error)),
        "_error": error,
    }
