"""privacy.pii — identifiers and free text of the real data replayed verbatim, and personal-data
patterns in synthetic text."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from ..inputs import EvalInput
from ..masking import mask_label
from ..results import Family, Goal, MetricResult
from ..schema import ColumnKind
from ..stats import wilson_interval
from ._base import Metric, MetricDetails, MetricParams, RunContext, register_metric
from ._nn import sample_indices
from ._pii import PATTERNS, find_pii, shape

MAX_SCAN_ROWS = 200_000
N_EXAMPLES = 3


class Replayed(BaseModel):
    """Real values of one identifier or free-text column found in the same synthetic column."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    rows: int = Field(ge=0, description="synthetic rows carrying a value of this real column")
    distinct_values: int = Field(ge=0, description="distinct real values replayed")
    examples: list[str] = Field(description="replayed values, masked as rare#hash (at most 3)")


class PatternHits(BaseModel):
    """Matches of one personal-data pattern in one column."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    rows: int = Field(ge=0, description="synthetic rows with a match")
    examples: list[str] = Field(description="matches by shape: letters x, digits 9 (at most 3)")


@register_metric
class PersonalData(Metric):
    """Share of synthetic rows carrying personal data: a value of a real identifier or free-text
    column replayed verbatim (same column), or a pattern hit in synthetic text — e-mail address,
    phone number, SSN-like number, card number passing Luhn, IBAN passing its mod-97 check.

    Range [0, 1]; 0 is ideal. Wilson 95% CI over the scanned synthetic rows (at most 200,000, in
    details). Patterns are searched in identifier, text and categorical columns. Details give
    counts per column and per pattern; examples are masked (replayed real values as ``rare#hash``,
    pattern hits by shape: letters → x, digits → 9), so no real value is printed.
    """

    class Params(MetricParams):
        max_rows: int = Field(MAX_SCAN_ROWS, ge=1, description="synthetic rows scanned for patterns")

    class Details(MetricDetails):
        model_config = ConfigDict(frozen=True, extra="forbid")
        rows_scanned: int = Field(ge=0, description="synthetic rows scanned")
        rows_flagged: int = Field(ge=0, description="rows replaying a real value or carrying a pattern")
        replayed_real_values: dict[str, Replayed] = Field(description="per identifier/text column")
        pattern_hits: dict[str, dict[str, PatternHits]] = Field(description="per column, per pattern")
        patterns: list[str] = Field(description="the patterns searched")
        replay_columns: list[str] = Field(description="identifier and text columns checked for replayed values")
        scanned_columns: list[str] = Field(description="columns searched for patterns")

    params: Params

    id = "privacy.pii"
    family = Family.PRIVACY
    goal = Goal.MINIMIZE
    bounds = (0.0, 1.0)
    ideal = 0.0
    conformance_identical_is_ideal = False
    #: the conformance suite's ideal input: synthetic = fresh real rows of the same population
    #: (honest data; synthetic = real is a full copy, the worst case)
    conformance_input = "honest"
    conformance_defect = None
    description = (
        "Share of synthetic rows that replay a real identifier or text, "
        "or contain e-mails, phones, SSNs, cards or IBANs."
    )

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        replay_columns = data.schema.columns(ColumnKind.IDENTIFIER, ColumnKind.TEXT)
        scan_columns = data.schema.columns(ColumnKind.IDENTIFIER, ColumnKind.TEXT, ColumnKind.CATEGORICAL)
        rows = sample_indices(len(data.synthetic), self.params.max_rows, rng)
        synthetic = data.synthetic.iloc[rows]
        flagged = np.zeros(len(synthetic), dtype=bool)
        replays: dict[str, dict] = {}
        patterns: dict[str, dict] = {}
        for column in replay_columns:
            real_values = set(data.real[column].dropna().astype(str))
            values = synthetic[column].astype(object)
            hit = values.notna().to_numpy() & values.astype(str).isin(real_values).to_numpy()
            flagged |= hit
            replays[column] = {
                "rows": int(hit.sum()),
                "distinct_values": int(values[hit].nunique()),
                "examples": [mask_label(v) for v in pd.unique(values[hit])[:N_EXAMPLES]],
            }
        for column in scan_columns:
            found = self._scan(synthetic[column], flagged)
            if found:
                patterns[column] = found
        n = len(synthetic)
        share = float(flagged.mean()) if n else 0.0
        per_column = {c: float(v["rows"]) / n for c, v in replays.items()}
        return self.result(
            share,
            ci=wilson_interval(int(flagged.sum()), n),
            ci_level=0.95,
            per_column=per_column or None,
            details={
                "rows_scanned": n,
                "rows_flagged": int(flagged.sum()),
                "replayed_real_values": replays,
                "pattern_hits": patterns,
                "patterns": list(PATTERNS),
                "replay_columns": replay_columns,
                "scanned_columns": scan_columns,
            },
        )

    @staticmethod
    def _scan(column: pd.Series, flagged: np.ndarray) -> dict:
        """Pattern hits in one column; marks the rows in ``flagged``. Each distinct value is scanned once."""
        text = column.astype(object)
        present = text.notna().to_numpy()
        values = text[present].astype(str)
        unique = pd.unique(values)
        results = {v: find_pii(v) for v in unique if any(ch.isdigit() or ch == "@" for ch in v)}
        hit_values = {v for v, r in results.items() if r}
        if not hit_values:
            return {}
        hit_rows = np.zeros(len(text), dtype=bool)
        hit_rows[present] = values.isin(hit_values).to_numpy()
        flagged |= hit_rows
        summary: dict = {}
        counts = values[values.isin(hit_values)].value_counts()
        for value, count in counts.items():
            for name, matches in results[value].items():
                entry = summary.setdefault(name, {"rows": 0, "examples": []})
                entry["rows"] += int(count)
                for m in matches:
                    if len(entry["examples"]) < N_EXAMPLES and shape(m) not in entry["examples"]:
                        entry["examples"].append(shape(m))
        return summary
