"""The metric protocol and its registry.

A metric is one file in ``qaharness.metrics`` (or a third-party module behind the
``qaharness.metrics`` entry-point group) holding a ``Metric`` subclass decorated
with ``@register_metric``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from ..inputs import EvalInput
from ..registry import Registry
from ..results import Family, Goal, MetricResult, Status

__all__ = ["Metric", "register_metric", "metric_registry", "get_metric", "metric_ids"]

metric_registry: Registry[type[Metric]] = Registry(
    "metric", package="qaharness.metrics", entry_point_group="qaharness.metrics"
)


class Metric:
    """Base class. Subclasses set the class attributes and implement ``compute``.

    ``__init__`` only stores parameters. ``compute`` must not mutate ``data`` and must
    draw randomness only from ``rng``.
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
    #: tolerance of the "identical inputs give the ideal value" conformance check
    ideal_tolerance: ClassVar[float] = 1e-9
    #: False where synthetic = real does not give the ideal value; ``identical_inputs_note`` says why
    #: (privacy: a full copy is the worst case; a baseline that doesn't read synthetic at all)
    conformance_identical_is_ideal: ClassVar[bool] = True
    identical_inputs_note: ClassVar[str] = "synthetic = real is a full copy: the worst case for a privacy risk"

    def __init__(self, **params: Any):
        self.params: Mapping[str, Any] = dict(params)

    @classmethod
    def ideal_value(cls) -> float | None:
        if cls.ideal is not None:
            return cls.ideal
        low, high = cls.bounds
        return low if cls.goal is Goal.MINIMIZE else high

    def compute(self, data: EvalInput, *, rng: np.random.Generator) -> MetricResult:
        raise NotImplementedError

    # -- helpers to build results ---------------------------------------------------
    def result(self, value: float, **fields: Any) -> MetricResult:
        return MetricResult(
            id=self.id, family=self.family, goal=self.goal, bounds=self.bounds, value=float(value), **fields
        )

    def skipped(self, reason: str, **fields: Any) -> MetricResult:
        return MetricResult(
            id=self.id,
            family=self.family,
            goal=self.goal,
            bounds=self.bounds,
            value=None,
            status=Status.SKIPPED,
            message=reason,
            **fields,
        )

    def error(self, message: str, **fields: Any) -> MetricResult:
        return MetricResult(
            id=self.id,
            family=self.family,
            goal=self.goal,
            bounds=self.bounds,
            value=None,
            status=Status.ERROR,
            message=message,
            **fields,
        )

    def per_column_result(self, per_column: Mapping[str, float], **details: Any) -> MetricResult:
        """Headline = the worst column; details carry the mean and the worst column's name."""
        worst, value = self.worst(per_column)
        return self.result(
            value,
            per_column=dict(per_column),
            details={"mean": float(np.mean(list(per_column.values()))), "worst_column": worst, **details},
        )

    def worst(self, per_column: Mapping[str, float]) -> tuple[str, float]:
        """The column with the worst value for this metric's goal."""
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
