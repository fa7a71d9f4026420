"""Policy rule kinds: a discriminated union on the YAML ``kind:`` key (default ``metric``).

Adding a kind: one file here with a ``RuleBase`` subclass (``kind: Literal["name"]``, its fields,
``check(ctx) -> Outcome``, and ``metric_ids()``/``needs_data()`` when it needs them), then its class
in ``RULE_KINDS`` below. The policy engine, JUnit, summary, reports and dashboard need no change:
they render ``RuleResult``s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Union

from pydantic import Discriminator, Tag

from ._base import Outcome, RuleBase, RuleContext, kind_of
from .budget import BudgetRule
from .constraint import ConstraintRule
from .metric import FIELDS, OPS, MetricRule, lookup
from .synthetic_in_real import SyntheticInRealRule

__all__ = [
    "AnyRule",
    "RULE_KINDS",
    "RuleBase",
    "RuleContext",
    "Outcome",
    "MetricRule",
    "ConstraintRule",
    "BudgetRule",
    "SyntheticInRealRule",
    "OPS",
    "FIELDS",
    "lookup",
    "kind_names",
]

#: every rule kind, in the order documented in policies/README.md
RULE_KINDS: tuple[type[RuleBase], ...] = (MetricRule, ConstraintRule, BudgetRule, SyntheticInRealRule)

if TYPE_CHECKING:  # statically, any rule is a RuleBase (what the policy engine calls)
    AnyRule = RuleBase
else:  # at run time, a discriminated union on ``kind`` over RULE_KINDS
    AnyRule = Annotated[
        Union[tuple(Annotated[cls, Tag(cls.KIND)] for cls in RULE_KINDS)],  # noqa: UP007
        Discriminator(kind_of),
    ]


def kind_names() -> list[str]:
    return [cls.KIND for cls in RULE_KINDS]
