"""Pieces shared by commands: option parsing and the rich summary."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.table import Table

from ..errors import BadInputError
from ..results import Run, Status
from ._app import console, err_console

__all__ = ["split_list", "parse_conditions", "print_summary", "progress_status", "fmt"]


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


def fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


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
