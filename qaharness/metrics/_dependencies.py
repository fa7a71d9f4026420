"""Functional dependencies learned from the real data, and their violations in another table.

Two shapes of dependency ``X → Y`` (Y a discrete column: categorical, boolean, or numeric/datetime
with few distinct values):

- **lookup**: X is a discrete column or a pair of them; each X value seen in at least
  ``min_group_rows`` real rows (a *supported* group) maps to the Y value most of its rows hold.
- **interval**: X is numeric or datetime; sorted by X, Y is piecewise constant over at most
  ``max_segments`` intervals (``age → age_band``, ``spend_90d → is_high_value = spend_90d >= 1000``).

A dependency *holds* when, on the real rows it can judge, at least ``min_confidence`` agree with
the mapping, and those rows (supported groups or segments) are at least ``min_support`` of all real
rows. Y must be informative: at least ``10 × (1 − min_confidence)`` of real rows differ from its
most common value, or any X would "determine" it. The search is bounded: every single column
against every dependent (one ``bincount`` or one pass over a presorted array each), then pairs
only among the ``pair_candidates`` best single determinants of a dependent no single column
determines.

A row of another table is *checked* when its X falls in a supported group (lookup) or inside a
supported segment's real range (interval; values in the gaps between segments or beyond them are
not judged — ``fidelity.validity`` counts the latter); a checked row whose Y differs from the
mapping *violates* the dependency.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from qaharness.masking import masked_value
from qaharness.metrics._common import _as_float
from qaharness.schema import ColumnKind, Schema

__all__ = ["Settings", "Dependency", "Violations", "discover", "violations"]


@dataclass(frozen=True)
class Settings:
    min_confidence: float = 0.999
    min_support: float = 0.25
    min_group_rows: int = 10
    max_levels: int = 64
    max_segments: int = 32
    pair_candidates: int = 4
    max_dependencies: int = 200


@dataclass(frozen=True)
class _Column:
    """One real column as discovery sees it: discrete codes (missing is a code) and/or sortable values."""

    name: str
    kind: ColumnKind
    values: np.ndarray  # the distinct real values, code order (object; None for missing)
    codes: np.ndarray | None = None  # int64 codes into ``values``; None when not discrete
    numbers: np.ndarray | None = None  # float values (NaN missing) when numeric/datetime

    @property
    def levels(self) -> int:
        return len(self.values)


@dataclass(frozen=True)
class Dependency:
    """``determinant → dependent`` as learned from the real rows (mappings in real value codes)."""

    determinant: tuple[str, ...]
    dependent: str
    shape: str  # "lookup" | "interval"
    confidence: float  # share of judged real rows agreeing with the mapping
    support: float  # share of real rows in supported groups / segments
    determinant_values: tuple[np.ndarray, ...]  # lookup: each determinant's distinct real values
    dependent_values: np.ndarray  # the dependent's distinct real values
    keys: np.ndarray  # lookup: supported combined determinant codes (sorted); interval: segment lows
    expected: np.ndarray  # dependent code per key / segment
    labels: tuple[str, ...]  # per key / segment, for messages; rare real values masked
    highs: np.ndarray | None = None  # interval: segment highs
    supported: np.ndarray | None = None  # interval: segment has at least min_group_rows rows

    @property
    def name(self) -> str:
        return f"{' + '.join(self.determinant)} → {self.dependent}"

    @property
    def groups(self) -> int:
        return int(self.keys.size if self.supported is None else self.supported.sum())


@dataclass(frozen=True)
class Violations:
    checked: int
    violations: int
    worst_group: str | None
    worst_group_violations: int


def _encode(frame: pd.DataFrame, schema: Schema, columns: list[str], max_levels: int) -> dict[str, _Column]:
    out = {}
    for column in columns:
        kind = schema[column]
        series = frame[column]
        numbers = None
        if kind in (ColumnKind.NUMERIC, ColumnKind.DATETIME):
            numbers = _as_float(series)
        codes, values = pd.factorize(series, use_na_sentinel=False)
        discrete = numbers is None or len(values) <= max_levels
        values = np.asarray(values, dtype=object)
        out[column] = _Column(column, kind, values, codes.astype(np.int64) if discrete else None, numbers)
    return out


def _informative(column: _Column, settings: Settings) -> bool:
    """Enough real rows off the most common value that determining it means something."""
    if column.codes is None or column.levels < 2:
        return False
    counts = np.bincount(column.codes)
    return 1.0 - counts.max() / column.codes.size >= 10 * (1.0 - settings.min_confidence)


def _lookup(x: np.ndarray, kx: int, y: np.ndarray, ky: int, settings: Settings):
    """(confidence, support, supported keys, their majority y code) of ``x → y``; confidence is None
    when support is too low."""
    n = x.size
    combined = x * ky + y
    if kx * ky <= max(4 * n, 1 << 16):
        counts = np.bincount(combined, minlength=kx * ky).reshape(kx, ky)
        sizes = counts.sum(axis=1)
        keys = np.flatnonzero(sizes >= settings.min_group_rows)
        best = counts[keys].max(axis=1)
        majority = counts[keys].argmax(axis=1)
        sizes = sizes[keys]
    else:  # sparse: only the (x, y) pairs that occur
        pairs, counts = np.unique(combined, return_counts=True)
        gx, gy = pairs // ky, pairs % ky
        starts = np.flatnonzero(np.r_[True, gx[1:] != gx[:-1]])
        sizes_all = np.add.reduceat(counts, starts)
        order = np.lexsort((-counts, gx))  # per group, the largest count first
        first = order[np.searchsorted(gx[order], gx[starts])]
        supported = sizes_all >= settings.min_group_rows
        keys, sizes = gx[starts][supported], sizes_all[supported]
        best, majority = counts[first][supported], gy[first][supported]
    judged = int(sizes.sum())
    support = judged / n if n else 0.0
    if support < settings.min_support or judged == 0:
        return None, support, keys, majority
    return float(best.sum()) / judged, support, keys, majority


def _segments(xs: np.ndarray, ys: np.ndarray, settings: Settings):
    """Piecewise-constant map of ``ys`` over sorted ``xs``: (confidence, support, lows, highs, y codes,
    rows) or None when ``ys`` is not such a function of x."""
    n = xs.size
    allowed = int((1.0 - settings.min_confidence) * n)
    same_x = xs[1:] == xs[:-1]
    change = ys[1:] != ys[:-1]
    impure = np.flatnonzero(change & same_x)
    if impure.size > 2 * allowed:  # each minority row inside a tied x block makes at most 2 changes
        return None
    block_starts = np.flatnonzero(np.r_[True, ~same_x])
    block_y = ys[block_starts].copy()
    exceptions = 0
    for position in impure:  # fix the majority of the few impure blocks
        b = np.searchsorted(block_starts, position, side="right") - 1
        end = block_starts[b + 1] if b + 1 < block_starts.size else n
        counts = np.bincount(ys[block_starts[b] : end])
        block_y[b] = counts.argmax()
    if impure.size:
        minority = _minority_rows(ys, block_starts, block_y)
        exceptions += minority
    block_rows = np.diff(np.r_[block_starts, n])
    run_starts = np.flatnonzero(np.r_[True, block_y[1:] != block_y[:-1]])
    if run_starts.size > settings.max_segments + 2 * (allowed - exceptions) + 1:
        return None
    runs = _merge_runs(run_starts, block_y, block_rows, settings.min_group_rows)
    exceptions += runs.pop()
    if exceptions > allowed or not 2 <= len(runs) <= settings.max_segments:
        return None
    lows = np.array([xs[block_starts[r[0]]] for r in runs])
    highs = np.array([xs[(block_starts[r[1] + 1] if r[1] + 1 < block_starts.size else n) - 1] for r in runs])
    values = np.array([r[2] for r in runs])
    rows = np.array([r[3] for r in runs])
    supported = rows >= settings.min_group_rows
    support = float(rows[supported].sum()) / n
    if support < settings.min_support or len(set(values[supported].tolist())) < 2:
        return None
    return 1.0 - exceptions / n, support, lows, highs, values, rows


def _minority_rows(ys: np.ndarray, block_starts: np.ndarray, block_y: np.ndarray) -> int:
    """Rows whose y differs from their x block's majority."""
    block_of_row = np.repeat(np.arange(block_starts.size), np.diff(np.r_[block_starts, ys.size]))
    return int(np.count_nonzero(ys != block_y[block_of_row]))


def _merge_runs(run_starts: np.ndarray, block_y: np.ndarray, block_rows: np.ndarray, min_rows: int) -> list:
    """Runs of equal y over x blocks as [first block, last block, y, rows]; a short run between two
    runs of one value is an exception absorbed into them. The last element is the exception count."""
    bounds = np.r_[run_starts, block_y.size]
    runs = [[int(a), int(b) - 1, int(block_y[a]), int(block_rows[a:b].sum())] for a, b in itertools.pairwise(bounds)]
    exceptions = 0
    i = 1
    while i < len(runs) - 1:
        left, mid, right = runs[i - 1], runs[i], runs[i + 1]
        if mid[3] < min_rows and left[2] == right[2]:
            exceptions += mid[3]
            runs[i - 1 : i + 2] = [[left[0], right[1], left[2], left[3] + right[3]]]
            i = max(i - 1, 1)
        else:
            i += 1
    return [*runs, exceptions]


# -- discovery --------------------------------------------------------------------------------
#: rows of the evenly spaced subsequence that rejects most interval candidates before a full pass
_PROBE_ROWS = 2048


@dataclass(frozen=True)
class _Sorted:
    """A numeric determinant presorted once: non-missing row indices in x order, the sorted x, and an
    evenly spaced subsequence of those indices (a change of y between two probe rows implies one in
    the full order, so too many changes there rule the candidate out exactly)."""

    index: np.ndarray
    xs: np.ndarray
    probe: np.ndarray


def _presort(column: _Column) -> _Sorted:
    assert column.numbers is not None
    present = np.flatnonzero(~np.isnan(column.numbers))
    order = np.argsort(column.numbers[present], kind="stable")
    index = present[order]
    step = max(1, index.size // _PROBE_ROWS)
    return _Sorted(index, column.numbers[present][order], index[::step])


def discover(
    real: pd.DataFrame, schema: Schema, columns: list[str], settings: Settings
) -> tuple[list[Dependency], dict[str, int]]:
    """Dependencies that hold in ``real`` over ``columns``, and counts of what was tested."""
    encoded = _encode(real, schema, columns, settings.max_levels)
    presorted = {c.name: _presort(c) for c in encoded.values() if c.numbers is not None}
    found: list[Dependency] = []
    tested = {"columns": len(encoded), "dependents": 0, "single_tests": 0, "pair_tests": 0}
    for y in encoded.values():
        if not _informative(y, settings):
            continue
        tested["dependents"] += 1
        singles, ranking = [], []
        for x in encoded.values():
            if x.name == y.name:
                continue
            tested["single_tests"] += 1
            dependency = _interval(x, presorted[x.name], y, settings) if x.name in presorted else None
            if dependency is None and x.codes is not None:
                dependency, confidence = _lookup_dependency((x,), y, settings)
                if dependency is None and confidence is not None:
                    ranking.append((confidence, x.name))
            if dependency is not None:
                singles.append(dependency)
        found += singles
        if singles:
            continue
        top = [encoded[name] for _, name in sorted(ranking, key=lambda t: (-t[0], t[1]))[: settings.pair_candidates]]
        for i, a in enumerate(top):
            for b in top[i + 1 :]:
                tested["pair_tests"] += 1
                dependency, _ = _lookup_dependency((a, b), y, settings)
                if dependency is not None:
                    found.append(dependency)
    found.sort(key=lambda d: (len(d.determinant), -d.support, d.name))
    return found[: settings.max_dependencies], tested


def _lookup_dependency(
    xs: tuple[_Column, ...], y: _Column, settings: Settings
) -> tuple[Dependency | None, float | None]:
    """The lookup dependency ``xs → y`` if it holds, and its confidence (None: too little support)."""
    if len(xs) == 1:
        compact, inverse, kx = None, xs[0].codes, xs[0].levels
    else:
        compact, inverse = _compact(*_combined([x.codes for x in xs], [x.levels for x in xs]))  # type: ignore[misc]
        kx = compact.size
    assert inverse is not None
    assert y.codes is not None
    confidence, support, keys, majority = _lookup(inverse, kx, y.codes, y.levels, settings)
    if confidence is None or confidence < settings.min_confidence:
        return None, confidence
    if len(set(majority.tolist())) < 2:  # one value everywhere it can judge: determines nothing
        return None, confidence
    sizes = np.bincount(inverse, minlength=kx)[keys]
    combined_keys = compact[keys] if compact is not None else keys
    labels = tuple(_key_label(xs, int(k), int(size)) for k, size in zip(combined_keys, sizes))
    dependency = Dependency(
        determinant=tuple(x.name for x in xs),
        dependent=y.name,
        shape="lookup",
        confidence=confidence,
        support=support,
        determinant_values=tuple(x.values for x in xs),
        dependent_values=y.values,
        keys=np.asarray(combined_keys, dtype=np.int64),
        expected=np.asarray(majority, dtype=np.int64),
        labels=labels,
    )
    return dependency, confidence


def _compact(codes: np.ndarray, total: int) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct codes, sorted; each row's position among them) — ``np.unique`` without a sort
    when the code range is small."""
    if total <= max(4 * codes.size, 1 << 16):
        present = np.flatnonzero(np.bincount(codes, minlength=total))
        position = np.zeros(total, dtype=np.int64)
        position[present] = np.arange(present.size)
        return present, position[codes]
    compact, inverse = np.unique(codes, return_inverse=True)
    return compact, inverse.astype(np.int64)


def _combined(codes: list[np.ndarray], levels: list[int]) -> tuple[np.ndarray, int]:
    """One int64 code per row for a tuple of columns (mixed radix; -1 anywhere → -1)."""
    out = np.zeros(codes[0].size, dtype=np.int64)
    unseen = np.zeros(codes[0].size, dtype=bool)
    total = 1
    for column_codes, k in zip(codes, levels):
        out = out * k + column_codes
        unseen |= column_codes < 0
        total *= k
    out[unseen] = -1
    return out, total


def _key_label(xs: tuple[_Column, ...], key: int, rows: int) -> str:
    parts = []
    for x in reversed(xs):
        key, code = divmod(key, x.levels)
        parts.append(f"{x.name}={masked_value(_text(x.values[code]), rows)}")
    return ", ".join(reversed(parts))


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "(missing)"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _interval(x: _Column, presorted: _Sorted, y: _Column, settings: Settings) -> Dependency | None:
    assert y.codes is not None
    n_total = y.codes.size
    if presorted.xs.size < settings.min_group_rows:
        return None
    probe = y.codes[presorted.probe]
    allowed = int((1.0 - settings.min_confidence) * presorted.xs.size)
    if np.count_nonzero(probe[1:] != probe[:-1]) > settings.max_segments - 1 + 2 * allowed:
        return None
    found = _segments(presorted.xs, y.codes[presorted.index], settings)
    if found is None:
        return None
    confidence, support, lows, highs, values, rows = found
    support *= presorted.xs.size / n_total
    if support < settings.min_support:
        return None
    counts = np.bincount(y.codes, minlength=y.levels)
    labels = tuple(
        f"{x.name} in interval {i + 1} of {lows.size} ({y.name}={masked_value(_text(y.values[v]), int(counts[v]))})"
        for i, v in enumerate(values)
    )
    return Dependency(
        determinant=(x.name,),
        dependent=y.name,
        shape="interval",
        confidence=confidence,
        support=support,
        determinant_values=(),
        dependent_values=y.values,
        keys=lows,
        expected=np.asarray(values, dtype=np.int64),
        labels=labels,
        highs=highs,
        supported=rows >= settings.min_group_rows,
    )


# -- checking another table ---------------------------------------------------------------------
def _codes_in(values: np.ndarray, series: pd.Series) -> np.ndarray:
    """Codes of ``series`` in the real value list ``values`` (-1: never seen in real; missing matches missing)."""
    return pd.Index(values).get_indexer(series.to_numpy(dtype=object)).astype(np.int64)


def violations(dependency: Dependency, frame: pd.DataFrame) -> Violations:
    """How many rows of ``frame`` the dependency can judge, and how many of those violate it."""
    actual = _codes_in(dependency.dependent_values, frame[dependency.dependent])
    if dependency.shape == "interval":
        assert dependency.highs is not None and dependency.supported is not None
        x = _as_float(frame[dependency.determinant[0]])
        slot = np.searchsorted(dependency.keys, x, side="right") - 1
        inside = (slot >= 0) & ~np.isnan(x)
        inside[inside] &= x[inside] <= dependency.highs[slot[inside]]
        inside[inside] &= dependency.supported[slot[inside]]
    else:
        levels = [v.size for v in dependency.determinant_values]
        codes = [_codes_in(v, frame[c]) for v, c in zip(dependency.determinant_values, dependency.determinant)]
        key, _ = _combined(codes, levels)
        slot = np.clip(np.searchsorted(dependency.keys, key), 0, dependency.keys.size - 1)
        inside = (key >= 0) & (dependency.keys[slot] == key)
    expected = dependency.expected[slot[inside]]
    wrong = actual[inside] != expected
    n_wrong = int(wrong.sum())
    worst, worst_count = None, 0
    if n_wrong:
        per_slot = np.bincount(slot[inside][wrong], minlength=len(dependency.labels))
        worst_slot = int(per_slot.argmax())
        worst, worst_count = dependency.labels[worst_slot], int(per_slot[worst_slot])
    return Violations(int(inside.sum()), n_wrong, worst, worst_count)
