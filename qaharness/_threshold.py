"""Thresholds of policy rules: a number, or a small arithmetic expression over the metric's fields.

An expression such as ``min(2 * baseline, 0.15)`` says "at most twice the holdout noise floor,
and never above 0.15". It is parsed with :mod:`ast` and checked against a whitelist at load
time, then evaluated by walking the tree — never with ``eval``. The language:

- numbers (``0.15``, ``1e-3``), ``+ - * /``, unary minus, parentheses;
- ``min(a, b, ...)``, ``max(a, b, ...)``, ``abs(a)``;
- names bound to the rule's metric: ``baseline`` (the same metric on holdout vs real),
  ``value``, ``ci_low``, ``ci_high`` and ``details.<key>`` (a numeric entry of its details).
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["Threshold", "ThresholdSyntaxError", "MissingVariable", "VARIABLES", "FUNCTIONS"]

VARIABLES = ("baseline", "value", "ci_low", "ci_high")
FUNCTIONS: dict[str, Callable[..., float]] = {"min": min, "max": max, "abs": abs}
_BINARY: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_UNARY: dict[type, Callable[[float], float]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}


class ThresholdSyntaxError(ValueError):
    """The expression uses something outside the threshold language."""


class MissingVariable(LookupError):
    """The expression needs a field the metric result does not carry (e.g. no baseline)."""

    def __init__(self, name: str):
        self.name = name
        super().__init__(name)


def _dotted(node: ast.AST) -> str | None:
    """``details.a.b`` → 'details.a.b'; a bare name → itself; anything else → None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return f"{head}.{node.attr}" if head else None
    return None


def _check(node: ast.AST, text: str) -> None:
    if isinstance(node, ast.Expression):
        return _check(node.body, text)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise ThresholdSyntaxError(f"only numbers are allowed as constants, got {node.value!r}")
        if not math.isfinite(node.value):
            raise ThresholdSyntaxError(f"the number {ast.get_source_segment(text, node) or node.value} is not finite")
        return None
    if isinstance(node, (ast.Name, ast.Attribute)):
        name = _dotted(node)
        if name in VARIABLES or (name and name.startswith("details.") and name.count(".") >= 1):
            return None
        raise ThresholdSyntaxError(
            f"unknown name {name or ast.unparse(node)!r}; use a number, {', '.join(VARIABLES)} or details.<key>"
        )
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        _check(node.left, text)
        return _check(node.right, text)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _check(node.operand, text)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS:
        if node.keywords or not node.args or (node.func.id == "abs" and len(node.args) != 1):
            raise ThresholdSyntaxError(f"{node.func.id}() takes positional numbers only")
        for arg in node.args:
            _check(arg, text)
        return None
    raise ThresholdSyntaxError(
        f"{ast.unparse(node)!r} is not allowed; the language has numbers, + - * /, "
        f"min(), max(), abs() and the names {', '.join(VARIABLES)}, details.<key>"
    )


def _is_function(node: ast.AST, tree: ast.AST) -> bool:
    """Whether ``node`` is the name of a called function (``min`` in ``min(a, b)``)."""
    return any(isinstance(call, ast.Call) and call.func is node for call in ast.walk(tree))


#: far above any real threshold (the bundled policies' longest is ~40 characters, depth 4), far
#: below what exhausts the parser: 50,000 unary minus signs took CPython's parser to MemoryError
MAX_LENGTH, MAX_DEPTH = 500, 32


def _depth(tree: ast.AST) -> int:
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 60 else repr(text[:40]) + f"… ({len(text):,} characters)"


@lru_cache(maxsize=512)
def _parse(text: str) -> ast.Expression:
    text = text.strip()
    if len(text) > MAX_LENGTH:
        raise ThresholdSyntaxError(
            f"threshold expression {_shown(text)} is longer than {MAX_LENGTH} characters; write it more simply"
        )
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ThresholdSyntaxError(f"cannot parse threshold expression {_shown(text)}: {exc.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise ThresholdSyntaxError(f"threshold expression {_shown(text)} is nested too deeply") from None
    if _depth(tree) > MAX_DEPTH:
        raise ThresholdSyntaxError(
            f"threshold expression {_shown(text)} nests more than {MAX_DEPTH} levels; write it more simply"
        )
    _check(tree, text)
    return tree


def _walk(node: ast.AST, names: Mapping[str, float | None]) -> float:
    if isinstance(node, ast.Expression):
        return _walk(node.body, names)
    if isinstance(node, ast.Constant):
        return float(node.value)  # type: ignore[arg-type]  # _check admitted only int/float constants
    if isinstance(node, (ast.Name, ast.Attribute)):
        name = _dotted(node) or ""
        value = names.get(name)
        if value is None:
            raise MissingVariable(name)
        return float(value)
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_walk(node.left, names), _walk(node.right, names))
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_walk(node.operand, names))
    if isinstance(node, ast.Call):
        return float(FUNCTIONS[node.func.id](*(_walk(a, names) for a in node.args)))  # type: ignore[attr-defined]
    raise ThresholdSyntaxError(f"unexpected {ast.dump(node)}")  # unreachable after _check


@dataclass(frozen=True)
class Threshold:
    """A rule's threshold: a constant or a checked expression."""

    text: str
    constant: float | None = None

    @classmethod
    def parse(cls, raw: object) -> Threshold:
        """A number or an expression string; raises ``ThresholdSyntaxError`` for anything else."""
        if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
            raise ThresholdSyntaxError(
                f"threshold must be a number or an expression such as 'min(2 * baseline, 0.15)', "
                f"got {type(raw).__name__} {raw!r}"
            )
        if isinstance(raw, (int, float)):
            if not math.isfinite(raw):
                raise ThresholdSyntaxError(f"threshold must be finite, got {raw!r}")
            return cls(text=repr(float(raw)), constant=float(raw))
        tree = _parse(raw)
        if not any(
            isinstance(node, (ast.Name, ast.Attribute)) and not _is_function(node, tree) for node in ast.walk(tree)
        ):  # arithmetic on numbers only: evaluate it now
            try:
                value = _walk(tree, {})
            except (ZeroDivisionError, OverflowError) as exc:
                raise ThresholdSyntaxError(f"threshold {_shown(raw.strip())} cannot be computed: {exc}") from None
            if not math.isfinite(value):
                raise ThresholdSyntaxError(f"threshold {_shown(raw.strip())} evaluates to {value}, not a finite number")
            return cls(text=raw.strip(), constant=value)
        return cls(text=raw.strip())

    @property
    def relative(self) -> bool:
        return self.constant is None

    def names(self) -> set[str]:
        """The variables the expression reads."""
        if self.constant is not None:
            return set()
        return {
            n
            for n in (
                _dotted(node) for node in ast.walk(_parse(self.text)) if isinstance(node, (ast.Name, ast.Attribute))
            )
            if n and n not in FUNCTIONS and (n in VARIABLES or n.startswith("details."))
        }

    def evaluate(self, names: Mapping[str, float | None]) -> float:
        """The number; raises ``MissingVariable`` when a name has no value, ZeroDivisionError as is."""
        if self.constant is not None:
            return self.constant
        result = _walk(_parse(self.text), names)
        if not math.isfinite(result):
            raise ThresholdSyntaxError(f"threshold {self.text!r} evaluated to {result}")
        return result
