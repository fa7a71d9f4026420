"""Calibration cases: a table × a shape × a planted defect × a seed, with what the gate must say.

``build("adult", "4:1-2k", "jitter-10", seed=0)`` returns a :class:`Case` — training rows (the
``real`` seat), synthetic rows, holdout rows, the target column and the :class:`Expected` outcome;
it unpacks as ``real, synthetic, holdout, target, expected = build(...)``. The same arguments give
the same frames (every draw comes from ``np.random.default_rng`` seeded by the four arguments;
global random state is never touched), and for one (table, shape, seed) every case shares the same
training and holdout rows, so cases differ only in their synthetic rows.

- ``TABLES`` (``qaharness.testing.tables``): ``adult``, ``wide``, ``discrete``, ``missing``, ``ids``.
- ``SHAPES``: training : holdout 1:1, 4:1 and 8:1; 300, 2,000 and 50,000 training rows; synthetic
  much smaller than the holdout; a holdout of 6 rows; the holdout equal to training.
- ``CASES``: ``honest`` (unseen real rows: the best a generator can do) and the planted defects.

"Honest" synthetic rows are real rows from the same population that neither training nor holdout
holds. What each defect must fail on is a *pillar* (the family of the failing rule's metric:
fidelity, utility, privacy), so the expectation holds for every policy; ``Expected.clean`` names the
pillars the defect must not fail. A defect is only required to be caught from ``min_synthetic``
synthetic rows up: below that, the planted effect is within sampling noise (a +3-year shift of age
on 300 rows is a KS statistic of about 0.09 against a 5 % critical value of 0.11).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from .tables import TABLES, ShapeUnavailable, TableSpec, stable_key

__all__ = [
    "expected_for",
    "copy_signal",
    "MIN_COPY_SIGNAL",
    "Case",
    "CaseSpec",
    "Expected",
    "Shape",
    "ShapeUnavailable",
    "TABLES",
    "SHAPES",
    "CASES",
    "PILLARS",
    "build",
    "unavailable",
    "grid",
]

PILLARS = ("fidelity", "utility", "privacy")
Outcome = Literal["pass", "caught", "not-pass", "refused", "clean-only"]


@dataclass(frozen=True)
class Shape:
    """Row counts of one calibration shape; ``holdout_is_train`` passes a copy of training as holdout."""

    name: str
    n_train: int
    n_holdout: int
    n_synthetic: int
    description: str
    holdout_is_train: bool = False
    #: pillars whose rules cannot decide at this size by their calibrated ``min_rows``: there an
    #: ``insufficient evidence`` result is the right answer, not a false alarm (the gate still fails)
    undecidable: frozenset[str] = frozenset()

    @property
    def n_rows(self) -> int:
        """Rows drawn from the table: training, holdout (unless it is training) and unseen rows."""
        return self.n_train + (0 if self.holdout_is_train else self.n_holdout) + self.n_synthetic


SHAPES: dict[str, Shape] = {
    s.name: s
    for s in (
        Shape("1:1-300", 300, 300, 300, "300 training, 300 holdout, 300 synthetic rows"),
        Shape("1:1-2k", 2_000, 2_000, 2_000, "2,000 rows each"),
        Shape("4:1-2k", 2_000, 500, 2_000, "an 80/20 split of 2,500 rows; synthetic as large as training"),
        Shape("8:1-2k", 4_000, 500, 2_000, "training 8x the holdout"),
        Shape("4:1-40k", 32_000, 8_000, 8_000, "an 80/20 split of 40,000 rows (the largest Adult allows)"),
        Shape("1:1-50k", 50_000, 50_000, 50_000, "50,000 rows each (seeded tables only)"),
        Shape(
            "small-synthetic",
            2_000,
            2_000,
            150,
            "a 150-row synthetic extract against a 2,000-row holdout",
            # the skill ratio needs 300 synthetic rows (benchmarks/calibrate_utility.py: honest 43-46/50 at 100-200)
            undecidable=frozenset({"utility"}),
        ),
        Shape("tiny-holdout", 2_000, 6, 2_000, "a holdout of 6 rows: too little evidence to pass"),
        Shape("holdout=train", 2_000, 2_000, 2_000, "the holdout is a copy of training", holdout_is_train=True),
    )
}


@dataclass(frozen=True)
class Expected:
    """What the gate must say about a case, under any policy.

    ``outcome``: ``pass`` (no rule fails, warnings included), ``caught`` (a rule of a ``catch``
    pillar fails or cannot decide, reading one of ``metrics`` when that is set; see
    ``calibration.judge`` for severities), ``not-pass`` (any verdict but pass, and a ``catch`` pillar
    among the failures), ``refused`` (bad input, exit 2), ``clean-only`` (the defect is below the
    size the suite requires it to be caught at; only ``clean`` is judged). No rule of a ``clean``
    pillar may fail, whatever the outcome — except that on an ``undecidable`` pillar (the shape is
    below its rules' calibrated minimum size) a rule saying *insufficient evidence* is what it should say.
    """

    outcome: Outcome
    reason: str
    catch: frozenset[str] = frozenset()
    clean: frozenset[str] = frozenset()
    metrics: frozenset[str] = frozenset()
    #: pillars where ``insufficient evidence`` is expected at this size (``Shape.undecidable``)
    undecidable: frozenset[str] = frozenset()


@dataclass(frozen=True, eq=False)
class Case:
    """One calibration case; unpacks as ``(real, synthetic, holdout, target, expected)``."""

    table: str
    shape: str
    case: str
    seed: int
    real: pd.DataFrame
    synthetic: pd.DataFrame
    holdout: pd.DataFrame | None
    target: str
    expected: Expected

    @property
    def key(self) -> str:
        return f"{self.table}/{self.shape}/{self.case}/{self.seed}"

    def __iter__(self) -> Iterator[Any]:
        return iter((self.real, self.synthetic, self.holdout, self.target, self.expected))


@dataclass
class _Parts:
    """The rows one case is built from; ``make`` functions return the synthetic table (and may
    replace ``train`` / ``holdout`` for defects of the task itself)."""

    train: pd.DataFrame
    holdout: pd.DataFrame
    unseen: pd.DataFrame
    spec: TableSpec
    rng: np.random.Generator


Make = Callable[[_Parts], pd.DataFrame]


@dataclass(frozen=True)
class CaseSpec:
    """A planted defect: how its synthetic rows are made and which pillar must catch it."""

    name: str
    description: str
    make: Make
    catch: frozenset[str] = frozenset()
    clean: frozenset[str] = frozenset(PILLARS)
    metrics: frozenset[str] = frozenset()
    min_synthetic: int = 0
    #: share of synthetic rows copied verbatim from training (``copies*``): the catch is then only
    #: required where the copies are distinguishable from chance matches (``copy_signal``)
    copied_share: float = 0.0
    needs_ids: bool = False
    needs_numeric: bool = False


# -- the defects -----------------------------------------------------------------------------------

JITTER = 0.01
WEAK_SIGNAL_KEEP = 0.12


def _honest(p: _Parts) -> pd.DataFrame:
    return p.unseen.copy()


def _train_rows(p: _Parts, n: int) -> pd.DataFrame:
    """``n`` training rows (without replacement while training has enough)."""
    picks = p.rng.choice(len(p.train), n, replace=n > len(p.train))
    return p.train.iloc[picks].reset_index(drop=True)


def _mix(p: _Parts, share: float, rows: Callable[[int], pd.DataFrame]) -> pd.DataFrame:
    """Unseen rows with ``share`` of them replaced by ``rows(k)``, in random order."""
    k = round(share * len(p.unseen))
    mixed = pd.concat([rows(k), p.unseen.iloc[k:]], ignore_index=True)
    return mixed.iloc[p.rng.permutation(len(mixed))].reset_index(drop=True)


def _copies(share: float) -> Make:
    return lambda p: _mix(p, share, lambda k: _train_rows(p, k))


def _numeric(frame: pd.DataFrame, spec: TableSpec) -> list[str]:
    return [c for c in frame.columns if c not in spec.id_columns and pd.api.types.is_numeric_dtype(frame[c])]


def _jittered_rows(p: _Parts, n: int) -> pd.DataFrame:
    """Training rows with 1 % multiplicative noise on every numeric column (integral columns
    rounded), ids replaced by unseen rows' ids; rows that still equal a training row get one more
    cell changed (+1 on a numeric cell, or another category), so no exact match is left."""
    rows = _train_rows(p, n)
    for column in _numeric(rows, p.spec):
        values = rows[column].to_numpy(dtype=float)
        noisy = values * (1 + p.rng.normal(0, JITTER, len(values)))
        if np.all(np.mod(p.train[column].dropna().to_numpy(dtype=float), 1) == 0):
            noisy = np.round(noisy)
        rows[column] = noisy.astype(rows[column].dtype) if rows[column].dtype.kind in "iu" else noisy
    for column in p.spec.id_columns:
        rows[column] = p.unseen[column].to_numpy()[:n]
    seen = set(pd.util.hash_pandas_object(p.train, index=False))
    for _ in range(10):
        clash = np.flatnonzero(pd.util.hash_pandas_object(rows, index=False).isin(seen).to_numpy())
        if not len(clash):
            return rows
        for i in clash:
            _nudge(rows, int(i), p)
    raise RuntimeError("could not jitter every row away from the training rows")


def _nudge(rows: pd.DataFrame, i: int, p: _Parts) -> None:
    """Change one cell of row ``i``: +1 on a non-missing numeric cell, else another category."""
    numeric = [c for c in _numeric(rows, p.spec) if pd.notna(rows.at[i, c])]
    if numeric:
        column = numeric[int(p.rng.integers(len(numeric)))]
        rows.at[i, column] = rows.at[i, column] + 1
        return
    skip = {*p.spec.id_columns, p.spec.target}
    candidates = [c for c in rows.columns if c not in skip and rows[c].dtype == object]
    column = candidates[int(p.rng.integers(len(candidates)))]
    levels = [v for v in p.train[column].dropna().unique() if v != rows.at[i, column]]
    rows.at[i, column] = levels[int(p.rng.integers(len(levels)))]


def _jitter(share: float) -> Make:
    return lambda p: _mix(p, share, lambda k: _jittered_rows(p, k))


def _collapse(p: _Parts) -> pd.DataFrame:
    synthetic = p.unseen.copy()
    synthetic[p.spec.collapse_column] = p.train[p.spec.collapse_column].mode().iloc[0]
    return synthetic


def _independent(p: _Parts) -> pd.DataFrame:
    """Every column resampled on its own from training (ids stay the unseen rows')."""
    n = len(p.unseen)
    synthetic = p.unseen.copy()
    for column in p.train.columns:
        if column not in p.spec.id_columns:
            synthetic[column] = p.train[column].to_numpy()[p.rng.integers(0, len(p.train), n)]
    return synthetic


def _shift(p: _Parts) -> pd.DataFrame:
    """+3 on the age column; on an ordinal categorical, 30 % of rows one band up (the top band stays)."""
    synthetic = p.unseen.copy()
    column = p.spec.shift_column
    if p.spec.shift_levels:
        levels = np.asarray(p.spec.shift_levels, dtype=object)
        position = pd.Series(synthetic[column]).map({v: k for k, v in enumerate(levels)}).to_numpy()
        move = p.rng.random(len(synthetic)) < 0.3
        synthetic[column] = levels[np.minimum(position + move, len(levels) - 1).astype(int)]
    else:
        synthetic[column] = synthetic[column] + 3
    return synthetic


def _shuffled_target(p: _Parts) -> pd.DataFrame:
    synthetic = p.unseen.copy()
    synthetic[p.spec.target] = p.rng.permutation(synthetic[p.spec.target].to_numpy())
    return synthetic


def _weaken(frame: pd.DataFrame, target: str, rng: np.random.Generator) -> pd.DataFrame:
    """The same rows with a target that keeps ~12 % of its signal: each label is replaced by a
    random label with probability 0.88 (classification), or mixed with noise so that R² falls to
    about 12 % of what it was (regression); the target's marginal is kept."""
    out = frame.copy()
    values = out[target].to_numpy()
    if pd.api.types.is_numeric_dtype(out[target]) and out[target].nunique() > 20:
        centre, scale = np.nanmean(values), np.nanstd(values)
        keep = np.sqrt(WEAK_SIGNAL_KEEP)
        noise = rng.standard_normal(len(values)) * scale * np.sqrt(1 - WEAK_SIGNAL_KEEP)
        out[target] = np.round(centre + keep * (values - centre) + noise, 1)
    else:
        replace = rng.random(len(values)) >= WEAK_SIGNAL_KEEP
        values = values.copy()
        values[replace] = values[rng.permutation(len(values))][replace]
        out[target] = values
    return out


def _weak_signal(p: _Parts) -> pd.DataFrame:
    """A task with weak signal in every table (training, holdout, unseen), and the synthetic target shuffled."""
    p.train, p.holdout = _weaken(p.train, p.spec.target, p.rng), _weaken(p.holdout, p.spec.target, p.rng)
    return _shuffled_target(_Parts(p.train, p.holdout, _weaken(p.unseen, p.spec.target, p.rng), p.spec, p.rng))


def _replayed_ids(p: _Parts) -> pd.DataFrame:
    """Honest rows carrying identifiers copied from training rows."""
    synthetic = p.unseen.copy()
    picks = p.rng.choice(len(p.train), len(synthetic), replace=len(synthetic) > len(p.train))
    for column in p.spec.id_columns:
        synthetic[column] = p.train[column].to_numpy()[picks]
    return synthetic


_PRIVACY = frozenset({"privacy"})
_FIDELITY = frozenset({"fidelity"})
_UTILITY = frozenset({"utility"})
_NOT_PRIVACY = frozenset({"fidelity", "utility"})
#: near-copies must leave utility alone, not fidelity: 1 % noise on an integral column, rounded, moves mass
#: off its spikes (Adult's hours_per_week = 40 holds 47 % of rows; a tenth of them become 39 or 41), a real
#: change of the marginal that KS is right to see (0.059 against a noise floor of 0.025 at 8:1-2k)
_JITTER_CLEAN = _UTILITY

CASES: dict[str, CaseSpec] = {
    c.name: c
    for c in (
        CaseSpec("honest", "unseen real rows of the same population: the best a generator can do", _honest),
        CaseSpec(
            "copies", "every synthetic row a verbatim training row", _copies(1.0), _PRIVACY, _NOT_PRIVACY,
            copied_share=1.0,
        ),
        CaseSpec(
            "copies-30", "30 % verbatim training rows, the rest unseen", _copies(0.3), _PRIVACY, _NOT_PRIVACY,
            copied_share=0.3,
        ),
        CaseSpec(
            "copies-10", "10 % verbatim training rows", _copies(0.1), _PRIVACY, _NOT_PRIVACY, copied_share=0.1,
        ),
        CaseSpec(
            "copies-5", "5 % verbatim training rows", _copies(0.05), _PRIVACY, _NOT_PRIVACY, copied_share=0.05,
        ),
        CaseSpec(
            "jitter", "every row a training row with 1 % numeric noise, no exact match left", _jitter(1.0),
            _PRIVACY, _JITTER_CLEAN, needs_numeric=True,
        ),
        CaseSpec(
            "jitter-10", "10 % near-copies (1 % noise), the rest unseen", _jitter(0.1), _PRIVACY, _JITTER_CLEAN,
            min_synthetic=300, needs_numeric=True,
        ),
        CaseSpec(
            "jitter-5", "5 % near-copies (1 % noise), the rest unseen", _jitter(0.05), _PRIVACY, _JITTER_CLEAN,
            min_synthetic=2_000, needs_numeric=True,
        ),
        CaseSpec(
            "collapse", "one categorical column collapsed onto its mode", _collapse, _FIDELITY,
            frozenset({"privacy", "utility"}),
        ),
        CaseSpec(
            "independent", "every column resampled independently (dependence broken)", _independent, _FIDELITY,
            _PRIVACY, min_synthetic=300,
        ),
        CaseSpec(
            "shift", "+3 years on age (or 30 % of rows one age band up)", _shift, _FIDELITY,
            frozenset({"privacy", "utility"}), min_synthetic=2_000,
        ),
        CaseSpec(
            "shuffled-target", "the target permuted: no relation to the features", _shuffled_target, _UTILITY,
            _PRIVACY, min_synthetic=300,
        ),
        CaseSpec(
            "weak-signal", "a task with weak signal (12 % kept) and the synthetic target shuffled", _weak_signal,
            _UTILITY, _PRIVACY, min_synthetic=300,
        ),
        CaseSpec(
            "replayed-ids", "honest rows carrying patient and row ids copied from training", _replayed_ids,
            _PRIVACY, _NOT_PRIVACY, metrics=frozenset({"privacy.pii"}), needs_ids=True,
        ),
    )
}  # fmt: skip


# -- building ---------------------------------------------------------------------------------------


def unavailable(table: str, shape: str, case: str) -> str | None:
    """Why (table, shape, case) cannot be built, or None when it can. Unknown names raise KeyError."""
    spec, size, defect = _lookup(table, shape, case)
    if defect.needs_ids and not spec.id_columns:
        return f"case {case!r} needs identifier columns; table {table!r} has none"
    if defect.needs_numeric and not spec.has_numeric:
        return f"case {case!r} jitters numeric columns; table {table!r} has none"
    if spec.max_rows is not None and size.n_rows > spec.max_rows:
        return f"table {table!r} holds {spec.max_rows:,} rows; shape {shape!r} needs {size.n_rows:,}"
    return None


def build(table: str, shape: str, case: str, seed: int) -> Case:
    """The case's frames and expectation. Raises ``ShapeUnavailable`` where ``unavailable`` says why."""
    reason = unavailable(table, shape, case)
    if reason:
        raise ShapeUnavailable(reason)
    spec, size, defect = _lookup(table, shape, case)
    population = spec.draw(size.n_rows, np.random.default_rng(stable_key(seed, table, shape)))
    train = population.iloc[: size.n_train].reset_index(drop=True)
    rest = population.iloc[size.n_train :].reset_index(drop=True)
    n_holdout = 0 if size.holdout_is_train else size.n_holdout
    holdout = train.copy() if size.holdout_is_train else rest.iloc[:n_holdout].reset_index(drop=True)
    unseen = rest.iloc[n_holdout:].reset_index(drop=True)
    parts = _Parts(train, holdout, unseen, spec, np.random.default_rng(stable_key(seed, table, shape, case)))
    synthetic = defect.make(parts)
    expected = _expected(defect, size)
    if defect.copied_share and expected.outcome == "caught":
        z = copy_signal(parts.train, parts.holdout, synthetic, defect.copied_share, spec.id_columns)
        if z < MIN_COPY_SIGNAL:
            reason = (
                f"{defect.name}: the copied rows are common rows of this table (planted excess {z:.1f} standard "
                f"errors of the exact-match test, under {MIN_COPY_SIGNAL}): not distinguishable from chance matches"
            )
            expected = Expected("clean-only", reason, clean=defect.clean, undecidable=size.undecidable)
    return Case(table, shape, case, seed, parts.train, synthetic, parts.holdout, spec.target, expected)


#: a verbatim-copy defect must be caught when its planted excess is at least this many standard
#: errors of the pooled-attribution test under its null: power ≥ 90 % for a one-sided 2.5 % test
#: (1.96 + 1.28 = 3.24, rounded up)
MIN_COPY_SIGNAL = 3.5


def copy_signal(
    train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, share: float, id_columns: Sequence[str]
) -> float:
    """How many null standard errors the copies planted in ``synthetic`` move ``privacy.exact_match``.

    A synthetic row identical to ``a`` training and ``b`` holdout rows scores a / (a + b) against the
    chance level π = t / (t + h) (``metrics._rows.pooled_attribution``). A copy of a random training
    row adds, on average, the mean of a / (a + b) − π over training rows: close to 1 − π where rows
    are unique (Adult), near 0 where every row is a common combination of a few categories (the
    ``discrete`` table: copying a row that many people share discloses no one). The planted excess
    is that gain times the copied rows; the null standard error is the test's own, from the
    synthetic table's matches. Identifier columns are left out, as the metric does.
    """
    columns = [c for c in train.columns if c not in id_columns]

    def keys(frame: pd.DataFrame) -> pd.Series:
        return pd.Series(pd.util.hash_pandas_object(frame[columns].astype(str), index=False).to_numpy())

    train_keys, holdout_keys, synthetic_keys = keys(train), keys(holdout), keys(synthetic)
    in_train, in_holdout = train_keys.value_counts(), holdout_keys.value_counts()
    t, h = len(train), len(holdout)
    null, pool = t / (t + h), t + h
    a = in_train.reindex(train_keys).to_numpy(float)
    gain = float(np.mean(a / (a + in_holdout.reindex(train_keys).fillna(0).to_numpy(float)) - null))
    k = (in_train.reindex(synthetic_keys).fillna(0) + in_holdout.reindex(synthetic_keys).fillna(0)).to_numpy(float)
    k = k[k > 0]
    se = float(np.sqrt((null * (1 - null) * (pool - k) / (k * max(pool - 1, 1))).sum()))
    planted = share * len(synthetic) * gain
    return planted / se if se > 0 else float("inf")


def grid(
    tables: Sequence[str] | None = None, shapes: Sequence[str] | None = None, cases: Sequence[str] | None = None
) -> Iterator[tuple[str, str, str]]:
    """Every available (table, shape, case) of the given subsets (default: all), in a fixed order."""
    for table in tables or TABLES:
        for shape in shapes or SHAPES:
            for case in cases or CASES:
                if unavailable(table, shape, case) is None:
                    yield table, shape, case


def _lookup(table: str, shape: str, case: str) -> tuple[TableSpec, Shape, CaseSpec]:
    for name, known in (("table", TABLES), ("shape", SHAPES), ("case", CASES)):
        value = {"table": table, "shape": shape, "case": case}[name]
        if value not in known:
            raise KeyError(f"unknown {name} {value!r}; known: {', '.join(known)}")
    return TABLES[table], SHAPES[shape], CASES[case]


def expected_for(case: str, shape: str) -> Expected:
    """What the gate must say about ``case`` at ``shape`` (what ``build`` puts in ``Case.expected``,
    except for verbatim copies: whether they are distinguishable from chance matches depends on the
    frames, so ``build`` may relax a ``caught`` to ``clean-only``; see ``copy_signal``)."""
    return _expected(CASES[case], SHAPES[shape])


def _expected(defect: CaseSpec, shape: Shape) -> Expected:
    return replace(_expected_outcome(defect, shape), undecidable=shape.undecidable)


def _expected_outcome(defect: CaseSpec, shape: Shape) -> Expected:
    if shape.holdout_is_train:
        return Expected("refused", "the holdout is identical to training: bad input, not a verdict")
    if shape.n_holdout < 20:
        reason = f"a {shape.n_holdout}-row holdout cannot support a pass: privacy must say insufficient evidence"
        return Expected("not-pass", reason, catch=_PRIVACY)
    if defect.name == "honest":
        return Expected("pass", "honest data must pass", clean=defect.clean)
    if shape.n_synthetic < defect.min_synthetic:
        return Expected(
            "clean-only",
            f"{defect.name} need only be caught from {defect.min_synthetic:,} synthetic rows",
            clean=defect.clean,
        )
    pillars = "/".join(sorted(defect.catch))
    via = f" through {', '.join(sorted(defect.metrics))}" if defect.metrics else ""
    return Expected("caught", f"{defect.name} must fail on {pillars}{via}", defect.catch, defect.clean, defect.metrics)
