"""Release policies: versioned YAML rules over metric results, with waivers.

A policy file (see ``policies/README.md``)::

    id: ml-training
    version: 1.0.0
    description: Model development on synthetic features
    rules:
      - id: marginals
        metric: fidelity.ks
        field: value              # value | ci_low | ci_high | baseline | details.<key>
        op: "<="                  # <= < >= > == !=
        threshold: min(2 * baseline, 0.15)   # a number or a threshold expression
        severity: error           # error | warn
        rationale: why this number
    waivers:
      - {rule: marginals, owner: jane, reason: "...", expires: 2026-12-31}

``load_policy`` validates a file (errors name the file and line); ``evaluate_policy`` turns a
``Run`` into ``RuleResult``s and a verdict; ``apply_policy`` returns the run with both attached.
"""

from __future__ import annotations

import hashlib
import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ._threshold import MissingVariable, Threshold, ThresholdSyntaxError
from .errors import PolicyError
from .metrics import metric_ids
from .results import Family, MetricResult, PolicyRef, RuleResult, Run, Status

__all__ = [
    "Policy",
    "Rule",
    "Waiver",
    "LoadedPolicy",
    "Verdict",
    "OPS",
    "FIELDS",
    "known_metric_ids",
    "bundled_policies",
    "load_policy",
    "parse_policy",
    "evaluate_rule",
    "evaluate_policy",
    "verdict_of",
    "apply_policy",
    "DEFAULT_POLICY",
]

Verdict = Literal["pass", "warn", "fail"]
DEFAULT_POLICY = "default"
OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
    "==": lambda a, b: math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12),
    "!=": lambda a, b: not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12),
}
FIELDS = ("value", "ci_low", "ci_high", "baseline")
_ID = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"


def known_metric_ids() -> list[str]:
    """Every id a rule may name: the registered metrics (provenance.tagged included)."""
    return metric_ids()


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Waiver(_Model):
    """Accepted risk on one rule, by a named owner, until (and including) ``expires``."""

    rule: str = Field(description="id of the waived rule")
    owner: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    expires: date

    def active(self, today: date) -> bool:
        return today <= self.expires

    def describe(self) -> str:
        return f"waived by {self.owner} until {self.expires.isoformat()}: {self.reason}"


class Rule(_Model):
    """``metric.field op threshold`` must hold; a failure counts as ``severity``."""

    id: str = Field(pattern=_ID)
    metric: str
    field: str = "value"
    op: Literal["<=", "<", ">=", ">", "==", "!="]
    threshold: float | str
    severity: Literal["error", "warn"] = "error"
    rationale: str = ""

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        known = known_metric_ids()
        if value not in known:
            raise ValueError(f"unknown metric id {value!r}; known: {', '.join(known)}")
        return value

    @field_validator("field")
    @classmethod
    def _known_field(cls, value: str) -> str:
        if value in FIELDS or re.fullmatch(r"details(\.[A-Za-z0-9_\-]+)+", value):
            return value
        raise ValueError(f"field must be one of {', '.join(FIELDS)} or details.<key>; got {value!r}")

    @field_validator("threshold", mode="before")
    @classmethod
    def _valid_threshold(cls, value: Any) -> float | str:
        try:
            parsed = Threshold.parse(value)
        except ThresholdSyntaxError as exc:
            raise ValueError(str(exc)) from None
        return parsed.constant if parsed.constant is not None else parsed.text

    @property
    def parsed_threshold(self) -> Threshold:
        return Threshold.parse(self.threshold)


class Policy(_Model):
    id: str = Field(pattern=_ID)
    version: str = Field(min_length=1)
    description: str = ""
    rules: list[Rule] = Field(min_length=1)
    waivers: list[Waiver] = Field(default_factory=list)

    @field_validator("version", mode="before")
    @classmethod
    def _string_version(cls, value: Any) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise ValueError(f'version must be a string such as "1.0.0" (quote it); got the number {value!r}')
        return value

    def metric_ids(self) -> list[str]:
        """The metrics this policy reads, in rule order, without repeats."""
        return list(dict.fromkeys(r.metric for r in self.rules))

    def waiver_for(self, rule_id: str) -> Waiver | None:
        return next((w for w in self.waivers if w.rule == rule_id), None)


@dataclass(frozen=True)
class LoadedPolicy:
    """A validated policy and where it came from; ``ref`` goes into results.json."""

    policy: Policy
    source: str
    sha256: str

    @property
    def ref(self) -> PolicyRef:
        return PolicyRef(id=self.policy.id, version=self.policy.version, sha256=self.sha256, source=self.source)


# -- loading ----------------------------------------------------------------------------
def bundled_policies() -> dict[str, Path]:
    """Policies shipped in ``qaharness.policies``: name → path."""
    folder = files("qaharness.policies")
    return {Path(p.name).stem: Path(str(p)) for p in folder.iterdir() if p.name.endswith(".yaml")}


def load_policy(policy: str | Path | None = None) -> LoadedPolicy:
    """Load a policy file, or a bundled one by name (``default``, ``ml-training``, ...).

    Raises ``PolicyError`` naming the file (and line) for anything malformed.
    """
    if policy is None:
        policy = DEFAULT_POLICY
    path = Path(policy)
    if not path.exists():
        bundled = bundled_policies()
        if str(policy) in bundled:
            path = bundled[str(policy)]
        else:
            raise PolicyError(
                f"no such policy file; bundled policies: {', '.join(sorted(bundled))}", source=str(policy)
            )
    if path.is_dir():
        raise PolicyError("is a folder, not a policy file", source=str(path))
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PolicyError(f"cannot read: {exc.strerror or exc}", source=str(path)) from None
    return parse_policy(raw, source=str(path))


def parse_policy(text: str | bytes, *, source: str = "<policy>") -> LoadedPolicy:
    """Validate policy YAML text; ``source`` names it in errors."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", source=source) from None
    try:
        node = yaml.compose(decoded, Loader=yaml.SafeLoader)
        data = yaml.safe_load(decoded)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise PolicyError(f"not valid YAML: {problem}", source=source, line=mark.line + 1 if mark else None) from None
    if not isinstance(data, dict) or node is None:
        got = "an empty file" if data is None else f"a {type(data).__name__}"
        raise PolicyError(f"a policy is a YAML mapping with id, version and rules; got {got}", source=source, line=1)
    lines = _LineIndex(node)
    duplicate = lines.duplicate_key
    if duplicate:
        raise PolicyError(f"key {duplicate[0]!r} appears twice in one mapping", source=source, line=duplicate[1])
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise _policy_error(exc, data, lines, source) from None
    _check_references(policy, lines, source)
    return LoadedPolicy(policy=policy, source=source, sha256=hashlib.sha256(raw).hexdigest())


class _LineIndex:
    """Line numbers (1-based) of YAML nodes by path: ('rules', 0, 'threshold') → 12."""

    def __init__(self, root: yaml.Node):
        self.lines: dict[tuple, int] = {}
        self.duplicate_key: tuple[str, int] | None = None
        self._walk(root, ())

    def _walk(self, node: yaml.Node, path: tuple) -> None:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in node.value:
                name = key.value if isinstance(key, yaml.ScalarNode) else f"<{key.tag} key>"
                if name in seen and self.duplicate_key is None:
                    self.duplicate_key = (name, key.start_mark.line + 1)
                seen.add(name)
                self._walk(value, (*path, name))
                self.lines[(*path, name)] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._walk(item, (*path, index))

    def line(self, loc: Sequence) -> int | None:
        """The line of the deepest existing node along ``loc``."""
        path: tuple = ()
        best = self.lines.get(())
        for part in loc:
            candidate = (*path, part)
            if candidate not in self.lines:
                break
            path = candidate
            best = self.lines[path]
        return best


def _where(loc: Sequence, data: dict) -> str:
    """('rules', 1, 'threshold') → "rules[1] (id 'memorization').threshold"."""
    out, node = "", data
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("id"), str):
                out += f" (id {node['id']!r})"
        else:
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out or "policy"


def _policy_error(exc: ValidationError, data: dict, lines: _LineIndex, source: str) -> PolicyError:
    problems, first_line = [], None
    for error in exc.errors():
        loc = [p for p in error["loc"] if not (isinstance(p, str) and p in ("float", "str"))]
        line = lines.line(loc)
        first_line = first_line or line
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "missing":
            message = "required but missing"
        elif error["type"] == "extra_forbidden":
            message = "unknown key (a typo?)"
        problems.append(f"{_where(loc, data)}: {message}" + (f" (line {line})" if line and problems else ""))
    return PolicyError("; ".join(problems), source=source, line=first_line)


def _check_references(policy: Policy, lines: _LineIndex, source: str) -> None:
    seen: set[str] = set()
    for index, rule in enumerate(policy.rules):
        if rule.id in seen:
            raise PolicyError(
                f"rules[{index}]: rule id {rule.id!r} is used twice",
                source=source,
                line=lines.line(("rules", index, "id")),
            )
        seen.add(rule.id)
    waived: set[str] = set()
    for index, waiver in enumerate(policy.waivers):
        if waiver.rule not in seen:
            raise PolicyError(
                f"waivers[{index}]: no rule {waiver.rule!r}; rules: {', '.join(sorted(seen))}",
                source=source,
                line=lines.line(("waivers", index, "rule")),
            )
        if waiver.rule in waived:
            raise PolicyError(
                f"waivers[{index}]: rule {waiver.rule!r} has two waivers",
                source=source,
                line=lines.line(("waivers", index, "rule")),
            )
        waived.add(waiver.rule)


# -- evaluating -------------------------------------------------------------------------
def _today() -> date:
    return datetime.now(UTC).date()


def _lookup(result: MetricResult, field: str) -> float | None:
    if field == "value":
        return result.value
    if field == "baseline":
        return result.baseline
    if field in ("ci_low", "ci_high"):
        return None if result.ci is None else result.ci[0 if field == "ci_low" else 1]
    node: Any = result.details
    for key in field.split(".")[1:]:
        node = node.get(key) if isinstance(node, dict) else None
    if isinstance(node, bool) or not isinstance(node, (int, float)) or not math.isfinite(node):
        return None
    return float(node)


def _names(result: MetricResult, threshold: Threshold) -> dict[str, float | None]:
    names = {name: _lookup(result, name) for name in ("value", "ci_low", "ci_high", "baseline")}
    names.update({name: _lookup(result, name) for name in threshold.names() if name.startswith("details.")})
    return names


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def _missing_message(rule: Rule, result: MetricResult, name: str) -> str:
    if name == "baseline":
        return (
            f"{rule.metric} has no baseline (the same metric on holdout vs real; it needs --holdout, and "
            f"not every metric reports one); the rule cannot be checked without it"
        )
    if name in ("ci_low", "ci_high"):
        return f"{rule.metric} reports no confidence interval, so {name} is undefined"
    return f"{rule.metric} has no numeric {name}"


def _check_rule(rule: Rule, run: Run) -> tuple[str, float | None, float | None, str, Family | None]:
    """(status, observed, threshold, message, family) before waivers."""
    try:
        result = run.metric(rule.metric)
    except KeyError:
        return "error", None, None, f"{rule.metric} was not computed in this run", None
    family = result.family
    if result.status is not Status.OK:
        why = result.message or "no reason given"
        return "error", None, None, f"{rule.metric} is {result.status.value} ({why}); a rule needs a value", family
    observed = _lookup(result, rule.field)
    threshold = rule.parsed_threshold
    if observed is None:
        return "error", None, None, _missing_message(rule, result, rule.field), family
    try:
        bound = threshold.evaluate(_names(result, threshold))
    except MissingVariable as exc:
        return "error", observed, None, _missing_message(rule, result, exc.name), family
    except (ZeroDivisionError, ThresholdSyntaxError) as exc:
        return "error", observed, None, f"threshold {threshold.text!r} cannot be evaluated: {exc}", family
    shown = _num(bound) + (
        f" = {threshold.text}" + (f", baseline {_num(result.baseline)}" if "baseline" in threshold.names() else "")
        if threshold.relative
        else ""
    )
    if OPS[rule.op](observed, bound):
        return "pass", observed, bound, f"{rule.field} {_num(observed)} {rule.op} {shown}", family
    return "fail", observed, bound, f"{rule.field} {_num(observed)} is not {rule.op} {shown}", family


def evaluate_rule(rule: Rule, run: Run, waiver: Waiver | None = None, *, today: date | None = None) -> RuleResult:
    """One rule against one run. A metric in error or skipped fails the rule (status ``error``)."""
    status, observed, bound, message, family = _check_rule(rule, run)
    waiver_info = None
    if waiver is not None:
        active = waiver.active(today or _today())
        waiver_info = {**waiver.model_dump(mode="json"), "active": active}
        if not active:
            message += f"; waiver by {waiver.owner} expired on {waiver.expires.isoformat()} and no longer applies"
        elif status in ("fail", "error"):
            message = f"{status.upper()} {message}; {waiver.describe()}"
            status = "waived"
        else:
            message += f"; waiver by {waiver.owner} (until {waiver.expires.isoformat()}) not needed"
    threshold = rule.parsed_threshold
    return RuleResult(
        id=rule.id,
        metric=rule.metric,
        family=family,
        field=rule.field,
        op=rule.op,
        threshold=bound,
        threshold_expr=threshold.text if threshold.relative else None,
        observed=observed,
        severity=rule.severity,
        status=status,
        message=message,
        rationale=rule.rationale.strip(),
        waiver=waiver_info,
    )


def evaluate_policy(policy: Policy | LoadedPolicy, run: Run, *, today: date | None = None) -> list[RuleResult]:
    """Every rule of ``policy`` against ``run``, in file order."""
    policy = policy.policy if isinstance(policy, LoadedPolicy) else policy
    return [evaluate_rule(rule, run, policy.waiver_for(rule.id), today=today) for rule in policy.rules]


def verdict_of(rules: Sequence[RuleResult]) -> Verdict:
    """fail: an error-severity rule failed or errored; warn: a warn-severity one did; else pass.

    Waived rules don't change the verdict (they are reported everywhere instead).
    """
    broken = [r for r in rules if r.status in ("fail", "error")]
    if any(r.severity == "error" for r in broken):
        return "fail"
    return "warn" if broken else "pass"


def apply_policy(run: Run, policy: LoadedPolicy, *, today: date | None = None) -> Run:
    """The run with ``rules``, ``verdict`` and ``policy`` filled in."""
    rules = evaluate_policy(policy, run, today=today)
    return run.model_copy(update={"rules": rules, "verdict": verdict_of(rules), "policy": policy.ref})
