"""Pieces shared by commands: option parsing and the rich summary."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

import typer
import yaml
from rich.markup import escape
from rich.table import Table

from .._format import fmt
from ..errors import BadInputError
from ..io import MAX_BYTES, MAX_COLUMNS, ReadLimits
from ..results import Run, Status
from ._app import console, err_console

__all__ = [
    "split_list",
    "parse_conditions",
    "parse_key_values",
    "parse_metric_params",
    "spark_options",
    "print_summary",
    "progress_status",
    "read_limits",
    "run_folder_options",
    "StepLines",
    "fmt",
]

MAX_COLUMNS_HELP = f"Refuse tables with more columns than this (default {MAX_COLUMNS:,})."
MAX_BYTES_HELP = (
    f"Refuse tables holding more bytes than this once decompressed, e.g. 500M, 8G (default {MAX_BYTES >> 30} GiB, "
    "plus a check for decompression bombs that an explicit value turns off)."
)


def run_folder_options(store_timeout: float) -> dict[str, Any]:
    """The options ``evaluate`` and ``gate`` share for their output folder, store and input caps."""
    return {
        "overwrite": typer.Option(
            False, "--overwrite", help="Replace the files of an earlier run in --out (they are removed first)."
        ),
        "store_timeout": typer.Option(
            store_timeout, "--store-timeout", min=0.0, help="Seconds to wait for a store another process holds."
        ),
        "max_columns": typer.Option(None, "--max-columns", help=MAX_COLUMNS_HELP),
        "max_bytes": typer.Option(None, "--max-bytes", help=MAX_BYTES_HELP),
    }


_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def read_limits(max_columns: int | None, max_bytes: str | None) -> ReadLimits:
    """``--max-columns`` and ``--max-bytes`` (a number of bytes with an optional K/M/G/T suffix)."""
    if max_columns is not None and max_columns < 1:
        raise BadInputError(f"must be at least 1, got {max_columns}", source="--max-columns")
    n_bytes = None
    if max_bytes is not None:
        text = max_bytes.strip().upper().removesuffix("IB").removesuffix("B")
        unit = text[-1:] if text[-1:] in _UNITS else ""
        try:
            n_bytes = int(float(text[: len(text) - len(unit)]) * _UNITS[unit])
        except ValueError:
            message = f"expected a size such as 500M or 8G, got {max_bytes!r}"
            raise BadInputError(message, source="--max-bytes") from None
        if n_bytes < 1:
            raise BadInputError(f"must be positive, got {max_bytes!r}", source="--max-bytes")
    return ReadLimits(max_columns=max_columns or MAX_COLUMNS, max_bytes=n_bytes)


# --engine and the Spark options, shared by evaluate and gate
ENGINE_OPTION = typer.Option(
    "pandas",
    "--engine",
    help="pandas: every table in memory here (default); spark: Apache Spark, for Parquet paths "
    "(local, s3a://, hdfs://) or 'spark:SELECT ...' (needs qaharness[spark] and Java).",
)
SPARK_MASTER_OPTION = typer.Option(
    None, "--spark-master", help="local[*], local[N], spark://HOST:PORT, yarn or k8s://URL (default: Spark's own)."
)
SPARK_CONF_OPTION = typer.Option(
    None, "--spark-conf", help="Spark setting KEY=VALUE (e.g. spark.driver.memory=4g); repeatable."
)
SPARK_SAMPLE_ROWS_OPTION = typer.Option(
    None,
    "--spark-sample-rows",
    help="Rows per table in the stratified sample that sample-based metrics use under --engine spark (default 200000).",
)


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


def spark_options(engine: str, master: str | None, conf: list[str] | None, sample_rows: int | None) -> Any:
    """The ``qaharness.spark.SparkOptions`` of ``--engine spark`` (None for the pandas engine, which
    takes no Spark option)."""
    if engine != "spark":
        if master is not None or conf or sample_rows is not None:
            raise BadInputError(
                "--spark-master, --spark-conf and --spark-sample-rows need --engine spark", source="--engine"
            )
        return None
    from ..spark import DEFAULT_SAMPLE_ROWS, SparkOptions
    from ..spark._session import check_master, parse_conf

    check_master(master)
    return SparkOptions(master=master, conf=parse_conf(conf), sample_rows=sample_rows or DEFAULT_SAMPLE_ROWS)


def print_summary(run: Run, *, title: str = "Metrics") -> None:
    table = Table(title=title, title_justify="left")
    for name in ("metric", "status", "value", "95% CI", "baseline", "note"):
        table.add_column(name, overflow="fold")
    colour = {Status.OK: "green", Status.SKIPPED: "yellow", Status.ERROR: "red"}
    for m in run.metrics:
        ci = escape(f"[{fmt(m.ci[0])}, {fmt(m.ci[1])}]") if m.ci else ""
        note = m.message or (f"worst: {m.details['worst_column']}" if "worst_column" in m.details else "")
        table.add_row(
            escape(m.id), f"[{colour[m.status]}]{m.status.value}[/]", fmt(m.value), ci, fmt(m.baseline), escape(note)
        )
    console.print(table)
    for note in run.notes:
        console.print(f"note: {note}", markup=False)


class StepLines:
    """Progress for logs without a terminal (CI): one line per finished step, with its seconds.

    ``step(name)`` ends the current step (printing ``qaharness: <step> done in 1.2 s``) and starts
    ``name``; ``close()`` ends the last one. Lines are flushed at once so a CI log shows them live.
    """

    def __init__(self, first: str, stream: TextIO, clock: Callable[[], float] = time.perf_counter):
        self.stream, self.clock = stream, clock
        self.current: str | None = first
        self.started = clock()

    def step(self, name: str) -> None:
        self._finish()
        self.current, self.started = name, self.clock()

    def close(self, tail: str = "") -> None:
        self._finish(tail)
        self.current = None

    def _finish(self, tail: str = "") -> None:
        if self.current is None:
            return
        seconds = self.clock() - self.started
        self.stream.write(f"qaharness: {self.current} done in {seconds:.1f} s{tail}\n")
        self.stream.flush()


@contextmanager
def progress_status(initial: str) -> Iterator[Callable[[str], None]]:
    """Progress on stderr; yields a callback called with each metric id as it starts.

    In a terminal: a Rich spinner naming the metric being computed. Without one (CI, a pipe): one
    plain line per finished step with its seconds (``StepLines``), since a spinner shows nothing there.
    """
    label = initial.rstrip(" .…")
    if not err_console.is_terminal:
        lines = StepLines(label, sys.stderr)
        yield lines.step  # a step that raised is not "done": the error message says what happened
        lines.close(" (with writing the outputs)")
        return
    with err_console.status(escape(initial)) as status:
        yield lambda text: status.update(f"computing {escape(text)} …")
