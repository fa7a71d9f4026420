"""Drift between two versions of a dataset (features_v1 → features_v2), with Evidently's data drift preset.

Evidently 0.7 ``DataDriftPreset`` tests every column of NEW against OLD (the reference) with a
method picked by column type and size (≤ 1000 rows: K-S for numeric, chi-square or Z-test for
categorical, drift when the p-value < 0.05; larger: Wasserstein or Jensen-Shannon distance,
drift when ≥ 0.1) and flags dataset drift when at least ``drift_share`` of the columns drifted.

Before Evidently sees the data, qaharness infers column kinds on OLD and coerces both tables:
numeric and datetime (as days since 1970) columns are numerical, categorical and boolean are
categorical; identifier and free-text columns are left out (their values would leak into the
HTML and their drift means little). Categories seen ≤ 7 times in either table are replaced by
``rare#<hash>`` (``qaharness.masking``) so the HTML shows no rare raw values; the hash keeps
them distinct, so the tests are unchanged.
"""

from __future__ import annotations

import json
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from ._version import __version__
from .errors import BadInputError
from .io import Table, read_table
from .masking import mask_label, rare_values
from .provenance import data_fingerprint, split_tags
from .results import InputInfo
from .schema import ColumnKind, Schema, coerce_frame, infer_schema

__all__ = ["ColumnDrift", "DriftResult", "compare", "write_diff", "verdict_line"]

_NUMERICAL = {ColumnKind.NUMERIC, ColumnKind.DATETIME}
_CATEGORICAL = {ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN}


class ColumnDrift(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: str
    method: str = Field(description="Evidently's test, e.g. 'K-S p_value'")
    score: float = Field(description="p-value (drift when below threshold) or distance (drift when at or above)")
    threshold: float
    drifted: bool


class DriftResult(BaseModel):
    """What ``qaharness diff`` found; serialised as drift.json."""

    model_config = ConfigDict(frozen=True)
    old: InputInfo
    new: InputInfo
    created_at: str
    qaharness_version: str = __version__
    evidently_version: str
    drift_share: float = Field(description="dataset drift when share_drifted ≥ this")
    columns: dict[str, ColumnDrift]
    n_drifted: int
    share_drifted: float
    dataset_drift: bool
    skipped: dict[str, str] = Field(default_factory=dict, description="column → why it was not tested")
    added: list[str] = Field(default_factory=list, description="columns only in NEW")
    removed: list[str] = Field(default_factory=list, description="columns only in OLD")

    @property
    def drifted_columns(self) -> list[str]:
        return [c for c, d in self.columns.items() if d.drifted]


def _read(source: str | Path | pd.DataFrame, name: str) -> Table:
    table = read_table(source, name=name)
    frame, _ = split_tags(table.frame)
    if len(frame) < 2:
        raise BadInputError(f"{name} table needs at least 2 rows, has {len(frame)}", source=table.source)
    frame = frame.copy(deep=False)
    frame.columns = [str(c) for c in frame.columns]
    return Table(frame, table.source, table.sha256)


def _prepare(
    old: pd.DataFrame, new: pd.DataFrame, source_old: str, source_new: str
) -> tuple[pd.DataFrame, pd.DataFrame, Schema, dict[str, str]]:
    """Coerce both to OLD's kinds, shared columns only; returns frames, tested kinds and skips."""
    shared = [c for c in old.columns if c in set(new.columns)]
    schema = infer_schema(old[shared])
    skipped: dict[str, str] = {}
    tested = Schema()
    for column, kind in schema.items():
        if kind not in _NUMERICAL | _CATEGORICAL:
            skipped[column] = f"{kind.value} column (not drift-tested)"
        elif old[column].isna().all() or new[column].isna().all():
            skipped[column] = "all values missing in one version"
        else:
            tested[column] = kind
    old_c = coerce_frame(old, tested, source=source_old)
    new_parts = {}
    for column, kind in list(tested.items()):
        try:
            new_parts[column] = coerce_frame(new[[column]], Schema({column: kind}), source=source_new)[column]
        except BadInputError:
            skipped[column] = f"kind changed: no longer {kind.value}"
            del tested[column]
    old_c = old_c[list(tested)].copy()
    new_c = pd.DataFrame({c: new_parts[c] for c in tested}, index=pd.RangeIndex(len(new)))
    for column, kind in tested.items():
        old_c[column], new_c[column] = _for_evidently(old_c[column], new_c[column], kind)
    return old_c, new_c, tested, skipped


def _for_evidently(old: pd.Series, new: pd.Series, kind: ColumnKind) -> tuple[pd.Series, pd.Series]:
    if kind is ColumnKind.DATETIME:
        day = np.timedelta64(1, "D")
        return ((old - pd.Timestamp(0)) / day).astype(float), ((new - pd.Timestamp(0)) / day).astype(float)
    if kind in _CATEGORICAL:
        rare = rare_values(old) | rare_values(new)

        def masked(series: pd.Series) -> pd.Series:
            return series.map(
                lambda v: (
                    v
                    if v is None or (isinstance(v, float) and np.isnan(v))
                    else (mask_label(v) if str(v) in rare else str(v))
                )
            )

        return masked(old), masked(new)
    return old, new


def compare(
    old: str | Path | pd.DataFrame, new: str | Path | pd.DataFrame, *, drift_share: float = 0.5
) -> tuple[DriftResult, Any]:
    """Run Evidently's data drift preset on NEW against OLD; returns the result and Evidently's snapshot."""
    if not 0 < drift_share <= 1:
        raise BadInputError(f"drift share must be in (0, 1], got {drift_share}", source="--drift-share")
    old_t, new_t = _read(old, "old"), _read(new, "new")
    old_f, new_f, tested, skipped = _prepare(old_t.frame, new_t.frame, old_t.source, new_t.source)
    if not tested:
        raise BadInputError(
            "no column to compare: OLD and NEW share no numeric, categorical, boolean or datetime column with values",
            source=new_t.source,
        )
    snapshot = _run_evidently(old_f, new_f, tested, drift_share)
    columns = _column_results(snapshot.dict(), tested)
    n_drifted = sum(d.drifted for d in columns.values())
    share = n_drifted / len(columns)
    import evidently

    return DriftResult(
        old=_info(old_t),
        new=_info(new_t),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        evidently_version=evidently.__version__,
        drift_share=drift_share,
        columns=columns,
        n_drifted=n_drifted,
        share_drifted=share,
        dataset_drift=share >= drift_share,
        skipped=skipped,
        added=[c for c in new_t.frame.columns if c not in set(old_t.frame.columns)],
        removed=[c for c in old_t.frame.columns if c not in set(new_t.frame.columns)],
    ), snapshot


def _info(table: Table) -> InputInfo:
    return InputInfo(
        source=table.source,
        sha256=table.sha256,
        rows=len(table.frame),
        columns=table.frame.shape[1],
        fingerprint=data_fingerprint(table.frame),
    )


def _run_evidently(old: pd.DataFrame, new: pd.DataFrame, tested: Schema, drift_share: float):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Evidently's dependencies warn about their own deprecations
        from evidently import DataDefinition, Dataset, Report
        from evidently.presets import DataDriftPreset

        definition = DataDefinition(
            numerical_columns=[c for c, k in tested.items() if k in _NUMERICAL],
            categorical_columns=[c for c, k in tested.items() if k in _CATEGORICAL],
        )
        report = Report([DataDriftPreset(drift_share=drift_share)], include_tests=True)
        return report.run(
            Dataset.from_pandas(new, data_definition=definition), Dataset.from_pandas(old, data_definition=definition)
        )


def _column_results(snapshot: dict[str, Any], tested: Schema) -> dict[str, ColumnDrift]:
    """Per-column score from the ValueDrift metrics, drift flag from their tests (FAIL = drift)."""
    scores = {}
    for metric in snapshot.get("metrics", []):
        config = metric.get("config", {})
        if config.get("type", "").endswith(":ValueDrift"):
            scores[config["column"]] = (
                float(metric["value"]),
                config.get("method", "?"),
                float(config.get("threshold") or 0.0),
            )
    failed = {
        t["metric_config"]["params"].get("column"): t.get("status") == "FAIL"
        for t in snapshot.get("tests", [])
        if t.get("id") == "drift"
    }
    missing = [c for c in tested if c not in scores]
    if missing:
        raise RuntimeError(f"Evidently returned no drift score for: {', '.join(missing)}")
    return {
        c: ColumnDrift(
            kind=tested[c].value,
            method=scores[c][1],
            score=scores[c][0],
            threshold=scores[c][2],
            drifted=bool(failed.get(c, False)),
        )
        for c in tested
    }


def write_diff(result: DriftResult, snapshot: Any, out_dir: str | Path) -> dict[str, Path]:
    """Write drift.html (Evidently's report) and drift.json into ``out_dir``, each atomically
    (``qaharness._atomic``: never through a planted symlink, never truncated by a crash)."""
    import tempfile

    from ._atomic import make_folder, write_bytes, write_text

    out = make_folder(out_dir, source=f"--out {out_dir}")
    html, data = out / "drift.html", out / "drift.json"
    with tempfile.TemporaryDirectory(dir=out, prefix=".render-") as scratch, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        draft = Path(scratch) / "drift.html"
        snapshot.save_html(str(draft))
        write_bytes(html, draft.read_bytes(), source=f"--out {out}")
    text = json.dumps(result.model_dump(mode="json"), indent=2, allow_nan=False) + "\n"
    write_text(data, text, source=f"--out {out}")
    return {"drift.html": html, "drift.json": data}


def verdict_line(result: DriftResult) -> str:
    """One line: how many columns drifted, which, and whether the dataset as a whole did."""
    n = len(result.columns)
    names = result.drifted_columns
    listed = ", ".join(names[:10]) + (f" (+{len(names) - 10} more)" if len(names) > 10 else "")
    head = "DRIFT" if result.dataset_drift else "no dataset drift"
    line = (
        f"{head}: {result.n_drifted} of {n} columns drifted ({result.share_drifted:.0%}, "
        f"threshold {result.drift_share:.0%})" + (f": {listed}" if names else "")
    )
    extra = [f"{len(result.added)} added", f"{len(result.removed)} removed", f"{len(result.skipped)} not tested"]
    return line + "; columns " + ", ".join(extra)
