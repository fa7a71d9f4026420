"""Pieces shared by commands: option parsing and the rich summary."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import yaml
from rich.table import Table

from .._format import fmt
from ..errors import BadInputError
from ..results import Run, Status
from ._app import console, err_console

__all__ = [
    "split_list",
    "parse_conditions",
    "parse_key_values",
    "parse_metric_params",
    "print_summary",
    "progress_status",
    "fmt",
]


def split_list(value: str | None) -> list[str] | None:
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    return items or None


def parse_conditions(values: list[str] | None, option: str = "--condition") -> dict[str, str]:
    out = {}
    for item in values or []:
        if "=" not in item:
            raise BadInputError(f"expected COLUMN=VALUE, got {item!r}", source=option)
        key, value = item.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def parse_key_values(values: list[str] | None, option: str = "--param") -> dict[str, Any]:
    """``KEY=VALUE`` pairs; each value is read as a YAML scalar or list (``4000``, ``0.5``, ``[a, b]``)."""
    out: dict[str, Any] = {}
    for item in values or []:
        if "=" not in item:
            raise BadInputError(f"expected KEY=VALUE, got {item!r}", source=option)
        key, value = item.split("=", 1)
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise BadInputError(f"cannot parse the value of {key.strip()!r}", source=option) from None
    return out


def parse_metric_params(values: list[str] | None) -> dict[str, dict[str, Any]]:
    """``--param privacy.singling_out.n_attacks=4000`` → ``{"privacy.singling_out": {"n_attacks": 4000}}``.

    The metric id is everything before the last dot of the key; the metric validates the value.
    """
    out: dict[str, dict[str, Any]] = {}
    for key, value in parse_key_values(values).items():
        metric, _, name = key.rpartition(".")
        if not metric or "." not in metric or not name:
            raise BadInputError(
                f"expected METRIC.PARAMETER=VALUE (e.g. privacy.dcr.max_queries=5000), got {key!r}", source="--param"
            )
        out.setdefault(metric, {})[name] = value
    return out


def print_summary(run: Run, *, title: str = "Metrics") -> None:
    table = Table(title=title, title_justify="left")
    for name in ("metric", "status", "value", "95% CI", "baseline", "note"):
        table.add_column(name, overflow="fold")
    colour = {Status.OK: "green", Status.SKIPPED: "yellow", Status.ERROR: "red"}
    for m in run.metrics:
        ci = f"[{fmt(m.ci[0])}, {fmt(m.ci[1])}]" if m.ci else ""
        note = m.message or (f"worst: {m.details['worst_column']}" if "worst_column" in m.details else "")
        table.add_row(m.id, f"[{colour[m.status]}]{m.status.value}[/]", fmt(m.value), ci, fmt(m.baseline), note)
    console.print(table)
    for note in run.notes:
        console.print(f"note: {note}")


@contextmanager
def progress_status(initial: str) -> Iterator:
    """A spinner on stderr; yields a callback that updates its text."""
    with err_console.status(initial) as status:
        yield lambda text: status.update(f"computing {text} …")
