"""``kind: budget`` — the privacy budget composed over every release from this real source.

```yaml
- id: privacy-budget
  kind: budget
  max_epsilon: 5            # composed ε for this source, this release included
  max_delta: 1.0e-5         # optional: composed δ
  severity: error
  rationale: the data owner's total budget for this table
```

The source is the one the synthetic table's manifest names (``source_fingerprint``), else the
gate's real table (its fingerprint is computed the same way); the releases are the run store's
ledger for it plus the synthetic table being gated, counted once per manifest id
(``qaharness.budget.compose``: basic composition, or RDP/PRV where valid). A synthetic table
without a manifest, a release that is not differentially private, or one whose manifest's seal is
broken is an unbounded spend and fails the rule.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from qaharness._format import fmt_sig

from ._base import Outcome, RuleBase, RuleContext

__all__ = ["BudgetRule"]


class BudgetRule(RuleBase):
    """The composed ε (and optionally δ) of all releases from this real source, this one included."""

    KIND: ClassVar[str] = "budget"
    kind: Literal["budget"] = "budget"
    max_epsilon: float = Field(gt=0, allow_inf_nan=False, description="largest composed ε allowed")
    max_delta: float | None = Field(None, gt=0, lt=1, description="largest composed δ allowed (unchecked when unset)")

    def check(self, ctx: RuleContext) -> Outcome:
        from qaharness.budget import compose, ledger, manifest_from_provenance, release_from_manifest

        base: dict[str, Any] = {"op": "<=", "field": "composed_epsilon", "threshold": self.max_epsilon}
        real = ctx.run.inputs.get("real")
        manifest = manifest_from_provenance(ctx.run.provenance)
        source = (manifest.source_fingerprint if manifest else None) or (real.fingerprint if real else None)
        if not source:
            return Outcome("error", "the run records no fingerprint of the real table to look up its ledger", **base)
        if ctx.store is None:
            return Outcome("error", "a budget rule reads the run store's ledger; judge it in a gate run", **base)
        earlier = ledger(ctx.store, source)
        this = None if manifest is None else release_from_manifest(manifest, origin="gate", source_fingerprint=source)
        composition = compose([*earlier, *([this] if this is not None else [])], source)
        details: dict[str, Any] = {
            "source_fingerprint": source,
            "ledger_entries": len(earlier),
            "this_release": this.manifest_id if this is not None else None,
            "composition": composition.model_dump(mode="json"),
        }
        if this is None:
            sentence = (
                "the synthetic table carries no provenance manifest, so what it spent is unknown: an unbounded "
                f"spend; earlier releases from this source: {composition.describe()}"
            )
            return Outcome("fail", sentence, details=details, **base)
        if composition.epsilon is None:
            return Outcome(
                "fail", f"composed budget for this source is {composition.describe()}", details=details, **base
            )
        sentence = f"composed {composition.describe()}"
        status: Literal["pass", "fail"] = "pass"
        if composition.epsilon > self.max_epsilon:
            status, sentence = "fail", sentence + f"; allowed: ε ≤ {fmt_sig(self.max_epsilon)}"
        if self.max_delta is not None and composition.delta > self.max_delta:
            status, sentence = "fail", sentence + f"; δ above the allowed {self.max_delta:.3g}"
        return Outcome(status, sentence, observed=composition.epsilon, details=details, **base)
