"""provenance.tagged — share of synthetic rows that carry a synthetic provenance tag."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import ConfigDict, Field

from ..inputs import EvalInput
from ..provenance import TAG_COLUMN, assess_input
from ..results import Family, Goal, MetricResult
from ._base import Metric, MetricDetails, RunContext, register_metric


@register_metric
class ProvenanceTagged(Metric):
    """Share of synthetic rows tagged synthetic. Range [0, 1]; higher is better (1 = every row tagged).

    With a ``_qaharness_provenance`` column: rows whose tag starts with ``synthetic:``. Without one,
    a manifest attached to the file (Parquet metadata or sidecar) that is sealed and describes exactly
    these rows tags all of them (1.0); otherwise 0. No manifest and no column: 0 with a message.
    ``details`` report the checks (seal, rows, tags, source = manifest's source fingerprint equals
    the real table's), the generator and the DP budget. Reference: ``qaharness provenance verify``.
    """

    class Details(MetricDetails):
        model_config = ConfigDict(frozen=True, extra="forbid")
        manifest_present: bool = Field(description="a manifest is attached to the synthetic file")
        tag_column: bool = Field(description="the synthetic table has a _qaharness_provenance column")
        checks: dict[str, bool] = Field(description="each provenance check (seal, rows, tags, source) and its outcome")
        consistent: bool = Field(description="every check passed")
        messages: list[str] = Field(description="why each failed check failed")
        manifest_id: str | None = None
        generator: str | None = None
        generator_version: str | None = None
        dp: dict[str, Any] | None = Field(default=None, description="the DP budget (epsilon, delta, accountant)")
        source_match: bool | None = Field(
            default=None, description="the manifest's source fingerprint equals the real table's"
        )

    id = "provenance.tagged"
    family = Family.PROVENANCE
    goal = Goal.MAXIMIZE
    bounds = (0.0, 1.0)
    description = "Whether the synthetic rows are tagged as synthetic, with a manifest consistent with the real data."
    summary_based = True  # reads the tag counts and manifest kept at the boundary, never the frames
    reads_value_counts = False
    #: untagged frames score 0; the ideal 1 is checked on a copy of real whose rows are all tagged
    conformance_input: ClassVar[Literal["identical", "honest", "holdout", "tagged"]] = "tagged"
    conformance_defect: ClassVar[str | None] = "untagged"

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        assessment = assess_input(data)
        checks = {c.name: c.ok for c in assessment.checks}
        manifest = assessment.manifest
        messages = [c.message for c in assessment.checks if not c.ok]
        details = {
            "manifest_present": data.synthetic_manifest is not None,
            "tag_column": assessment.tag_share is not None,
            "checks": checks,
            "consistent": assessment.ok,
            "messages": messages,
            "manifest_id": manifest.manifest_id if manifest else None,
            "generator": manifest.generator if manifest else None,
            "generator_version": manifest.generator_version if manifest else None,
            "dp": manifest.dp.model_dump() if manifest and manifest.dp else None,
            "source_match": checks.get("source"),
        }
        if assessment.tag_share is not None:
            value = assessment.tag_share
            message = "" if assessment.ok else "; ".join(messages)
        elif manifest is not None and checks.get("seal") and checks.get("rows"):
            value, message = 1.0, "" if assessment.ok else "; ".join(messages)
        elif data.synthetic_manifest is None:
            value, message = (
                0.0,
                (
                    f"no provenance manifest and no {TAG_COLUMN} column: the synthetic rows "
                    "are untagged (qaharness provenance tag FILE)"
                ),
            )
        else:
            value, message = 0.0, "manifest does not cover these rows: " + "; ".join(messages)
        return self.result(value, message=message, details=details)
