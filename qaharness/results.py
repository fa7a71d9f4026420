"""Typed, frozen results: what metrics return and what results.json holds.

Reports, the CLI and the dashboard read this JSON, never live objects.
"""

from __future__ import annotations

import json
import math
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "Family",
    "Goal",
    "Status",
    "MetricResult",
    "InputInfo",
    "PolicyRef",
    "RuleResult",
    "Run",
    "SCHEMA_VERSION",
]

#: 2: metric results carry description and ideal; rule results carry kind, details, and the
#: status "insufficient" (evidence too thin to decide); metric is optional (non-metric rule kinds)
#: 3: ``seal`` (qaharness.seal), the signature over the rest of the file
SCHEMA_VERSION = 3


class Family(str, Enum):
    FIDELITY = "fidelity"
    UTILITY = "utility"
    PRIVACY = "privacy"
    PROVENANCE = "provenance"


class Goal(str, Enum):
    MINIMIZE = "minimize"
    MAXIMIZE = "maximize"
    #: closest to the metric's ``ideal`` is best and either side is worse (a membership-inference AUC
    #: of 0.3 is an attack that works backwards; synthetic rows nearer the holdout than chance were not
    #: made without the holdout)
    TARGET = "target"


class Status(str, Enum):
    OK = "ok"
    SKIPPED = "skipped"
    ERROR = "error"


def _finite(value: float | None, what: str) -> float | None:
    if value is not None and not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return value


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MetricResult(_Frozen):
    """One metric's outcome. ``value`` is a finite number when status is ok, else null."""

    id: str = Field(description="stable id 'family.name'")
    family: Family
    value: float | None = Field(description="headline value; null unless status is ok")
    goal: Goal
    bounds: tuple[float | None, float | None] = Field(description="[low, high]; null = unbounded")
    status: Status = Status.OK
    message: str = ""
    per_column: dict[str, float] | None = Field(default=None, description="column → value")
    ci: tuple[float, float] | None = Field(default=None, description="confidence interval of value")
    ci_level: float | None = Field(default=None, description="confidence level of ci, e.g. 0.95")
    baseline: float | None = Field(default=None, description="the same metric on holdout vs real")
    details: dict[str, Any] = Field(default_factory=dict)
    description: str = Field(default="", description="the metric's plain-language description, for readers")
    ideal: float | None = Field(default=None, description="the value a perfect generator reaches")
    notes: list[str] = Field(
        default_factory=list,
        description="facts about the inputs the metric found (rows left out, …); the run's notes collect them",
    )

    @field_validator("value", "baseline")
    @classmethod
    def _check_finite(cls, value: float | None) -> float | None:
        return _finite(value, "value")

    @field_validator("per_column")
    @classmethod
    def _check_columns(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        for column, number in (value or {}).items():
            _finite(number, f"per_column[{column!r}]")
        return value

    @model_validator(mode="after")
    def _check_status(self) -> MetricResult:
        if self.status is Status.OK:
            if self.value is None:
                raise ValueError(f"{self.id}: status ok needs a value")
            low, high = self.bounds
            eps = 1e-9
            if (low is not None and self.value < low - eps) or (high is not None and self.value > high + eps):
                raise ValueError(f"{self.id}: value {self.value} outside bounds {self.bounds}")
        elif self.value is not None:
            raise ValueError(f"{self.id}: a {self.status.value} result carries no value")
        if self.ci is not None:
            _finite(self.ci[0], "ci low"), _finite(self.ci[1], "ci high")
            if self.ci[0] > self.ci[1] + 1e-12:
                raise ValueError(f"{self.id}: ci low {self.ci[0]} above ci high {self.ci[1]}")
        return self

    @property
    def ok(self) -> bool:
        return self.status is Status.OK


class InputInfo(_Frozen):
    source: str
    sha256: str
    rows: int
    columns: int
    fingerprint: str | None = Field(
        default=None,
        description="qaharness.provenance.data_fingerprint of the table as read (before coercion, tag column left out)",
    )


class PolicyRef(_Frozen):
    id: str
    version: str
    sha256: str
    source: str | None = None


class RuleResult(_Frozen):
    """One judged policy rule. Renderers read only this, whatever the rule's kind."""

    id: str
    kind: str = Field(default="metric", description="the rule kind (policy `kind:`), e.g. metric")
    metric: str | None = Field(default=None, description="the metric the rule reads (metric rules)")
    family: Family | None = None
    field: str | None = "value"
    op: str | None = None
    threshold: float | None = None
    threshold_expr: str | None = Field(default=None, description="the threshold as written, when relative")
    observed: float | None = None
    severity: Literal["error", "warn"] = "error"
    status: Literal["pass", "fail", "error", "insufficient", "waived"] = Field(
        description="pass | fail | error (could not be evaluated) | insufficient (too little evidence "
        "to decide; counts as a failure) | waived"
    )
    message: str = Field(default="", description="one plain sentence: what was observed against what")
    rationale: str = ""
    waiver: dict[str, Any] | None = None
    details: dict[str, Any] = Field(default_factory=dict, description="kind-specific facts (counts, sizes)")


class Run(_Frozen):
    """A whole evaluate or gate run; serialises to exactly results.json."""

    schema_version: int = SCHEMA_VERSION
    qaharness_version: str
    created_at: str
    seed: int
    command: list[str] | None = None
    inputs: dict[str, InputInfo]
    schema_: dict[str, str] = Field(alias="schema")
    target: str | None = None
    task: str | None = None
    metrics: list[MetricResult]
    environment: dict[str, str] = Field(default_factory=dict)
    timings: dict[str, float] = Field(default_factory=dict, description="seconds per metric; not deterministic")
    notes: list[str] = Field(default_factory=list)
    provenance: dict[str, Any] | None = None
    ticket: str | None = None
    verdict: Literal["pass", "warn", "fail"] | None = None
    policy: PolicyRef | None = None
    rules: list[RuleResult] | None = None
    profiles: dict[str, Any] | None = Field(
        default=None, description="per-column real vs synthetic profiles for report plots (qaharness.profile)"
    )
    seal: dict[str, Any] | None = Field(
        default=None,
        description="signature over everything else in results.json and the input sha256s (qaharness.seal)",
    )

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    def metric(self, metric_id: str) -> MetricResult:
        for result in self.metrics:
            if result.id == metric_id:
                return result
        raise KeyError(f"no metric {metric_id!r} in this run; have: {', '.join(m.id for m in self.metrics)}")

    def to_dict(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", by_alias=True)
        for key in ("verdict", "policy", "rules", "provenance", "ticket", "command", "profiles", "seal"):
            if data.get(key) is None:
                data.pop(key, None)
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False, allow_nan=False) + "\n"

    def sealed(self, *, keys: str | Path | None = None) -> Run:
        """This run with its seal (``qaharness.seal``); itself when already sealed."""
        if self.seal is not None:
            return self
        from .seal import seal_run

        return seal_run(self, keys=keys)

    def write(
        self, out_dir: str | Path, name: str = "results.json", *, seal: bool = True, keys: str | Path | None = None
    ) -> Path:
        """Write results.json atomically (never through a planted symlink), sealed unless ``seal=False``.

        The seal uses the signer under ``keys`` (default ``$QAHARNESS_HOME/keys``, created if absent).
        """
        from ._atomic import make_folder, write_text

        run = self.sealed(keys=keys) if seal else self
        out = make_folder(out_dir, source=f"--out {out_dir}")
        return write_text(out / name, run.to_json(), source=f"--out {out_dir}")

    @classmethod
    def from_json(cls, text: str | bytes) -> Run:
        return cls.model_validate_json(text)

    @classmethod
    def read(cls, path: str | Path) -> Run:
        path = Path(path)
        if path.is_dir():
            path = path / "results.json"
        return cls.from_json(path.read_text(encoding="utf-8"))
