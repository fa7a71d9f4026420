"""The metric protocol and its registry.

A metric is one file in ``qaharness.metrics`` (or a third-party module behind the
``qaharness.metrics`` entry-point group) holding a ``Metric`` subclass decorated
with ``@register_metric``. It declares its parameters (``Params``) and the shape of its
``details`` (``Details``) as pydantic models, and computes from a validated ``EvalInput``
and the run's ``RunContext``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any, ClassVar, Literal, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from qaharness._draws import BaselineMethod
from qaharness.errors import NumericalError, ParameterError
from qaharness.inputs import EvalInput
from qaharness.registry import Registry
from qaharness.results import Family, Goal, MetricResult, Status

__all__ = [
    "Metric",
    "MetricParams",
    "MetricDetails",
    "RunContext",
    "register_metric",
    "metric_registry",
    "get_metric",
    "metric_ids",
    "parameter_error",
]

T = TypeVar("T")

metric_registry: Registry[type[Metric]] = Registry(
    "metric", package="qaharness.metrics", entry_point_group="qaharness.metrics"
)


class MetricParams(BaseModel):
    """A metric's parameters. Subclasses add fields (with bounds and descriptions); a key that is
    not a field is an error, so a misspelt parameter never passes silently."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class MetricDetails(BaseModel):
    """The shape of a metric's ``details`` in results.json. Subclasses declare every key (with a
    description and bounds) and set ``extra="forbid"``; readers (reports, dashboard, policy
    ``details.<key>``) use only declared keys. ``baseline_per_column`` is filled by the engine."""

    model_config = ConfigDict(frozen=True, extra="allow")
    baseline_per_column: dict[str, float] | None = Field(
        default=None, description="per-column values of the holdout baseline (set by the engine)"
    )
    sample: dict[str, Any] | None = Field(
        default=None,
        description="set where the frames were a sample of larger tables (--engine spark) and the metric read "
        "them: rows per table, rows of the whole tables, seed and strata of the sample",
    )
    baseline_method: BaselineMethod | None = Field(
        default=None,
        description="how the baseline's draws were made (set by the engine; engine.baseline_plan): the whole "
        "holdout, holdout rows at the synthetic size, per-column counts drawn from the holdout's (above 200,000 "
        "synthetic rows), or 200,000-row draws rescaled root-n to the synthetic size (associations)",
    )
    baseline_rows: int | None = Field(
        default=None, ge=1, description="rows of each holdout sample the baseline was computed on (set by the engine)"
    )
    baseline_draws: list[float] | None = Field(
        default=None, description="the metric on each holdout sample; the baseline is their noise quantile"
    )
    baseline_quantile: float | None = Field(
        default=None, ge=0, le=1, description="quantile of the draws taken as the baseline, towards worse values"
    )
    baseline_scale: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="factor applied to the draws (1: none): a bootstrap's extra holdout noise taken out, "
        "a capped draw rescaled to the synthetic size (engine.bootstrap_scale, _draws.draw_scale)",
    )
    worst_ratio: float | None = Field(
        default=None,
        ge=0,
        description="largest ratio of a column's value to its own baseline quantile (set by the engine; "
        "engine.worst_ratio)",
    )
    worst_ratio_column: str | None = Field(default=None, description="the column of worst_ratio (set by the engine)")
    ratio_columns: int | None = Field(
        default=None, ge=1, description="columns judged against their own baseline in worst_ratio (set by the engine)"
    )
    insufficient_evidence: bool | None = Field(
        default=None, description="true on a skipped result whose data are too thin to judge (rules: insufficient)"
    )


class RunContext:
    """Work shared by several metrics in one run: owned by the engine, dropped when the run ends.

    ``cached(data, key, build)`` computes ``build()`` once per (input, key) for this run — the
    utility pillar's model fits, the nearest-neighbour encodings. ``data`` is usually the
    ``EvalInput``; work that depends on one table only may pass that table (``data.real``), so the
    holdout baseline's inputs, which hold the same real frame, reuse it. The key must name every
    setting the value depends on; the object is held, so its identity cannot be reused within the run.
    """

    def __init__(self, *, seed: int = 0):
        self.seed = seed
        self._values: dict[tuple[int, Hashable], Any] = {}
        self._inputs: dict[int, object] = {}

    def cached(self, data: EvalInput | object, key: Hashable, build: Callable[[], T]) -> T:
        slot = (id(data), key)
        if slot not in self._values:
            self._inputs[id(data)] = data
            self._values[slot] = build()
        return self._values[slot]

    def __len__(self) -> int:
        return len(self._values)


def require_finite(per_column: Mapping[str, float], what: str) -> None:
    """Raise ``NumericalError`` naming the columns whose value is not a finite number."""
    bad = [column for column, value in per_column.items() if not np.isfinite(value)]
    if bad:
        raise NumericalError(
            f"{what} is not a finite number for column(s) {', '.join(repr(c) for c in bad)}: their values are "
            "too large for the arithmetic (rescale them, e.g. to other units)",
            column=bad[0],
        )


def parameter_error(
    owner: str, exc: ValidationError, *, known: list[str] | None = None, option: str | None = None
) -> ParameterError:
    """One message template for every bad parameter (scikit-learn's):
    "The 'n_attacks' parameter of privacy.singling_out must be ... Got -3 instead."."""
    err = exc.errors()[0]
    name = ".".join(str(p) for p in err.get("loc", ())) or "?"
    if err.get("type") == "extra_forbidden":
        listed = f"; known: {', '.join(known)}" if known else f"; {owner} takes no parameters"
        return ParameterError(f"{owner} has no parameter {name!r}{listed}", owner=owner, parameter=name, source=option)
    message = str(err.get("msg", "is invalid")).removeprefix("Value error, ")
    message = message.replace("Input should be", "must be", 1)
    message = message[0].lower() + message[1:] if message else "is invalid"
    return ParameterError(
        f"The {name!r} parameter of {owner} {message}. Got {err.get('input')!r} instead.",
        owner=owner,
        parameter=name,
        source=option,
    )


class Metric:
    """Base class. Subclasses set the class attributes, declare ``Params``/``Details`` and implement
    ``compute``.

    ``__init__`` only validates and stores parameters (``self.params`` is the frozen ``Params``).
    ``compute`` must not mutate ``data``, must draw randomness only from ``rng``, and shares work
    with other metrics only through ``ctx``.
    """

    id: ClassVar[str]
    family: ClassVar[Family]
    goal: ClassVar[Goal]
    bounds: ClassVar[tuple[float | None, float | None]] = (0.0, 1.0)
    ideal: ClassVar[float | None] = None  # default: the bound the goal points at
    description: ClassVar[str] = ""  # one plain-language line for reports
    requires_holdout: ClassVar[bool] = False
    requires_target: ClassVar[bool] = False
    has_baseline: ClassVar[bool] = False  # engine computes it on holdout vs real
    #: True when ``compute`` reads only ``data.summaries()``, never the frames: the metric is then exact
    #: under every engine; the others read the frames, which the Spark engine fills with a sample
    summary_based: ClassVar[bool] = False
    #: does ``compute`` read numeric value counts (``summaries().value_counts``, ``rank_map``,
    #: ``n_unique``)? None: as ``summary_based``. After a run's last metric that does, the engine lets
    #: the summaries drop the counts they keep (``TableSummaries.forget_value_counts``)
    reads_value_counts: ClassVar[bool | None] = None
    #: holdout samples (of the synthetic table's size) the engine's baseline draws; more = steadier, dearer
    baseline_draws: ClassVar[int] = 10
    #: may those samples repeat holdout rows when synthetic is larger than the holdout (a bootstrap)?
    #: False where duplicated rows would mislead the metric (a classifier memorises them)
    baseline_resample: ClassVar[bool] = True
    #: "root_n": the metric's noise scales with sqrt(1/n_real + 1/n_synthetic), so the engine takes a
    #: bootstrap draw's extra holdout noise out (``engine.bootstrap_scale``); None: draws used as they are
    baseline_scaling: ClassVar[Literal["root_n"] | None] = None
    #: False: the baseline is the metric on the whole holdout (one draw), for metrics calibrated on that
    #: (a share of rows, whose expectation does not depend on the table's size: validity, coherence)
    baseline_at_synthetic_size: ClassVar[bool] = True
    #: True when the metric's summaries need the drawn rows together (associations): above
    #: ``_draws.ROW_DRAW_MAX`` synthetic rows its draws are that many rows, rescaled root-n; the other
    #: summary-based metrics read per-column marginal draws there (``engine.baseline_plan``)
    baseline_joint: ClassVar[bool] = False
    Params: ClassVar[type[MetricParams]] = MetricParams
    Details: ClassVar[type[MetricDetails]] = MetricDetails
    #: tolerance of the conformance suite's ideal-value check
    ideal_tolerance: ClassVar[float] = 1e-9
    #: the conformance suite's ideal check (``qaharness.testing``) runs on this input: "identical"
    #: (synthetic = a copy of real), "honest" (synthetic = a fresh draw of the same process: the honest
    #: case of a privacy risk), "holdout" (synthetic = the holdout: unseen real rows) or "tagged"
    #: (synthetic = real, every row tagged synthetic); there the value must be ``ideal_value()``
    #: within ``ideal_tolerance`` ...
    conformance_input: ClassVar[Literal["identical", "honest", "holdout", "tagged"]] = "identical"
    #: ... or, when set, exactly the value of this other metric on the same input (a baseline
    #: metric with no fixed ideal: tstr on synthetic = real equals trtr)
    conformance_equals: ClassVar[str | None] = None
    #: a planted defect (``qaharness.testing.DEFECTS``) that must move the value away from the ideal
    conformance_defect: ClassVar[str | None] = None
    #: legacy declaration: False skips the ideal check with ``identical_inputs_note`` as the reason;
    #: declare ``conformance_input`` / ``conformance_equals`` instead
    conformance_identical_is_ideal: ClassVar[bool] = True
    identical_inputs_note: ClassVar[str] = "synthetic = real is a full copy: the worst case for a privacy risk"

    def __init__(self, **params: Any):
        try:
            self.params = self.Params(**params)
        except ValidationError as exc:
            raise parameter_error(self.id, exc, known=list(self.Params.model_fields)) from None

    @classmethod
    def ideal_value(cls) -> float | None:
        if cls.ideal is not None or cls.goal is Goal.TARGET:  # a target metric names its ideal
            return cls.ideal
        low, high = cls.bounds
        return low if cls.goal is Goal.MINIMIZE else high

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        raise NotImplementedError

    # -- helpers to build results ---------------------------------------------------
    def _identity(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "family": self.family,
            "goal": self.goal,
            "bounds": self.bounds,
            "description": self.description,
            "ideal": self.ideal_value(),
        }

    def validated_details(self, details: Mapping[str, Any] | None) -> dict[str, Any]:
        """``details`` checked against ``Details`` and serialised as results.json holds it."""
        model = self.Details.model_validate(dict(details or {}))
        return model.model_dump(mode="json", exclude_unset=True)

    def result(self, value: float, **fields: Any) -> MetricResult:
        fields["details"] = self.validated_details(fields.get("details"))
        return MetricResult(**self._identity(), value=float(value), **fields)

    def skipped(self, reason: str, **fields: Any) -> MetricResult:
        return MetricResult(**self._identity(), value=None, status=Status.SKIPPED, message=reason, **fields)

    def not_applicable(self, reason: str) -> MetricResult:
        """Skipped because the tables hold nothing this metric measures (a KS on a table without numeric
        columns): a rule reading it passes and says so, where any other skip makes the rule an error."""
        return self.skipped(reason, details={"not_applicable": True})

    def error(self, message: str, **fields: Any) -> MetricResult:
        return MetricResult(**self._identity(), value=None, status=Status.ERROR, message=message, **fields)

    def per_column_result(self, per_column: Mapping[str, float], **details: Any) -> MetricResult:
        """Headline = the worst column; details carry the mean and the worst column's name."""
        require_finite(per_column, self.id)
        worst, value = self.worst(per_column)
        return self.result(
            value,
            per_column=dict(per_column),
            details={"mean": float(np.mean(list(per_column.values()))), "worst_column": worst, **details},
        )

    def worst(self, per_column: Mapping[str, float]) -> tuple[str, float]:
        """The column with the worst value for this metric's goal (farthest from the ideal for a target)."""
        if self.goal is Goal.TARGET:
            ideal = self.ideal_value() or 0.0
            column = max(per_column, key=lambda c: abs(per_column[c] - ideal))
        else:
            pick = max if self.goal is Goal.MINIMIZE else min
            column = pick(per_column, key=lambda c: per_column[c])
        return column, per_column[column]


def register_metric(cls: type[Metric]) -> type[Metric]:
    """Class decorator: register ``cls`` under ``cls.id`` (must be 'family.name')."""
    family = getattr(cls, "family", None)
    if not cls.id.startswith(f"{getattr(family, 'value', family)}."):
        raise ValueError(f"metric id {cls.id!r} must start with its family {family!r} and a dot")
    return metric_registry.register(cls)


def get_metric(metric_id: str) -> type[Metric]:
    return metric_registry.get(metric_id)


def metric_ids() -> list[str]:
    return metric_registry.ids()
