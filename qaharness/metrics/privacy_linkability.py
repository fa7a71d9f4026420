"""privacy.linkability — can the synthetic data link two halves of a training record?"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from ..errors import BadInputError
from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ._anonymeter_style import (
    DEFAULT_ATTACKS,
    AttackCounts,
    AttackDetails,
    attack_columns,
    attack_targets,
    count_links,
)
from ._base import Metric, MetricParams, RunContext, register_metric
from ._neighbours import MAX_SYNTHETIC, real_encoding, synthetic_encoding
from ._nn import ENCODING, knn


def _split(data: EvalInput, aux_cols: tuple[list[str], list[str]] | None) -> tuple[list[str], list[str]]:
    if aux_cols is not None:
        first, second = aux_cols
        first = attack_columns(data, first, option="aux_cols")
        second = attack_columns(data, second, option="aux_cols")
        if not first or not second:
            raise BadInputError("aux_cols needs two non-empty column lists", source="aux_cols")
        return first, second
    columns = data.columns()
    half = (len(columns) + 1) // 2
    return columns[:half], columns[half:]


@register_metric
class Linkability(Metric):
    """Linkability risk, the anonymeter method.

    The attacker holds two datasets that each know some columns of the same people (``aux_cols``;
    default: the first half of the columns and the rest) and links a record's halves when both
    have the same nearest synthetic row (or share one of ``n_neighbors``). Main attack on
    ``n_attacks`` (default 2,000) training rows, control on as many holdout rows, baseline = random
    synthetic rows. Risk = (main − control) / (1 − control) with the Wilson-propagated 95% CI,
    clipped to [0, 1]. Range [0, 1]; 0 is ideal. Neighbours by blocked exact search over
    ``_nn.ENCODING`` (anonymeter: brute-force Gower). Reference: ``anonymeter.LinkabilityEvaluator``.
    """

    class Params(MetricParams):
        n_attacks: int = Field(DEFAULT_ATTACKS, ge=1, description="training (and holdout) rows attacked")
        n_neighbors: int = Field(1, ge=1, description="nearest synthetic rows each half may link through")
        aux_cols: tuple[list[str], list[str]] | None = Field(
            None, description="the two halves of the attacker's knowledge (default: the columns split in two)"
        )

    class Details(AttackDetails):
        aux_cols: tuple[list[str], list[str]] = Field(description="the two halves of the attacker's knowledge")
        n_neighbors: int = Field(ge=1, description="nearest synthetic rows each half may link through")
        synthetic_rows_used: int = Field(ge=1, description="synthetic rows searched")
        encoding: str = Field(ENCODING, description="how rows are turned into vectors for distances")

    params: Params

    id = "privacy.linkability"
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
    description = "Excess share of training records whose two halves the synthetic data links back together."

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        n_attacks = self.params.n_attacks
        n_neighbors = self.params.n_neighbors
        if len(data.columns()) < 2:
            return self.skipped("needs at least two distribution columns to split between two datasets")
        first, second = _split(data, self.params.aux_cols)
        real = real_encoding(data, ctx)
        assert real.holdout is not None
        encoder = real.encoder
        _, synthetic = synthetic_encoding(data, ctx, MAX_SYNTHETIC)
        train, control = attack_targets(data, n_attacks, rng)
        targets = np.vstack([real.train[train], real.holdout[control]])
        neighbours = []
        for columns in (first, second):
            dims = encoder.dims(columns)
            neighbours.append(knn(targets[:, dims], synthetic[:, dims], n_neighbors)[1])
        linked = count_links(*neighbours)
        n_main, n_control = len(train), len(control)
        k = min(n_neighbors, synthetic.shape[0])
        random_links = count_links(
            rng.integers(0, synthetic.shape[0], (n_main, k)), rng.integers(0, synthetic.shape[0], (n_main, k))
        )
        counts = AttackCounts(
            int(linked[:n_main].sum()), n_main, int(linked[n_main:].sum()), n_control, int(random_links.sum()), n_main
        )
        value, ci = counts.risk()
        return self.result(
            value,
            ci=ci,
            ci_level=0.95,
            details={
                **counts.details(),
                "aux_cols": [first, second],
                "n_neighbors": n_neighbors,
                "synthetic_rows_used": int(synthetic.shape[0]),
                "encoding": ENCODING,
            },
        )
