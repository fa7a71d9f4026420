"""Run a calibration case through the release gate and judge its verdict against the case's expectation.

``gate_case(case, policy)`` calls ``qaharness.gate.run_gate`` (``record=False``, outputs in a
temporary folder) and returns a :class:`GateOutcome`: verdict, exit code, every rule result and a
:class:`Judgement`. Bad input (exit 2) is the verdict ``refused``; any other exception the verdict
``error`` (exit 3) with its message — the grid goes on. The synthetic rows are tagged as a
generator's output is (``_qaharness_provenance``), so ``provenance.tagged`` holds and the three
pillars are what is judged.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass

from qaharness._format import FAILING_STATUSES
from qaharness._provenance_files import TAG_COLUMN, TAG_PREFIX
from qaharness.errors import BadInputError
from qaharness.gate import run_gate
from qaharness.policy import LoadedPolicy, load_policy
from qaharness.results import RuleResult

from .cases import Case, Expected

__all__ = ["GateOutcome", "Judgement", "gate_case", "judge", "pillar_of", "failing_rules", "POLICIES"]

#: the bundled policies the calibration grid runs by default
POLICIES = ("default", "ml-training", "external-sharing")
CALIBRATION_TAG = TAG_PREFIX + "calibration"


@dataclass(frozen=True)
class Judgement:
    """Whether a verdict met its case's expectation."""

    ok: bool
    #: a rule of a ``catch`` pillar failed (None when the case expects no catch)
    caught: bool | None
    #: ``clean`` pillars with a failing rule (any severity)
    wrongly_failed: tuple[str, ...]
    summary: str


@dataclass(frozen=True)
class GateOutcome:
    """One case gated under one policy."""

    case: Case
    policy: str
    verdict: str  # pass | warn | fail | refused | error
    exit_code: int
    rules: tuple[RuleResult, ...]
    message: str
    seconds: float
    judgement: Judgement


def pillar_of(rule: RuleResult) -> str:
    """The pillar a rule judges: its metric's family, or its kind for rules that read no metric."""
    return rule.family.value if rule.family is not None else rule.kind


def failing_rules(rules: Iterable[RuleResult]) -> list[RuleResult]:
    """Rules that failed, errored or could not decide, either severity (waived ones excluded) — except
    a *warning* that could not decide (``insufficient``): it says the data are too few for that check
    (ml-training's feature agreement below 1,000 rows), not that anything is wrong with them, so it is
    no false alarm on honest data; an error-severity rule that cannot decide still counts (the gate fails)."""
    return [
        r for r in rules if r.status in FAILING_STATUSES and not (r.status == "insufficient" and r.severity == "warn")
    ]


def judge(expected: Expected, verdict: str, rules: Iterable[RuleResult]) -> Judgement:
    """Compare a gate's verdict and rules with what the case expects (see ``Expected``).

    A defect is *caught* when a rule of a ``catch`` pillar fails (or errs, or cannot decide) at the
    strongest severity the policy uses for that pillar: an error-severity rule where the pillar has
    one, a warning where the policy only warns on that pillar (external-sharing's fidelity rules).
    A memorisation flagged only by a warning under a policy with error-severity privacy rules is
    not caught: the gate would let it through with exit 0. A warning that cannot decide
    (``insufficient``) is no false alarm on honest data (``failing_rules``) but does flag a defect
    on a warn-only pillar: the gate said it could not vouch for it (external-sharing's utility rule
    on a target the real model barely predicts).
    """
    rules = list(rules)
    # below a pillar's calibrated minimum size, "insufficient evidence" there is the right answer
    bad = [r for r in failing_rules(rules) if not (r.status == "insufficient" and pillar_of(r) in expected.undecidable)]
    wrong = tuple(sorted({pillar_of(r) for r in bad} & expected.clean))
    failed = ", ".join(f"{r.id} ({pillar_of(r)}, {r.status})" for r in bad) or "none"
    if verdict == "error" or (verdict == "refused") != (expected.outcome == "refused"):
        return Judgement(False, None, wrong, f"expected {expected.outcome}, got {verdict}")
    caught = None
    if expected.catch and expected.outcome in ("caught", "not-pass"):
        blocking = {pillar_of(r) for r in rules if r.severity == "error"}
        # a warning that cannot decide still flags the defect on a pillar the policy only warns on
        # (the gate refused to vouch for it): it counts as caught, where it is no false alarm above
        flagged = [r for r in rules if r.status in FAILING_STATUSES]
        caught = any(
            pillar_of(r) in expected.catch
            and (not expected.metrics or r.metric in expected.metrics)
            and (r.severity == "error" or pillar_of(r) not in blocking)
            for r in flagged
        )
    if expected.outcome == "refused":
        ok = True
    elif expected.outcome == "not-pass":
        ok = verdict != "pass" and caught is not False
    elif expected.outcome == "pass":
        ok = not bad
    else:
        ok = caught is not False and not wrong
    summary = f"{'ok' if ok else 'WRONG'}: expected {expected.outcome}, verdict {verdict}; failing: {failed}"
    return Judgement(ok, caught, wrong, summary)


def gate_case(case: Case, policy: str | LoadedPolicy, *, seed: int = 0, tag_synthetic: bool = True) -> GateOutcome:
    """Gate ``case`` under ``policy`` (a bundled name, a file or a loaded policy) and judge the verdict."""
    loaded = policy if isinstance(policy, LoadedPolicy) else load_policy(policy)
    synthetic = case.synthetic.assign(**{TAG_COLUMN: CALIBRATION_TAG}) if tag_synthetic else case.synthetic
    start = time.perf_counter()
    rules: tuple[RuleResult, ...] = ()
    message = ""
    with tempfile.TemporaryDirectory(prefix="qaharness-calibration-") as out:
        try:
            result = run_gate(
                case.real, synthetic, case.holdout, out=out, policy=loaded, target=case.target, seed=seed, record=False
            )
        except BadInputError as exc:
            verdict, exit_code, message = "refused", 2, str(exc)
        except Exception as exc:  # the grid records an internal error and goes on
            verdict, exit_code, message = "error", 3, f"{type(exc).__name__}: {exc}"
        else:
            verdict, exit_code, rules = result.verdict, result.exit_code, tuple(result.run.rules or ())
    seconds = time.perf_counter() - start
    judgement = judge(case.expected, verdict, rules)
    return GateOutcome(case, loaded.policy.id, verdict, exit_code, rules, message, seconds, judgement)
