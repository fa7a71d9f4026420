"""privacy.singling_out — can the synthetic data be used to single out individual training records?"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ._anonymeter_style import DEFAULT_ATTACKS, AttackCounts, attack_columns, dedupe_rows
from ._base import Metric, MetricParams, RunContext, register_metric
from ._nn import sample_indices
from ._singling_out import QueryTable, count_matches, generate_queries, random_queries, shared_categories


@register_metric
class SinglingOut(Metric):
    """Singling-out risk, the anonymeter method (multivariate mode).

    The attacker builds queries of ``n_cols`` (default 3) conditions from synthetic records and keeps
    distinct ones that match exactly one synthetic row (up to ``n_attacks``, default 2,000). Main
    success: the query matches exactly one training row; control: exactly one holdout row; baseline:
    random queries. Risk = (main − control) / (1 − control) with the Wilson-propagated 95% CI,
    clipped to [0, 1]. Range [0, 1]; 0 is ideal. Rates are per query found (anonymeter divides by
    the number requested, which understates risk when fewer are found). Duplicate rows are dropped
    first, as anonymeter does; when training and holdout differ in size, the larger is subsampled to
    the smaller so that main and control face tables of one size (anonymeter instead rescales
    control with a fitted curve). Reference: Giomi et al., "A Unified Framework for Quantifying
    Privacy Risk in Synthetic Data", PoPETs 2023; ``anonymeter.SinglingOutEvaluator``.
    """

    class Params(MetricParams):
        n_attacks: int = Field(DEFAULT_ATTACKS, ge=1, description="singling-out queries to find")
        n_cols: int = Field(3, ge=1, description="conditions per query")
        columns: list[str] | None = Field(None, min_length=1, description="columns queries may use (default all)")
        max_attempts: int | None = Field(None, ge=1, description="query attempts (default 100 x n_attacks)")

    params: Params

    id = "privacy.singling_out"
    family = Family.PRIVACY
    goal = Goal.MINIMIZE
    bounds = (0.0, 1.0)
    ideal = 0.0
    ideal_tolerance = 0.05
    requires_holdout = True
    conformance_identical_is_ideal = False
    description = "Excess share of queries from synthetic data that pick out exactly one training record."

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        n_attacks = self.params.n_attacks
        n_cols = self.params.n_cols
        columns = attack_columns(data, self.params.columns, option="columns")
        if not columns:
            return self.skipped("no distribution column to build queries from")
        train, control, synthetic = (dedupe_rows(f, columns) for f in (data.real, data.holdout, data.synthetic))
        size = min(len(train), len(control))
        train = train.iloc[sample_indices(len(train), size, rng)]
        control = control.iloc[sample_indices(len(control), size, rng)]
        categories = shared_categories([train, control, synthetic], columns, data.schema)
        tables = [QueryTable(f, columns, data.schema, categories) for f in (synthetic, train, control)]
        max_attempts = self.params.max_attempts or 100 * n_attacks
        cols, ops, vals, attempts = generate_queries(tables[0], n_attacks, n_cols, rng, max_attempts)
        n_queries = len(cols)
        info = {
            "queries_requested": n_attacks,
            "queries_found": n_queries,
            "query_attempts": attempts,
            "n_cols": min(n_cols, len(columns)),
            "mode": "multivariate",
            "columns": columns,
            "rows_per_table": size,
            "synthetic_rows": len(synthetic),
            "deduplicated": True,
        }
        if n_queries == 0:
            return self.result(0.0, details={**info, "note": "no query singles out a synthetic row"})
        main = int((count_matches(tables[1], cols, ops, vals, stop_at=2) == 1).sum())
        control_hits = int((count_matches(tables[2], cols, ops, vals, stop_at=2) == 1).sum())
        b_cols, b_ops, b_vals = random_queries(tables[0], n_queries, n_cols, rng)
        baseline = int((count_matches(tables[1], b_cols, b_ops, b_vals, stop_at=2) == 1).sum())
        counts = AttackCounts(main, n_queries, control_hits, n_queries, baseline, n_queries)
        value, ci = counts.risk()
        return self.result(value, ci=ci, ci_level=0.95, details={**info, **counts.details()})
