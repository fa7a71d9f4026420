"""``kind: constraint`` — a declared condition, a SQL boolean expression, that rows must meet.

```yaml
- id: emea-countries
  kind: constraint
  sql: "region <> 'EMEA' OR country IN ('DE', 'FR', 'NL')"
  threshold: 0                    # largest share of synthetic rows allowed to violate it (default 0)
  severity: error
  rationale: EMEA rows only carry EMEA countries
```

DuckDB evaluates the expression as the WHERE predicate over a view of the synthetic table (and of
the real one, to show it holds there). Columns appear as qaharness reads them: numeric DOUBLE,
datetime TIMESTAMP, boolean BOOLEAN, everything else VARCHAR. A row whose expression is NULL (a
missing value compared) counts as meeting it, as in a SQL CHECK constraint.

Only an expression is accepted: no semicolons, no statements, no subqueries, window functions or
parameters; the connection has external access disabled (no files, no network, no extensions).
The expression is parsed when the policy loads and bound against the columns before any metric
runs (``validate_data``); both failures are a ``PolicyError`` naming the rule and the line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import duckdb
import pandas as pd
from pydantic import Field, field_validator

from qaharness._format import fmt_sig
from qaharness.schema import ColumnKind, Schema

from ._base import Outcome, RuleBase, RuleContext

if TYPE_CHECKING:
    from qaharness.inputs import EvalInput

__all__ = ["ConstraintRule", "SqlError", "parse_expression", "count_violations"]

VIEW = "qaharness_rows"
#: expression node classes DuckDB's parser may produce that read more than the row in hand
_REFUSED_CLASSES = {"SUBQUERY": "a subquery", "WINDOW": "a window function", "PARAMETER": "a parameter"}
_CONFIG = {
    "enable_external_access": False,
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
    "threads": 1,
}


class SqlError(Exception):
    """DuckDB could not run a constraint's expression; the message is DuckDB's first line with
    single-quoted text (values from the data) hidden."""


def _run(query: str, params: list[Any] | None = None, table: pd.DataFrame | None = None) -> list[tuple]:
    """Rows of ``query`` on a fresh sandboxed connection (``table`` registered as the view). DuckDB's
    error becomes a ``SqlError`` raised after the connection is gone, so no traceback keeps it alive."""
    message = None
    connection = duckdb.connect(":memory:", config=dict(_CONFIG))
    try:
        if table is not None:
            connection.register(VIEW, table)
        rows = connection.execute(query, params or []).fetchall()
    except duckdb.Error as exc:
        message, rows = _first_line(exc), []
    finally:
        connection.close()
        del connection
    if message is not None:
        raise SqlError(message)
    return rows


def _first_line(exc: BaseException) -> str:
    line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return re.sub(r"'[^']*'", "'…'", line)


def _query(expression: str) -> str:
    # the expression on lines of its own, so a trailing "--" comment cannot swallow the parenthesis
    return f"SELECT * FROM {VIEW} WHERE (\n{expression}\n)"


def parse_expression(expression: str) -> str:
    """``expression`` if it parses as one SQL boolean-style expression and nothing else; raises
    ``ValueError`` saying what is wrong (checked without any table: columns are bound later)."""
    text = expression.strip()
    if not text:
        raise ValueError('sql is empty; write a boolean expression such as "age >= 18"')
    if ";" in text:
        raise ValueError("sql must be one expression, not statements: semicolons are not allowed")
    raw = _run("SELECT json_serialize_sql(?)", [_query(text)])
    tree = json.loads(raw[0][0]) if raw else {"error": True, "error_message": "no parse result"}
    if tree.get("error"):
        message = str(tree.get("error_message", "cannot be parsed")).splitlines()[0]
        raise ValueError(f"sql is not a valid expression: {message}")
    _check_shape(tree)
    return text


def _check_shape(tree: dict[str, Any]) -> None:
    """The parse must be exactly ``SELECT * FROM view WHERE (<expression>)``."""
    statements = tree.get("statements") or []
    node = statements[0].get("node", {}) if len(statements) == 1 else {}
    plain = (
        node.get("type") == "SELECT_NODE"
        and (node.get("from_table") or {}).get("table_name") == VIEW
        and [e.get("class") for e in node.get("select_list", [])] == ["STAR"]
        and not node.get("modifiers")
        and not (node.get("cte_map") or {}).get("map")
        and not node.get("group_expressions")
        and node.get("having") is None
        and node.get("qualify") is None
    )
    if not plain or node.get("where_clause") is None:
        raise ValueError("sql must be a single expression (it is used as a WHERE condition), not a query")
    for part in _walk(node["where_clause"]):
        refused = _REFUSED_CLASSES.get(str(part.get("class")))
        if refused:
            raise ValueError(f"sql may only read the row it judges; {refused} is not allowed")


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if "class" in node:
            yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def _sql_frame(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """The table as the expression sees it: booleans as BOOLEAN (qaharness keeps them as 'True'/'False')."""
    out = frame.copy(deep=False)
    for column in schema.columns(ColumnKind.BOOLEAN):
        out[column] = frame[column].map({"True": True, "False": False}).astype("boolean")
    return out


def count_violations(expression: str, frame: pd.DataFrame, schema: Schema) -> tuple[int, int]:
    """(rows, rows where ``expression`` is false) for ``frame``. Raises ``SqlError`` when it cannot run."""
    query = f"SELECT count(*), count(*) FILTER (WHERE (\n{expression}\n) IS FALSE) FROM {VIEW}"
    rows, violating = _run(query, table=_sql_frame(frame, schema))[0]
    return int(rows), int(violating)


def _bind(expression: str, frame: pd.DataFrame, schema: Schema) -> str:
    """The DuckDB type of the expression over ``frame``'s columns (binds names; reads no rows)."""
    query = f"DESCRIBE SELECT (\n{expression}\n) AS qaharness_value FROM {VIEW}"
    return str(_run(query, table=_sql_frame(frame.iloc[:0], schema))[0][1])


class ConstraintRule(RuleBase):
    """At most ``threshold`` of the synthetic rows may violate the SQL condition ``sql``."""

    KIND: ClassVar[str] = "constraint"
    kind: Literal["constraint"] = "constraint"
    sql: str = Field(description="a SQL boolean expression over the table's columns (a WHERE condition)")
    threshold: float = Field(0.0, ge=0, le=1, description="largest share of synthetic rows allowed to violate it")

    @field_validator("sql")
    @classmethod
    def _parses(cls, value: str) -> str:
        return parse_expression(value)

    def needs_data(self) -> bool:
        return True

    def validate_data(self, data: EvalInput) -> None:
        """Bind the expression against the inputs' columns and run it once on each table (a cast
        that fails on some row fails here, before any metric); ``ValueError`` naming what is wrong."""
        try:
            kind = _bind(self.sql, data.synthetic, data.schema)
            if kind == "BOOLEAN":
                for frame in (data.real, data.synthetic):
                    count_violations(self.sql, frame, data.schema)
        except SqlError as exc:
            columns = ", ".join(data.synthetic.columns)
            raise ValueError(
                f"sql cannot be evaluated on these inputs: {exc} (columns: {columns}; "
                "TRY_CAST turns a failing cast into NULL)"
            ) from None
        if kind != "BOOLEAN":
            raise ValueError(f"sql must be a boolean condition; it gives {kind}")

    def check(self, ctx: RuleContext) -> Outcome:
        base: dict[str, Any] = {"op": "<=", "field": "violating_share", "threshold": self.threshold}
        if ctx.data is None:
            return Outcome(
                "error", "a constraint rule reads the tables; judge it in a gate run, not a stored run", **base
            )
        counts: dict[str, dict[str, Any]] = {}
        try:
            for name, frame in (("synthetic", ctx.data.synthetic), ("real", ctx.data.real)):
                rows, violating = count_violations(self.sql, frame, ctx.data.schema)
                counts[name] = {"rows": rows, "violations": violating, "share": violating / rows if rows else 0.0}
        except SqlError as exc:
            return Outcome("error", f"the sql could not be evaluated: {exc}", **base)
        share = counts["synthetic"]["share"]
        sentence = (
            f"{counts['synthetic']['violations']:,} of {counts['synthetic']['rows']:,} synthetic rows violate it "
            f"({fmt_sig(share)}); real: {counts['real']['violations']:,} of {counts['real']['rows']:,}"
        )
        if counts["real"]["share"] > self.threshold:
            sentence += " — the real data breaks it too, so it may not be a rule of this data"
        status: Literal["pass", "fail"] = "pass" if share <= self.threshold else "fail"
        if status == "fail":
            sentence += f"; allowed: {fmt_sig(self.threshold)}"
        return Outcome(status, sentence, observed=share, details={"sql": self.sql, **counts}, **base)
