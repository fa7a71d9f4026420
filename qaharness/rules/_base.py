"""What every policy rule kind shares: its common fields, the context it is judged in, its outcome.

A rule kind is a frozen pydantic model with a ``kind`` literal (the YAML ``kind:`` key) and one
method, ``check(ctx) -> Outcome``. The policy engine (``qaharness.policy``) applies waivers and
severity and turns the outcome into a ``RuleResult``, the one thing renderers read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from qaharness.results import Family, Run

if TYPE_CHECKING:
    from qaharness.inputs import EvalInput
    from qaharness.store import RunStore

__all__ = ["RuleBase", "RuleContext", "Outcome", "RULE_ID", "Status"]

RULE_ID = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
Status = Literal["pass", "fail", "error", "insufficient"]


@dataclass(frozen=True)
class RuleContext:
    """Everything a rule may read. ``run`` is always there; ``data`` (the validated inputs) during a
    gate, not when a stored run is re-judged; ``store`` when the gate records to one."""

    run: Run
    today: date
    data: EvalInput | None = None
    store: RunStore | None = None
    options: Mapping[str, Any] = dc_field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """A rule's verdict before waivers: status, the numbers compared and one plain sentence."""

    status: Status
    message: str
    observed: float | None = None
    threshold: float | None = None
    threshold_expr: str | None = None
    op: str | None = None
    field: str | None = None
    metric: str | None = None
    family: Family | None = None
    details: dict[str, Any] = dc_field(default_factory=dict)
    #: a failure accepted by the gate run itself (``{"by": "--option", "reason": ...}``): the policy
    #: engine makes the rule ``waived`` with that reason, as it does for a policy waiver
    allowance: dict[str, str] | None = None


class RuleBase(BaseModel):
    """Fields every rule kind has. Subclasses add ``kind: Literal["..."]`` and their own fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    #: the YAML ``kind:`` of this class (subclasses override; must equal their ``kind`` default)
    KIND: ClassVar[str] = ""

    kind: str = Field("", description="the rule kind (each subclass narrows it to its own literal)")
    id: str = Field(pattern=RULE_ID, description="unique within the policy")
    severity: Literal["error", "warn"] = "error"
    rationale: str = Field("", description="why this rule and this number, with the evidence")

    def metric_ids(self) -> list[str]:
        """Metrics the gate must compute for this rule (none for rules that read the data or store)."""
        return []

    def needs_data(self) -> bool:
        """True when the rule reads the inputs themselves (``RuleContext.data``), not only the run."""
        return False

    def validate_data(self, data: EvalInput) -> None:
        """Raise ``ValueError`` (one sentence) when the rule cannot apply to these inputs — an unknown
        column, say. The gate calls it on the validated inputs before any metric runs."""
        return None

    def check(self, ctx: RuleContext) -> Outcome:
        raise NotImplementedError


def kind_of(value: Any) -> str:
    """The discriminator: a mapping's ``kind`` (default ``metric``), or a model's ``kind``."""
    if isinstance(value, Mapping):
        kind = value.get("kind", "metric")
        return kind if isinstance(kind, str) else repr(kind)
    return str(getattr(value, "kind", "metric"))


def is_identifier(text: str) -> bool:
    return re.fullmatch(RULE_ID, text) is not None
