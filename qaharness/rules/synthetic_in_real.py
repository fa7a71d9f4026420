"""``kind: synthetic_in_real`` — the real and holdout inputs must not carry synthetic rows.

```yaml
- id: real-is-real
  kind: synthetic_in_real
  inputs: [real, holdout]   # the default
  severity: error
  rationale: synthetic rows in the real data make every comparison meaningless
```

A row is synthetic when its ``_qaharness_provenance`` tag starts with ``synthetic:``; a whole input
is synthetic when its file carries a provenance manifest (Parquet metadata or a sidecar). Any such
row fails the rule, naming the count and the manifest ids. ``qaharness gate
--allow-synthetic-in-real REASON`` (``options["allow_synthetic_in_real"]``) accepts them for a
deliberate augmentation study: the rule is then ``waived`` with that reason, in results.json and
the store.

A rule kind rather than a metric: it judges the inputs' integrity, not the synthetic table against
the real one — there is no estimate, baseline or interval, and the deliberate exception is a
decision of the gate run, recorded with the rule's result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from ._base import Outcome, RuleBase, RuleContext

if TYPE_CHECKING:
    from qaharness.inputs import InputMarks

__all__ = ["SyntheticInRealRule", "ALLOW_OPTION", "synthetic_marks"]

ALLOW_OPTION = "allow_synthetic_in_real"
InputName = Literal["real", "holdout"]


def synthetic_marks(marks: InputMarks) -> tuple[int, list[str]]:
    """(synthetic rows, manifest ids) of one input: tagged rows, or every row under a manifest."""
    from qaharness.provenance import TAG_PREFIX

    ids: dict[str, None] = {}
    tagged = 0
    for tag, count in (marks.tags or {}).items():
        if tag.startswith(TAG_PREFIX):
            tagged += count
            ids[tag[len(TAG_PREFIX) :] or "?"] = None
    if marks.manifest is not None or marks.manifest_error is not None:
        manifest_id = (marks.manifest or {}).get("manifest_id")
        ids[str(manifest_id) if manifest_id else "unreadable manifest"] = None
        tagged = marks.rows
    return tagged, list(ids)


class SyntheticInRealRule(RuleBase):
    """No row of the real (and holdout) inputs is tagged synthetic or covered by a manifest."""

    KIND: ClassVar[str] = "synthetic_in_real"
    kind: Literal["synthetic_in_real"] = "synthetic_in_real"
    inputs: tuple[InputName, ...] = Field(("real", "holdout"), min_length=1, description="inputs that must be real")

    def needs_data(self) -> bool:
        return True

    def check(self, ctx: RuleContext) -> Outcome:
        base: dict[str, Any] = {"op": "==", "field": "synthetic_rows", "threshold": 0.0}
        if ctx.data is None:
            return Outcome("error", "this rule reads the inputs; judge it in a gate run, not a stored run", **base)
        found: dict[str, dict[str, Any]] = {}
        for name in self.inputs:
            marks = ctx.data.input_marks.get(name)
            if marks is None:
                continue
            rows, ids = synthetic_marks(marks)
            found[name] = {"rows": marks.rows, "synthetic_rows": rows, "manifest_ids": ids}
        total = sum(f["synthetic_rows"] for f in found.values())
        details: dict[str, Any] = {"inputs": found}
        if total == 0:
            checked = " and ".join(found) or "no real input"
            return Outcome("pass", f"no synthetic rows in {checked}", observed=0.0, details=details, **base)
        parts = [
            f"{f['synthetic_rows']:,} of {f['rows']:,} {name} rows are synthetic "
            f"(manifest {', '.join(f['manifest_ids'])})"
            for name, f in found.items()
            if f["synthetic_rows"]
        ]
        sentence = "; ".join(parts) + " — judged against synthetic data, every comparison is meaningless"
        reason = str(ctx.options.get(ALLOW_OPTION) or "").strip()
        allowance = None
        if reason:
            details["allowed"] = reason
            allowance = {"by": "--allow-synthetic-in-real", "reason": reason}
        return Outcome("fail", sentence, observed=float(total), details=details, allowance=allowance, **base)
