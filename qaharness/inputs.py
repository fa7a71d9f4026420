"""The boundary: tables in, validated once, frozen ``EvalInput`` out.

Metrics receive an ``EvalInput`` and must not mutate it. Column order, kinds and
dtypes of real, synthetic and holdout are made identical here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ._overlap import check_identity, overlap_notes
from ._types import Source
from .errors import BadInputError, SchemaMismatchError
from .io import ReadLimits, Table, read_table
from .provenance import TAG_PREFIX, data_fingerprint, read_manifest_data, split_tags
from .results import InputInfo
from .schema import (
    DISTRIBUTION_KINDS,
    ColumnKind,
    Schema,
    coerce_frame,
    infer_schema,
    load_schema_file,
    parse_schema,
    timezone_mix,
)
from .summaries import PandasSummaries, TableSummaries, canonical_order

__all__ = ["EvalInput", "InputMarks", "prepare_inputs", "MIN_ROWS"]

MIN_ROWS = 2
TASKS = ("binary", "multiclass", "regression", "classification")


@dataclass(frozen=True)
class InputMarks:
    """Provenance marks on a real or holdout input: counts of its ``_qaharness_provenance`` tags and
    the manifest attached to its file (either says the rows are synthetic)."""

    rows: int
    tags: dict[str, int] | None = None
    manifest: dict | None = None
    manifest_error: str | None = None


@dataclass(frozen=True, eq=False)
class EvalInput:
    """Validated inputs for the metric engine. Treat every frame as read-only."""

    real: pd.DataFrame
    synthetic: pd.DataFrame
    schema: Schema
    holdout: pd.DataFrame | None = None
    target: str | None = None
    task: str | None = None
    sensitive: tuple[str, ...] = ()
    inputs: dict[str, InputInfo] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    #: manifest JSON attached to the synthetic file (Parquet metadata or sidecar); None without one
    synthetic_manifest: dict | None = None
    #: counts of ``_qaharness_provenance`` tag values in synthetic (column dropped here); None without it
    synthetic_tags: dict[str, int] | None = None
    #: provenance marks on the real and holdout inputs (tags, attached manifests), by input name
    input_marks: dict[str, InputMarks] = field(default_factory=dict)
    #: per-column facts about ``real`` (distinct non-missing values), computed once and shared
    _real_n_unique: dict[str, int] = field(default_factory=dict, repr=False)
    #: the summaries the exact metrics read (``summaries()``); None: built from the frames on first use
    _summaries: TableSummaries | None = field(default=None, repr=False)
    #: what the frames' summaries computed so far (shared with ``with_synthetic`` copies)
    _summary_cache: dict = field(default_factory=dict, repr=False)
    #: under a sampling engine: the sample the frames are (rows per table, population rows, seed, strata)
    sample: dict | None = None

    def summaries(self) -> TableSummaries:
        """Compact summaries of the whole tables (``qaharness.summaries``): what exact metrics read."""
        if self._summaries is None:
            frames = {"real": self.real, "synthetic": self.synthetic, "holdout": self.holdout}
            object.__setattr__(self, "_summaries", PandasSummaries(frames, self.schema, cache=self._summary_cache))
        assert self._summaries is not None
        return self._summaries

    @property
    def frames_are_samples(self) -> bool:
        """True when ``real``/``synthetic``/``holdout`` are samples of larger tables (the Spark engine)."""
        return self.summaries().frames_are_samples

    def real_n_unique(self, column: str) -> int:
        """Distinct non-missing values of a real column (cached: metrics ask often)."""
        if column not in self._real_n_unique:
            self._real_n_unique[column] = self.summaries().n_unique(column, "real")
        return self._real_n_unique[column]

    def columns(self, *kinds: ColumnKind) -> list[str]:
        """Columns of the given kinds (default: every distribution kind), all-missing ones left out."""
        kinds = kinds or DISTRIBUTION_KINDS
        summaries = self.summaries()
        return [c for c in self.schema.columns(*kinds) if summaries.non_missing(c, "real") > 0]

    def with_synthetic(self, synthetic: pd.DataFrame, *, summaries: TableSummaries | None = None) -> EvalInput:
        """The same inputs with another table in the synthetic seat (the holdout baseline uses this).

        Where the frames are samples, ``summaries`` must describe the new synthetic table too.
        """
        if summaries is None and self.frames_are_samples:
            raise NotImplementedError(
                "the frames are samples of larger tables: pass the summaries of the new synthetic table"
            )
        return EvalInput(
            self.real,
            synthetic,
            self.schema,
            None,
            self.target,
            self.task,
            self.sensitive,
            self.inputs,
            self.notes,
            _real_n_unique=self._real_n_unique,
            _summaries=summaries,
            _summary_cache=self._summary_cache,
            sample=self.sample,
        )

    def baseline_input(self) -> EvalInput:
        """The holdout in the synthetic seat: what a perfect generator's output would score."""
        if self.holdout is None:
            raise ValueError("no holdout to compute a baseline from")
        summaries = self.summaries().reseated(synthetic="holdout") if self.frames_are_samples else None
        return self.with_synthetic(self.holdout, summaries=summaries)

    def holdout_sample(self, rng: np.random.Generator, *, replace: bool, rows: int | None = None) -> EvalInput:
        """Holdout rows drawn with ``rng`` (as many as synthetic has, or ``rows``), in the synthetic seat.

        Rows are picked by position in the holdout's canonical order (``summaries.canonical_order``:
        by value, so the pick does not depend on the order the engine read the rows in), and the
        summaries describe exactly those rows on every engine (``TableSummaries.row_sample``). Where
        the frames are samples, the frame in the synthetic seat is empty: only summary-based metrics
        read this draw (``holdout_frames`` is the frame-based metrics' draw).
        """
        if self.holdout is None:
            raise ValueError("no holdout to draw a sample from")
        summaries = self.summaries()
        size = summaries.n_rows("synthetic") if rows is None else rows
        positions = np.sort(rng.choice(summaries.n_rows("holdout"), size, replace=replace))
        if not self.frames_are_samples:
            order = summaries.canonical_order("holdout")
            return self.with_synthetic(self.holdout.iloc[order[positions]].reset_index(drop=True))
        return self.with_synthetic(self.holdout.iloc[:0], summaries=summaries.row_sample("holdout", positions))

    def holdout_marginals(self, rng: np.random.Generator, *, replace: bool) -> EvalInput:
        """A draw of as many holdout rows as synthetic has, as per-column summaries (``_draws.MarginalDraw``):
        each column's counts drawn from the holdout's, no pass over its rows. The frame in the synthetic seat
        is empty: only summary-based metrics without ``baseline_joint`` read this draw."""
        if self.holdout is None:
            raise ValueError("no holdout to draw a sample from")
        return self.with_synthetic(self.holdout.iloc[:0], summaries=self._marginal_draw(rng, replace))

    def _marginal_draw(self, rng: np.random.Generator, replace: bool) -> TableSummaries:
        """These summaries with a marginal draw of the holdout at the synthetic size in the synthetic seat."""
        from ._draws import DrawnSeat, MarginalDraw

        summaries = self.summaries()
        entropy = rng.integers(2**32, size=4).tolist()
        drawn = MarginalDraw(summaries, "holdout", self.schema, summaries.n_rows("synthetic"), replace, entropy)
        return DrawnSeat(summaries, drawn)

    def holdout_frames(self, rng: np.random.Generator, *, replace: bool) -> EvalInput:
        """The frame-based metrics' draw: holdout rows at the synthetic size in the synthetic seat
        (``holdout_sample``); where the frames are samples, rows of the holdout frame at the synthetic
        frame's size, with the summaries of a marginal draw at the synthetic size beside them."""
        if self.holdout is None:
            raise ValueError("no holdout to draw a sample from")
        if not self.frames_are_samples:
            return self.holdout_sample(rng, replace=replace)
        summaries = self._marginal_draw(rng, replace)
        n_frame = len(self.synthetic)
        frame_rows = np.sort(rng.choice(len(self.holdout), n_frame, replace=n_frame >= len(self.holdout)))
        frame = self.holdout.iloc[canonical_order(self.holdout, self.schema)[frame_rows]].reset_index(drop=True)
        return self.with_synthetic(frame, summaries=summaries)


def prepare_inputs(
    real: Source,
    synthetic: Source,
    holdout: Source | None = None,
    *,
    target: str | None = None,
    schema: str | Path | dict | None = None,
    task: str | None = None,
    sensitive: tuple[str, ...] | list[str] = (),
    limits: ReadLimits | None = None,
) -> EvalInput:
    """Read, validate and align the tables. Raises ``BadInputError`` naming the culprit.

    ``limits`` caps columns and bytes per table (``qaharness.io.ReadLimits``; defaults apply).
    """
    if task is not None and task not in TASKS:
        raise BadInputError(f"unknown task {task!r}; use one of {', '.join(TASKS)}", source="--task")
    tables = {
        "real": read_table(real, name="real", limits=limits),
        "synthetic": read_table(synthetic, name="synthetic", limits=limits),
    }
    if holdout is not None:
        tables["holdout"] = read_table(holdout, name="holdout", limits=limits)
    manifest, notes = _synthetic_manifest(synthetic)
    marks = {name: _input_manifest(source) for name, source in (("real", real), ("holdout", holdout)) if name in tables}
    tables, tags = _split_tags(tables)
    for name, table in tables.items():
        _check_rows(name, table)
    reference = [str(c) for c in tables["real"].frame.columns]
    for name in ("synthetic", "holdout"):
        if name in tables:
            _check_same_columns(reference, tables[name], name)
    overrides = _schema_overrides(schema, reference)
    # kinds from every real row: training and holdout together (never from the synthetic table under test)
    holdout_rows = [_aligned(tables["holdout"].frame, reference)] if "holdout" in tables else []
    inferred = infer_schema(_aligned(tables["real"].frame, reference), overrides, others=holdout_rows)
    notes += _timezone_notes(tables, inferred)
    frames, fingerprints = {}, {}
    for name in list(tables):  # coerce one table at a time and let the raw frame go
        table = tables[name]
        fingerprints[name] = data_fingerprint(table.frame)  # of the raw frame, before coercion
        frames[name] = coerce_frame(_aligned(table.frame, reference), inferred, source=table.source)
        tables[name] = Table(table.frame.iloc[:0], table.source, table.sha256, n_rows=len(table.frame))
    _check_target(target, reference, tables["real"].source)
    sensitive = tuple(sensitive)
    for column in sensitive:
        _check_target(column, reference, tables["real"].source, option="--sensitive")
    infos = {
        name: InputInfo(
            source=t.source, sha256=t.sha256, rows=t.n_rows, columns=t.frame.shape[1], fingerprint=fingerprints[name]
        )
        for name, t in tables.items()
    }
    cache: dict = {}  # the row matches the checks compute are the privacy metrics': keep them for the run
    summaries = PandasSummaries(frames, inferred, cache=cache)
    check_identity(summaries, infos, list(frames["real"].columns))
    notes += _tag_notes(tags) + overlap_notes(summaries, inferred)
    n_unique = {c: int(frames["real"][c].nunique(dropna=True)) for c in reference}
    return EvalInput(
        frames["real"],
        frames["synthetic"],
        inferred,
        frames.get("holdout"),
        target,
        task,
        sensitive,
        infos,
        tuple(_notes(n_unique, inferred) + notes),
        synthetic_manifest=manifest,
        synthetic_tags=tags.get("synthetic"),
        input_marks={name: InputMarks(tables[name].n_rows, tags.get(name), *marks[name]) for name in marks},
        _real_n_unique=n_unique,
        _summary_cache=cache,
    )


def _synthetic_manifest(synthetic: Source) -> tuple[dict | None, list[str]]:
    """The provenance manifest attached to a synthetic file; an unreadable one becomes a note."""
    if isinstance(synthetic, pd.DataFrame) or str(synthetic).startswith("duckdb:"):
        return None, []
    try:
        return read_manifest_data(synthetic), []
    except BadInputError as exc:
        return None, [f"synthetic provenance manifest ignored: {exc}"]


def _input_manifest(source: Source | None) -> tuple[dict | None, str | None]:
    """(manifest, error) of a real or holdout file: a manifest there says the file is synthetic."""
    if source is None or isinstance(source, pd.DataFrame) or str(source).startswith("duckdb:"):
        return None, None
    try:
        return read_manifest_data(source), None
    except BadInputError as exc:
        return None, str(exc)


def _split_tags(tables: dict[str, Table]) -> tuple[dict[str, Table], dict[str, dict[str, int]]]:
    """Drop the provenance tag column from every table (metrics never see it), keeping its counts."""
    out, tags = {}, {}
    for name, table in tables.items():
        frame, counts = split_tags(table.frame)
        out[name] = table if counts is None else Table(frame, table.source, table.sha256)
        if counts is not None:
            tags[name] = counts
    return out, tags


def _tag_notes(tags: dict[str, dict[str, int]]) -> list[str]:
    notes = []
    for name in ("real", "holdout"):
        tagged = sum(n for t, n in tags.get(name, {}).items() if t.startswith(TAG_PREFIX))
        if tagged:
            notes.append(f"{name} table has {tagged} row(s) tagged synthetic (_qaharness_provenance)")
    return notes


def _timezone_notes(tables: dict[str, Table], schema: Schema) -> list[str]:
    """A note per datetime column where time-zone-aware and naive values meet (within or across tables)."""
    notes = []
    for column in schema.columns(ColumnKind.DATETIME):
        seen = {name: timezone_mix(_aligned(table.frame, [column])[column]) for name, table in tables.items()}
        if any(aware for aware, _ in seen.values()) and any(naive for _, naive in seen.values()):
            which = ", ".join(
                f"{name}: {'mixed' if aware and naive else 'aware' if aware else 'naive'}"
                for name, (aware, naive) in seen.items()
                if aware or naive
            )
            notes.append(
                f"column {column!r} mixes time-zone-aware and naive datetimes ({which}): aware values were "
                "converted to UTC and naive ones taken as UTC"
            )
    return notes


def _check_rows(name: str, table: Table) -> None:
    rows = len(table.frame)
    if rows == 0:
        raise BadInputError(f"{name} table has a header but no rows", source=table.source)
    if rows < MIN_ROWS:
        raise BadInputError(f"{name} table has {rows} row; at least {MIN_ROWS} are needed", source=table.source)


def _check_same_columns(reference: list[str], table: Table, name: str) -> None:
    have = [str(c) for c in table.frame.columns]
    missing = [c for c in reference if c not in have]
    extra = [c for c in have if c not in reference]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing in {name}: {', '.join(missing)}")
        if extra:
            parts.append(f"extra in {name} (not in real): {', '.join(extra)}")
        raise SchemaMismatchError(
            f"{name} columns differ from real — {'; '.join(parts)}", source=table.source, missing=missing, extra=extra
        )


def _aligned(frame: pd.DataFrame, reference: list[str]) -> pd.DataFrame:
    frame = frame.copy(deep=False)
    frame.columns = [str(c) for c in frame.columns]
    return frame[reference]


def _schema_overrides(schema: str | Path | dict | None, columns: list[str]) -> dict[str, ColumnKind]:
    if schema is None:
        return {}
    parsed = parse_schema(schema) if isinstance(schema, dict) else load_schema_file(schema)
    overrides, source = parsed.kinds, parsed.source
    unknown = list(dict.fromkeys(c for c in [*parsed.kinds, *parsed.domains] if c not in columns))
    if unknown:
        raise BadInputError(
            f"schema names columns the real table lacks: {', '.join(unknown)}; columns: {', '.join(columns)}",
            source=source,
            column=unknown[0],
        )
    return overrides


def _check_target(target: str | None, columns: list[str], source: str, option: str = "--target") -> None:
    if target is not None and target not in columns:
        raise BadInputError(
            f"{option} {target!r} is not a column of the real table; columns: {', '.join(columns)}",
            source=option,
            column=target,
        )


def _notes(n_unique: dict[str, int], schema: Schema) -> list[str]:
    notes = []
    excluded = schema.columns(ColumnKind.IDENTIFIER, ColumnKind.TEXT)
    if excluded:
        notes.append(f"left out of distribution metrics (identifier or free text): {', '.join(excluded)}")
    empty = [c for c, n in n_unique.items() if n == 0]
    if empty:
        notes.append(f"all-missing in real, skipped by distribution metrics: {', '.join(empty)}")
    constant = [c for c, n in n_unique.items() if n == 1]
    if constant:
        notes.append(f"constant in real (no spread; correlation pairs with them skipped): {', '.join(constant)}")
    return notes
