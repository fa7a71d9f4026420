"""privacy.singling_out — can the synthetic data be used to single out individual training records?"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ._anonymeter_style import DEFAULT_ATTACKS, AttackCounts, AttackDetails, attack_columns, dedupe_rows
from ._base import Metric, MetricParams, RunContext, register_metric
from ._singling_out import (
    QueryTable,
    count_matches,
    generate_queries,
    random_queries,
    shared_categories,
    singled_out_at_size,
)


@register_metric
class SinglingOut(Metric):
    """Singling-out risk, the anonymeter method (multivariate mode).

    The attacker builds queries of ``n_cols`` (default 3) conditions from synthetic records and keeps
    distinct ones that match exactly one synthetic row (up to ``n_attacks``, default 2,000). Main
    success: the query matches exactly one training row (all of them); control: how many queries
    would single out a table of the training's size drawn like the holdout. Risk = (main −
    control) / (1 − control) with the Wilson-propagated 95% CI, clipped to [0, 1]. Range [0, 1]; 0 is
    ideal. Rates are per query requested, as anonymeter's: a table from which few distinct
    singling-out queries can be built exposes few records (``details.queries_found``). Duplicate
    rows are dropped first, as anonymeter does.
    When training and holdout differ in size the control is corrected to the training's size
    (``_singling_out.singled_out_at_size``: exact when the holdout is the larger, an empirical-Bayes
    beta-binomial fit of the queries' match counts when it is smaller; anonymeter fits a curve to
    subsample counts instead). Reference: Giomi et al., "A Unified Framework for Quantifying Privacy
    Risk in Synthetic Data", PoPETs 2023; ``anonymeter.SinglingOutEvaluator``.
    """

    class Params(MetricParams):
        n_attacks: int = Field(DEFAULT_ATTACKS, ge=1, description="singling-out queries to find")
        n_cols: int = Field(3, ge=1, description="conditions per query")
        columns: list[str] | None = Field(None, min_length=1, description="columns queries may use (default all)")
        max_attempts: int | None = Field(None, ge=1, description="query attempts (default 100 x n_attacks)")

    class Details(AttackDetails):
        queries_requested: int = Field(ge=1, description="n_attacks")
        queries_found: int = Field(ge=0, description="distinct queries that single out one synthetic row")
        query_attempts: int = Field(ge=0, description="queries tried")
        n_cols: int = Field(ge=1, description="conditions per query")
        mode: str = Field(description="anonymeter's query mode")
        columns: list[str] = Field(description="columns the queries use")
        training_rows: int = Field(ge=1, description="distinct training rows (all of them)")
        control_rows: int = Field(ge=1, description="distinct holdout rows")
        synthetic_rows: int = Field(ge=1, description="distinct synthetic rows")
        deduplicated: bool = Field(description="duplicate rows dropped first, as anonymeter does")
        control_observed_successes: int | None = Field(
            None, ge=0, description="queries singling out the holdout itself, before the size correction"
        )
        control_correction: str | None = Field(None, description="how the control was brought to the training's size")
        note: str | None = Field(None, description="why no risk could be measured")

    params: Params

    id = "privacy.singling_out"
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
    description = "Excess share of queries from synthetic data that pick out exactly one training record."

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        n_cols = self.params.n_cols
        columns = attack_columns(data, self.params.columns, option="columns")
        if not columns:
            return self.skipped("no distribution column to build queries from")
        assert data.holdout is not None
        train, control, synthetic = (dedupe_rows(f, columns) for f in (data.real, data.holdout, data.synthetic))
        categories = shared_categories([train, control, synthetic], columns, data.schema)
        tables = [QueryTable(f, columns, data.schema, categories) for f in (synthetic, train, control)]
        max_attempts = self.params.max_attempts or 100 * self.params.n_attacks
        cols, ops, vals, attempts = generate_queries(tables[0], self.params.n_attacks, n_cols, rng, max_attempts)
        n_queries = len(cols)
        info = {
            "queries_requested": self.params.n_attacks,
            "queries_found": n_queries,
            "query_attempts": attempts,
            "n_cols": min(n_cols, len(columns)),
            "mode": "multivariate",
            "columns": columns,
            "training_rows": len(train),
            "control_rows": len(control),
            "synthetic_rows": len(synthetic),
            "deduplicated": True,
        }
        n = self.params.n_attacks  # anonymeter's denominator: the attacks requested
        if n_queries == 0:  # no attack succeeds: every rate is 0 of n
            counts = AttackCounts(0, n, 0, n, 0, n)
            note = {"note": "no query singles out a synthetic row"}
            return self.result(0.0, ci=counts.risk()[1], ci_level=0.95, details={**info, **counts.details(), **note})
        train_counts = count_matches(tables[1], cols, ops, vals)
        main = int((train_counts == 1).sum())
        control_counts = count_matches(tables[2], cols, ops, vals)
        control, correction = singled_out_at_size(control_counts, len(control), len(train), train_counts)
        b_cols, b_ops, b_vals = random_queries(tables[0], n, n_cols, rng)
        baseline = int((count_matches(tables[1], b_cols, b_ops, b_vals, stop_at=2) == 1).sum())
        counts = AttackCounts(main, n, control, n, baseline, n)
        value, ci = counts.risk()
        details = {
            **info,
            **counts.details(),
            "control_observed_successes": int((control_counts == 1).sum()),
            "control_correction": correction,
        }
        return self.result(value, ci=ci, ci_level=0.95, details=details)
