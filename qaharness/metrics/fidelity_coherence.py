"""fidelity.coherence — functional dependencies of the real data that synthetic rows break."""

from __future__ import annotations

import zlib

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from qaharness.inputs import EvalInput
from qaharness.metrics._base import Metric, MetricDetails, MetricParams, RunContext, register_metric
from qaharness.metrics._dependencies import Dependency, Settings, discover, violations
from qaharness.results import Family, Goal, MetricResult

__all__ = ["Coherence"]

#: dependencies listed in details (the most violated first); counts cover all of them
MAX_REPORTED = 25


class DependencyResult(BaseModel):
    """One dependency learned from the real data and how the synthetic rows keep it."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    determinant: list[str] = Field(description="the column (or pair) that determines the dependent")
    dependent: str = Field(description="the determined column")
    shape: str = Field(description="lookup (value → value) or interval (numeric range → value)")
    real_confidence: float = Field(ge=0, le=1, description="share of judged real rows agreeing with the mapping")
    real_support: float = Field(ge=0, le=1, description="share of real rows in groups/intervals large enough to judge")
    groups: int = Field(ge=0, description="supported determinant values (lookup) or intervals (interval)")
    checked: int = Field(ge=0, description="synthetic rows the dependency could judge")
    violations: int = Field(ge=0, description="checked synthetic rows whose dependent value breaks the mapping")
    violation_share: float = Field(ge=0, le=1, description="violations / all synthetic rows")
    worst_group: str | None = Field(None, description="determinant value with most violations, rare values masked")
    worst_group_violations: int = Field(0, ge=0)


class CoherenceDetails(MetricDetails):
    model_config = ConfigDict(frozen=True, extra="forbid")
    n_dependencies: int = Field(ge=0, description="dependencies that hold in the real data")
    n_violated: int = Field(ge=0, description="of those, broken by at least one synthetic row")
    worst: str | None = Field(None, description="the most violated dependency, 'a + b → c'")
    mean: float = Field(ge=0, le=1, description="mean violation share over the dependencies (0 with none)")
    n_synthetic: int = Field(ge=0)
    discovery_rows: int = Field(ge=0, description="real rows the dependencies were learned from")
    tested: dict[str, int] = Field(default_factory=dict, description="columns, dependents, single and pair tests")
    dependencies: list[DependencyResult] = Field(
        default_factory=list, description=f"the {MAX_REPORTED} most violated dependencies"
    )


@register_metric
class Coherence(Metric):
    """Functional dependencies discovered in the real data — a column, or a pair of columns, that
    determines another in at least ``min_confidence`` of the real rows it can judge, with enough
    support (``qaharness.metrics._dependencies``) — and the share of synthetic rows violating each.

    Range [0, 1]; lower is better; ``value`` is the largest violation share (0 when the real data has
    no such dependency or synthetic keeps them all). ``per_column`` holds, per dependent column, the
    largest share over its dependencies. The holdout baseline is the same check on fresh real rows:
    real data breaks learned dependencies too (exceptions below the confidence bar).
    """

    id = "fidelity.coherence"
    family = Family.FIDELITY
    goal = Goal.MINIMIZE
    bounds = (0.0, 1.0)
    conformance_defect = "independent"
    has_baseline = True
    baseline_at_synthetic_size = False  # calibrated on the whole holdout (benchmarks/calibrate_validity.py)
    description = "Whether synthetic rows keep the rules the real data follows (a derived column matching its source)."

    class Params(MetricParams):
        min_confidence: float = Field(0.999, gt=0.5, le=1, description="share of real rows a dependency must hold in")
        min_support: float = Field(0.25, gt=0, le=1, description="share of real rows in judged groups/intervals")
        min_group_rows: int = Field(10, ge=2, description="real rows a determinant value or interval needs")
        max_levels: int = Field(64, ge=2, description="distinct values up to which a numeric column is discrete")
        max_segments: int = Field(32, ge=2, description="intervals allowed in a numeric → value dependency")
        pair_candidates: int = Field(4, ge=0, description="best single determinants combined into pairs")
        max_dependencies: int = Field(200, ge=1, description="dependencies kept (single columns first)")
        max_rows: int = Field(50_000, ge=100, description="real rows sampled for discovery")
        min_rows: int = Field(100, ge=10, description="fewer real rows than this: insufficient evidence")

    params: Params
    Details = CoherenceDetails

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        p = self.params
        if len(data.real) < p.min_rows:
            reason = f"{len(data.real)} real rows; learning dependencies needs at least {p.min_rows}"
            return self.skipped(reason, details={"insufficient_evidence": True})
        dependencies, tested, rows = ctx.cached(
            data.real, ("fidelity.coherence", p, tuple(data.columns())), lambda: self._discover(data, ctx)
        )
        n_rows = len(data.synthetic)
        results = [_result(d, data, n_rows) for d in dependencies]
        results.sort(key=lambda r: (-r.violation_share, r.dependent, r.determinant))
        per_column: dict[str, float] = {}
        for r in results:
            per_column[r.dependent] = max(per_column.get(r.dependent, 0.0), r.violation_share)
        worst = results[0] if results and results[0].violations else None
        details = {
            "n_dependencies": len(results),
            "n_violated": sum(1 for r in results if r.violations),
            "worst": _name(worst) if worst else None,
            "mean": float(np.mean([r.violation_share for r in results])) if results else 0.0,
            "n_synthetic": n_rows,
            "discovery_rows": rows,
            "tested": tested,
            "dependencies": results[:MAX_REPORTED],
        }
        return self.result(
            worst.violation_share if worst else 0.0,
            per_column=per_column or None,
            message=_message(worst, results, tested),
            details=details,
        )

    def _discover(self, data: EvalInput, ctx: RunContext) -> tuple[list[Dependency], dict[str, int], int]:
        """Dependencies of the real data (a sample of ``max_rows``, seeded by the run seed so the
        holdout baseline judges the same dependencies)."""
        p = self.params
        real = data.real
        if len(real) > p.max_rows:
            sample_rng = np.random.default_rng([ctx.seed, zlib.crc32(self.id.encode())])
            real = real.iloc[np.sort(sample_rng.choice(len(real), p.max_rows, replace=False))]
        settings = Settings(
            min_confidence=p.min_confidence,
            min_support=p.min_support,
            min_group_rows=p.min_group_rows,
            max_levels=p.max_levels,
            max_segments=p.max_segments,
            pair_candidates=p.pair_candidates,
            max_dependencies=p.max_dependencies,
        )
        found, tested = discover(real.reset_index(drop=True), data.schema, data.columns(), settings)
        return found, tested, len(real)


def _result(dependency: Dependency, data: EvalInput, n_rows: int) -> DependencyResult:
    counted = violations(dependency, data.synthetic)
    return DependencyResult(
        determinant=list(dependency.determinant),
        dependent=dependency.dependent,
        shape=dependency.shape,
        real_confidence=dependency.confidence,
        real_support=min(dependency.support, 1.0),
        groups=dependency.groups,
        checked=counted.checked,
        violations=counted.violations,
        violation_share=counted.violations / n_rows if n_rows else 0.0,
        worst_group=counted.worst_group,
        worst_group_violations=counted.worst_group_violations,
    )


def _name(result: DependencyResult) -> str:
    return f"{' + '.join(result.determinant)} → {result.dependent}"


def _message(worst: DependencyResult | None, results: list[DependencyResult], tested: dict[str, int]) -> str:
    if not results:
        return (
            f"no functional dependency holds in the real data ({tested.get('columns', 0)} columns, "
            f"{tested.get('single_tests', 0) + tested.get('pair_tests', 0)} candidates tested)"
        )
    if worst is None:
        return f"synthetic rows keep all {len(results)} dependencies of the real data"
    violated = sum(1 for r in results if r.violations)
    where = f"; most in {worst.worst_group}" if worst.worst_group else ""
    return (
        f"worst: {_name(worst)} broken by {worst.violation_share:.2%} of synthetic rows "
        f"({worst.violations:,} rows{where}); {violated} of {len(results)} real dependencies broken"
    )
