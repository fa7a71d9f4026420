"""Release policies: versioned YAML rules over metric results, with waivers.

A policy file (see ``policies/README.md``)::

    id: ml-training
    version: 1.0.0
    description: Model development on synthetic features
    rules:
      - id: marginals
        kind: metric              # the default; other kinds: qaharness.rules
        metric: fidelity.ks
        field: value              # value | ci_low | ci_high | baseline | details.<key>
        op: "<="                  # <= < >= > == !=
        threshold: min(2 * baseline, 0.15)   # a number or a threshold expression
        severity: error           # error | warn
        rationale: why this number
    waivers:
      - {rule: marginals, owner: jane, reason: "...", expires: 2026-12-31}
    params:                       # optional: metric parameters, validated by each metric's Params
      privacy.singling_out: {n_attacks: 4000}

``load_policy`` validates a file (errors name the file and line); ``evaluate_policy`` turns a
``Run`` into ``RuleResult``s; ``verdict_of`` is the only place a verdict is decided;
``apply_policy`` returns the run with rules, verdict and policy attached. Each rule kind lives in
``qaharness.rules`` and only answers ``check(ctx)``; waivers and severity are applied here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import UTC, date, datetime
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from ._format import FAILING_STATUSES
from .errors import ParameterError, PolicyError
from .results import PolicyRef, RuleResult, Run
from .rules import FIELDS, OPS, RULE_KINDS, AnyRule, MetricRule, RuleBase, RuleContext
from .rules.metric import known_metric_ids

if TYPE_CHECKING:
    from .inputs import EvalInput
    from .store import RunStore

__all__ = [
    "Policy",
    "Rule",
    "MetricRule",
    "Waiver",
    "LoadedPolicy",
    "Verdict",
    "OPS",
    "FIELDS",
    "known_metric_ids",
    "bundled_policies",
    "load_policy",
    "parse_policy",
    "parse_rule",
    "evaluate_rule",
    "evaluate_policy",
    "verdict_of",
    "apply_policy",
    "check_inputs",
    "DEFAULT_POLICY",
    "MAX_POLICY_NODES",
]

Verdict = Literal["pass", "warn", "fail"]
DEFAULT_POLICY = "default"
_ID = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
#: a policy is a few hundred YAML nodes; a document with more is refused before anything is built
MAX_POLICY_NODES = 20_000
#: the type of one policy rule: any rule kind of ``qaharness.rules`` (a discriminated union: build one
#: with ``parse_rule``, since a union cannot be called)
Rule = AnyRule
_RULE = TypeAdapter(AnyRule)


def parse_rule(fields: Mapping[str, Any]) -> RuleBase:
    """One rule of any kind from its YAML fields (``kind`` picks the class; default ``metric``)."""
    return _RULE.validate_python(dict(fields))


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


class Policy(_Model):
    id: str = Field(pattern=_ID)
    version: str = Field(min_length=1)
    description: str = ""
    rules: list[AnyRule] = Field(min_length=1)
    waivers: list[Waiver] = Field(default_factory=list)
    params: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="metric id → parameters, validated by the metric's Params"
    )

    @field_validator("version", mode="before")
    @classmethod
    def _string_version(cls, value: Any) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise ValueError(f'version must be a string such as "1.0.0" (quote it); got the number {value!r}')
        return value

    def metric_ids(self) -> list[str]:
        """The metrics this policy's rules read, in rule order, without repeats."""
        return list(dict.fromkeys(m for r in self.rules for m in r.metric_ids()))

    def metric_params(self) -> dict[str, dict[str, Any]]:
        """``params:`` for the metrics this policy computes."""
        return {metric: dict(values) for metric, values in self.params.items()}

    def waiver_for(self, rule_id: str) -> Waiver | None:
        return next((w for w in self.waivers if w.rule == rule_id), None)


@dataclass(frozen=True)
class LoadedPolicy:
    """A validated policy and where it came from; ``ref`` goes into results.json."""

    policy: Policy
    source: str
    sha256: str
    #: YAML node path → line, e.g. ('rules', 2, 'sql') → 31 (empty for a policy built in code)
    lines: Mapping[tuple, int] = dc_field(default_factory=dict, repr=False, compare=False)

    @property
    def ref(self) -> PolicyRef:
        return PolicyRef(id=self.policy.id, version=self.policy.version, sha256=self.sha256, source=self.source)

    def line(self, *path: str | int) -> int | None:
        """The line of the deepest node along ``path`` that the file has."""
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None


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
        _refuse_aliases(decoded, source)
        node = yaml.compose(decoded, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise PolicyError(f"not valid YAML: {problem}", source=source, line=mark.line + 1 if mark else None) from None
    if node is None:
        raise PolicyError(
            "a policy is a YAML mapping with id, version and rules; got an empty file", source=source, line=1
        )
    lines = _LineIndex(node, source)  # refuses aliases and oversized documents before anything is built
    data = _construct(node, source)
    if not isinstance(data, dict):
        got = f"a {type(data).__name__}"
        raise PolicyError(f"a policy is a YAML mapping with id, version and rules; got {got}", source=source, line=1)
    duplicate = lines.duplicate_key
    if duplicate:
        raise PolicyError(f"key {duplicate[0]!r} appears twice in one mapping", source=source, line=duplicate[1])
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise _policy_error(exc, data, lines, source) from None
    _check_references(policy, lines, source)
    _check_params(policy, lines, source)
    return LoadedPolicy(policy=policy, source=source, sha256=hashlib.sha256(raw).hexdigest(), lines=dict(lines.lines))


def _refuse_aliases(text: str, source: str) -> None:
    """An alias (``*name``) is refused where it is written: a few hundred bytes of nested aliases
    expand to gigabytes when built. The event stream is read without building anything."""
    for count, event in enumerate(yaml.parse(text, Loader=yaml.SafeLoader)):
        if isinstance(event, yaml.AliasEvent):
            raise PolicyError(
                "YAML aliases (*name) are not allowed in a policy; write the value out",
                source=source,
                line=event.start_mark.line + 1,
            )
        if count > 4 * MAX_POLICY_NODES:
            raise PolicyError(
                f"more than {MAX_POLICY_NODES:,} YAML nodes: not a policy file",
                source=source,
                line=event.start_mark.line + 1,
            )


def _construct(node: yaml.Node, source: str) -> Any:
    """Python data from a checked node tree. A value YAML cannot build (a date such as 2026-02-30)
    is a PolicyError naming its line, not a crash."""
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark else _failing_scalar_line(node)
        raise PolicyError(f"a value cannot be read: {exc}".splitlines()[0], source=source, line=line) from None
    finally:
        loader.dispose()


def _failing_scalar_line(root: yaml.Node) -> int | None:
    """The line of the first scalar YAML cannot build on its own (an impossible date, say)."""
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            loader = yaml.SafeLoader("")
            try:
                loader.construct_object(node, deep=True)
            except (yaml.YAMLError, ValueError, TypeError, OverflowError):
                return node.start_mark.line + 1
            finally:
                loader.dispose()
        elif isinstance(node, yaml.MappingNode):
            stack.extend(item for pair in reversed(node.value) for item in reversed(pair))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(reversed(node.value))
    return None


class _LineIndex:
    """Line numbers (1-based) of YAML nodes by path: ('rules', 0, 'threshold') → 12.

    The walk also guards the loader: an alias (``*name``: a node reached twice) is refused — a few
    hundred bytes of nested aliases expand to gigabytes — and so is a document of more than
    ``MAX_POLICY_NODES`` nodes.
    """

    def __init__(self, root: yaml.Node, source: str = "<policy>"):
        self.lines: dict[tuple, int] = {}
        self.duplicate_key: tuple[str, int] | None = None
        self._source = source
        self._seen: set[int] = set()
        self._walk(root, ())

    def _guard(self, node: yaml.Node) -> None:
        line = node.start_mark.line + 1
        if id(node) in self._seen:
            raise PolicyError(
                "YAML aliases (*name) are not allowed in a policy; write the value out", source=self._source, line=line
            )
        self._seen.add(id(node))
        if len(self._seen) > MAX_POLICY_NODES:
            raise PolicyError(
                f"more than {MAX_POLICY_NODES:,} YAML nodes: not a policy file", source=self._source, line=line
            )

    def _walk(self, node: yaml.Node, path: tuple) -> None:
        self._guard(node)
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in node.value:
                self._guard(key)
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
    out, node = "", cast(Any, data)
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


#: pydantic puts union members into error locations; they are not YAML keys
_TYPE_LOCS = frozenset({"float", "str", "int"})
_KINDS = frozenset(cls.KIND for cls in RULE_KINDS)


def _yaml_loc(loc: Sequence) -> list:
    """An error location as a YAML path: union members and the rule-kind tag (after a rule's index) dropped."""
    out: list = []
    after_index = False
    for part in loc:
        if isinstance(part, str) and (part in _TYPE_LOCS or (after_index and part in _KINDS)):
            after_index = False
            continue
        after_index = isinstance(part, int)
        out.append(part)
    return out


def _policy_error(exc: ValidationError, data: dict, lines: _LineIndex, source: str) -> PolicyError:
    problems: list[str] = []
    first_line: int | None = None
    for error in exc.errors():
        loc = _yaml_loc(error["loc"])
        line = lines.line(loc)
        first_line = first_line or line
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "missing":
            message = "required but missing"
        elif error["type"] == "extra_forbidden":
            message = "unknown key (a typo?)"
        elif error["type"] == "union_tag_invalid":
            kinds = ", ".join(cls.KIND for cls in RULE_KINDS)
            message = f"unknown rule kind {error['input'].get('kind')!r}; kinds: {kinds}"
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


def _check_params(policy: Policy, lines: _LineIndex, source: str) -> None:
    """``params:`` names registered metrics and parameters their ``Params`` accept."""
    from .metrics import get_metric

    known = known_metric_ids()
    for metric_id, values in policy.params.items():
        line = lines.line(("params", metric_id))
        if metric_id not in known:
            raise PolicyError(
                f"params: unknown metric id {metric_id!r}; known: {', '.join(known)}", source=source, line=line
            )
        try:
            get_metric(metric_id)(**values)
        except ParameterError as exc:
            line = lines.line(("params", metric_id, exc.parameter)) or line
            raise PolicyError(f"params.{metric_id}: {exc}", source=source, line=line) from None


def check_inputs(policy: LoadedPolicy, data: EvalInput) -> None:
    """Every rule that reads the tables can apply to these inputs (e.g. a constraint's columns
    exist); else a ``PolicyError`` naming the rule and its line. The gate calls this before any
    metric runs."""
    for index, rule in enumerate(policy.policy.rules):
        if not rule.needs_data():
            continue
        try:
            rule.validate_data(data)
        except ValueError as exc:
            line = policy.line("rules", index, "sql")  # the sql key where the rule has one, else the rule
            raise PolicyError(f"rules[{index}] (id {rule.id!r}): {exc}", source=policy.source, line=line) from None


# -- evaluating -------------------------------------------------------------------------
def _today() -> date:
    return datetime.now(UTC).date()


def evaluate_rule(
    rule: AnyRule,
    run: Run,
    waiver: Waiver | None = None,
    *,
    today: date | None = None,
    context: RuleContext | None = None,
) -> RuleResult:
    """One rule against one run, waivers applied. A rule that cannot be judged (a metric in error
    or skipped, a missing field) has status ``error``; too little evidence, ``insufficient``."""
    today = today or _today()
    ctx = context or RuleContext(run=run, today=today)
    outcome = rule.check(ctx)
    status: str = outcome.status
    message = outcome.message
    waiver_info = None
    if outcome.allowance is not None and status in FAILING_STATUSES:
        allowed_by, reason = outcome.allowance.get("by", "the gate run"), outcome.allowance.get("reason", "")
        message = f"{status.upper()} {message}; allowed by {allowed_by}: {reason}"
        waiver_info = {"rule": rule.id, "owner": allowed_by, "reason": reason, "expires": None, "active": True}
        status, waiver = "waived", None
    if waiver is not None:
        active = waiver.active(today)
        waiver_info = {**waiver.model_dump(mode="json"), "active": active}
        if not active:
            message += f"; waiver by {waiver.owner} expired on {waiver.expires.isoformat()} and no longer applies"
        elif status in FAILING_STATUSES:
            message = f"{status.upper()} {message}; {waiver.describe()}"
            status = "waived"
        else:
            message += f"; waiver by {waiver.owner} (until {waiver.expires.isoformat()}) not needed"
    return RuleResult(
        id=rule.id,
        kind=rule.kind,
        metric=outcome.metric,
        family=outcome.family,
        field=outcome.field,
        op=outcome.op,
        threshold=outcome.threshold,
        threshold_expr=outcome.threshold_expr,
        observed=outcome.observed,
        severity=rule.severity,
        status=status,
        message=message,
        rationale=rule.rationale.strip(),
        waiver=waiver_info,
        details=outcome.details,
    )


def evaluate_policy(
    policy: Policy | LoadedPolicy,
    run: Run,
    *,
    today: date | None = None,
    data: EvalInput | None = None,
    store: RunStore | None = None,
    options: Mapping[str, Any] | None = None,
) -> list[RuleResult]:
    """Every rule of ``policy`` against ``run``, in file order. ``data`` (the validated inputs) is
    needed by rule kinds that read the tables; ``store`` by those that read earlier runs."""
    policy = policy.policy if isinstance(policy, LoadedPolicy) else policy
    ctx = RuleContext(run=run, today=today or _today(), data=data, store=store, options=dict(options or {}))
    return [evaluate_rule(rule, run, policy.waiver_for(rule.id), today=ctx.today, context=ctx) for rule in policy.rules]


def verdict_of(rules: Sequence[RuleResult]) -> Verdict:
    """fail: an error-severity rule failed, errored or lacked evidence; warn: a warn-severity one
    did; else pass. Waived rules don't change the verdict (they are reported everywhere instead)."""
    broken = [r for r in rules if r.status in FAILING_STATUSES]
    if any(r.severity == "error" for r in broken):
        return "fail"
    return "warn" if broken else "pass"


def apply_policy(
    run: Run,
    policy: LoadedPolicy,
    *,
    today: date | None = None,
    data: EvalInput | None = None,
    store: RunStore | None = None,
    options: Mapping[str, Any] | None = None,
) -> Run:
    """The run with ``rules``, ``verdict`` and ``policy`` filled in."""
    rules = evaluate_policy(policy, run, today=today, data=data, store=store, options=options)
    return run.model_copy(update={"rules": rules, "verdict": verdict_of(rules), "policy": policy.ref})
