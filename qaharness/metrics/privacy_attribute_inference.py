"""privacy.attribute_inference — can the synthetic data reveal a sensitive value of a training record?"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ..schema import ColumnKind
from ._anonymeter_style import (
    DEFAULT_ATTACKS,
    AttackCounts,
    attack_columns,
    attack_targets,
    guesses_correct,
)
from ._base import Metric, MetricParams, RunContext, register_metric
from ._nn import ENCODING, MixedEncoder, knn, sample_indices

MAX_SECRETS = 10
MAX_SYNTHETIC = 250_000


@register_metric
class AttributeInference(Metric):
    """Attribute-inference risk per sensitive column, the anonymeter method.

    For each secret column (``--sensitive``; default: every distribution column, capped at the first
    10 — details say which were attacked), the attacker knows a target's other columns, finds the
    nearest synthetic row on them and guesses its secret. A category guess must match; a number
    must lie within 5% of the guess (relative to |guess|). Main attack on ``n_attacks`` (default
    2,000) training rows, control on as many holdout rows, baseline = the secret of a random
    synthetic row. Risk = (main − control) / (1 − control), Wilson-propagated 95% CI, clipped to
    [0, 1]. ``value`` is the worst column (its CI is ``ci``); ``per_column`` holds every column's
    risk and details every column's rates and CI. Range [0, 1]; 0 is ideal. Neighbours by blocked
    exact search over ``_nn.ENCODING``. Reference: ``anonymeter.InferenceEvaluator``.
    """

    class Params(MetricParams):
        n_attacks: int = Field(DEFAULT_ATTACKS, ge=1, description="training (and holdout) rows attacked per secret")
        max_secrets: int = Field(MAX_SECRETS, ge=1, description="sensitive columns attacked at most")

    params: Params

    id = "privacy.attribute_inference"
    family = Family.PRIVACY
    goal = Goal.MINIMIZE
    bounds = (0.0, 1.0)
    ideal = 0.0
    ideal_tolerance = 0.05
    requires_holdout = True
    conformance_identical_is_ideal = False
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
        n_attacks = self.params.n_attacks
        columns = data.columns()
        if len(columns) < 2:
            return self.skipped("needs a secret column and at least one other column the attacker knows")
        secrets, note = self._secrets(data)
        encoder = MixedEncoder(data.real, data.schema, columns)
        synthetic_rows = data.synthetic.iloc[sample_indices(len(data.synthetic), MAX_SYNTHETIC, rng)]
        synthetic = encoder.transform(synthetic_rows)
        train, control = attack_targets(data, n_attacks, rng)
        targets = np.vstack([encoder.transform(train), encoder.transform(control)])
        n_main = len(train)
        per_column, per_detail, cis = {}, {}, {}
        for secret in secrets:
            dims = encoder.dims([c for c in columns if c != secret])
            nearest = knn(targets[:, dims], synthetic[:, dims], 1)[1][:, 0]
            regression = data.schema[secret] is ColumnKind.NUMERIC
            truth = np.r_[train[secret].to_numpy(), control[secret].to_numpy()]
            guesses = synthetic_rows[secret].iloc[nearest].reset_index(drop=True)
            hits = guesses_correct(guesses, pd.Series(truth), regression)
            random = synthetic_rows[secret].iloc[rng.integers(0, len(synthetic_rows), n_main)].reset_index(drop=True)
            baseline = guesses_correct(random, train[secret].reset_index(drop=True), regression)
            counts = AttackCounts(
                int(hits[:n_main].sum()), n_main, int(hits[n_main:].sum()), len(control), int(baseline.sum()), n_main
            )
            per_column[secret], cis[secret] = counts.risk()
            per_detail[secret] = {**counts.details(), "regression": regression}
        worst, value = self.worst(per_column)
        return self.result(
            value,
            ci=cis[worst],
            ci_level=0.95,
            per_column=per_column,
            details={
                "worst_column": worst,
                "secrets": note,
                "per_column": per_detail,
                "synthetic_rows_used": len(synthetic_rows),
                "encoding": ENCODING,
            },
        )
