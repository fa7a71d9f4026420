"""The metric conformance suite: every check a metric plugin must pass, runnable on any metric class.

```python
from qaharness.testing import check_metric
check_metric(MyMetric)            # raises AssertionError listing each failed check
```

Checks (``METRIC_CHECKS``), each on small seeded mixed-type tables (``ConformanceData``):

- ``consistent`` — on honest data the metric is ok, its identity fields are the class's, its
  details validate against its ``Details``, its interval holds its value, its baseline lies within
  its bounds, and a headline that names its ``details.worst_column`` is that column's value and
  the worst one;
- ``ideal`` — on the input the metric declares (``conformance_input``: a copy of real, the holdout,
  or a tagged copy) the value is ``ideal_value()`` within ``ideal_tolerance``, or equals the metric
  named by ``conformance_equals`` on the same input;
- ``defect`` — the planted defect the metric declares (``conformance_defect``, one of ``DEFECTS``)
  moves the value at least ``DEFECT_MARGIN`` further from the ideal than the ideal check's input;
- ``determinism``, ``no-mutation``, ``json`` (strict JSON round trip), ``docs`` (the docstring
  states the range; a plain-language description), ``typed-details`` (a ``Details`` model that
  forbids undeclared keys), ``all-missing-column`` (a column missing everywhere is no error).

A check that does not apply raises ``CheckSkipped`` with the reason (e.g. no declared defect).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from qaharness.engine import run_metric
from qaharness.inputs import EvalInput, prepare_inputs
from qaharness.metrics._base import Metric, MetricDetails, get_metric, metric_ids
from qaharness.provenance import TAG_COLUMN, TAG_PREFIX
from qaharness.results import Goal, MetricResult, Status

__all__ = [
    "METRIC_CHECKS",
    "DEFECTS",
    "DEFECT_MARGIN",
    "CheckSkipped",
    "ConformanceData",
    "mixed_frame",
    "check_metric",
    "metric_check_cases",
    "run_metric_check",
]

#: how much further from the ideal than honest data a declared defect must move the value
DEFECT_MARGIN = 0.05


class CheckSkipped(Exception):
    """A conformance check that does not apply to this metric; the message says why."""


def mixed_frame(n_rows: int, seed: int) -> pd.DataFrame:
    """A small mixed-type table with dependence between columns (numeric, categorical, boolean, datetime)."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n_rows).astype(float)
    group = rng.choice(["a", "b", "c"], n_rows, p=[0.5, 0.3, 0.2])
    income = 1000 * age + rng.normal(0, 5000, n_rows) + np.where(group == "a", 10000, 0)
    flag = np.where(income > np.median(income), "yes", "no")
    day = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n_rows), unit="D")
    label = np.where(income + rng.normal(0, 8000, n_rows) > np.median(income), ">50K", "<=50K")
    return pd.DataFrame({"age": age, "group": group, "income": income, "flag": flag, "day": day, "label": label})


def _collapse(real: pd.DataFrame, synthetic: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Every column of synthetic set to the real column's most frequent value."""
    return pd.DataFrame({c: [real[c].mode().iloc[0]] * len(synthetic) for c in synthetic.columns})


def _shuffled_target(real: pd.DataFrame, synthetic: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """The target column of synthetic permuted: features keep their distribution, lose the target."""
    return synthetic.assign(label=rng.permutation(synthetic["label"].to_numpy()))


def _copy(real: pd.DataFrame, synthetic: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Synthetic = verbatim training rows."""
    return real.iloc[rng.permutation(len(real))].reset_index(drop=True)


def _missing(real: pd.DataFrame, synthetic: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Half the values of every synthetic column blanked."""
    return synthetic.mask(rng.random(synthetic.shape) < 0.5)


def _out_of_domain(real: pd.DataFrame, synthetic: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Every numeric synthetic column moved past the real maximum (a unit or scale error)."""
    numeric = [c for c in synthetic.columns if pd.api.types.is_numeric_dtype(synthetic[c].dtype)]
    return synthetic.assign(**{c: synthetic[c] + (real[c].max() - real[c].min()) + 1 for c in numeric})


def _independent(real: pd.DataFrame, synthetic: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Every synthetic column permuted on its own: marginals kept, every dependence between columns lost."""
    return pd.DataFrame({c: rng.permutation(synthetic[c].to_numpy()) for c in synthetic.columns})


def _untagged(real: pd.DataFrame, synthetic: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Synthetic rows without a provenance tag (the honest table as it is)."""
    return synthetic


DEFECTS: dict[str, Callable[[pd.DataFrame, pd.DataFrame, np.random.Generator], pd.DataFrame]] = {
    "collapse": _collapse,
    "shuffled_target": _shuffled_target,
    "copy": _copy,
    "missing": _missing,
    "untagged": _untagged,
    "out_of_domain": _out_of_domain,
    "independent": _independent,
}


@dataclass
class ConformanceData:
    """Seeded tables the checks run on: real (300 rows), honest synthetic (300, a fresh draw of the
    same process), holdout (200); target ``label``. Inputs are prepared once and reused."""

    real: pd.DataFrame = field(default_factory=lambda: mixed_frame(300, 1))
    synthetic: pd.DataFrame = field(default_factory=lambda: mixed_frame(300, 2))
    holdout: pd.DataFrame = field(default_factory=lambda: mixed_frame(200, 3))
    target: str = "label"
    _prepared: dict[str, EvalInput] = field(default_factory=dict, repr=False)

    def _input(self, name: str, synthetic: Callable[[], pd.DataFrame]) -> EvalInput:
        if name not in self._prepared:
            self._prepared[name] = prepare_inputs(self.real, synthetic(), self.holdout, target=self.target)
        return self._prepared[name]

    def honest(self) -> EvalInput:
        return self._input("honest", lambda: self.synthetic)

    def case(self, name: str) -> EvalInput:
        """The input of a ``conformance_input``: identical | honest | holdout | tagged."""
        if name == "honest":
            return self.honest()
        makers = {
            "identical": lambda: self.real.copy(),
            "holdout": lambda: self.holdout.copy(),
            "tagged": lambda: self.real.assign(**{TAG_COLUMN: f"{TAG_PREFIX}conformance"}),
        }
        if name not in makers:
            raise ValueError(f"unknown conformance input {name!r}; known: honest, {', '.join(makers)}")
        return self._input(name, makers[name])

    def defect(self, name: str) -> EvalInput:
        if name not in DEFECTS:
            raise ValueError(f"unknown planted defect {name!r}; known: {', '.join(DEFECTS)}")
        rng = np.random.default_rng(11)
        return self._input(f"defect:{name}", lambda: DEFECTS[name](self.real, self.synthetic, rng))

    def with_empty_column(self) -> EvalInput:
        frames = [f.assign(empty=np.nan) for f in (self.real, self.synthetic, self.holdout)]
        return prepare_inputs(*frames, target=self.target)


def _run(cls: type[Metric], data: EvalInput, seed: int = 0) -> MetricResult:
    return run_metric(cls(), data, seed=seed)


def _ok(result: MetricResult, what: str) -> float:
    assert result.status is Status.OK, f"{result.id} on {what}: {result.status.value} — {result.message}"
    assert result.value is not None
    return result.value


def _distance(cls: type[Metric], value: float) -> float:
    ideal = cls.ideal_value()
    assert ideal is not None, f"{cls.id} has no ideal value"
    return abs(value - ideal)


def check_consistent(cls: type[Metric], data: ConformanceData) -> None:
    result = _run(cls, data.honest())
    value = _ok(result, "honest data")
    assert (result.id, result.family, result.goal) == (cls.id, cls.family, cls.goal), "identity fields"
    assert result.ideal == cls.ideal_value() and result.description == cls.description, "ideal/description fields"
    cls.Details.model_validate(result.details)  # what the engine added is declared too
    if result.ci is not None:
        assert result.ci[0] - 1e-9 <= value <= result.ci[1] + 1e-9, f"ci {result.ci} does not hold value {value}"
    low, high = cls.bounds
    if result.baseline is not None:
        assert (low is None or result.baseline >= low - 1e-9) and (high is None or result.baseline <= high + 1e-9)
    worst = result.details.get("worst_column")
    if worst is not None:
        per_column = result.per_column or {}
        assert per_column.get(worst) == value, f"value {value} is not per_column[{worst!r}] {per_column.get(worst)}"
        pick = max if cls.goal is Goal.MINIMIZE else min
        assert pick(per_column.values()) == value, "the headline is not the worst column"


def check_ideal(cls: type[Metric], data: ConformanceData) -> None:
    if not cls.conformance_identical_is_ideal and cls.conformance_input == "identical" and not cls.conformance_equals:
        raise CheckSkipped(
            f"{cls.id}: {cls.identical_inputs_note} (legacy declaration; declare conformance_input or "
            "conformance_equals for a testable ideal)"
        )
    inputs = data.case(cls.conformance_input)
    value = _ok(_run(cls, inputs), f"the {cls.conformance_input} input")
    if cls.conformance_equals:
        other = _ok(_run(get_metric(cls.conformance_equals), inputs), f"the {cls.conformance_input} input")
        assert value == other, (
            f"{cls.id} {value} != {cls.conformance_equals} {other} on the {cls.conformance_input} input"
        )
        return
    ideal = cls.ideal_value()
    assert ideal is not None, f"{cls.id} declares no ideal value"
    assert abs(value - ideal) <= cls.ideal_tolerance, f"{value} is not the ideal {ideal} ± {cls.ideal_tolerance}"


def check_defect(cls: type[Metric], data: ConformanceData) -> None:
    if not cls.conformance_defect:
        raise CheckSkipped(f"{cls.id} declares no planted defect (conformance_defect)")
    where = cls.conformance_input
    good = _distance(cls, _ok(_run(cls, data.case(where)), f"the {where} input"))
    broken = _distance(cls, _ok(_run(cls, data.defect(cls.conformance_defect)), cls.conformance_defect))
    assert broken >= good + DEFECT_MARGIN, (
        f"{cls.conformance_defect} moved {cls.id} only to {broken:.4g} from the ideal ({where} input: {good:.4g})"
    )


def check_determinism(cls: type[Metric], data: ConformanceData) -> None:
    first = _run(cls, data.honest(), seed=7).model_dump_json()
    assert first == _run(cls, data.honest(), seed=7).model_dump_json(), "same seed, different result"


def _digest(frame: pd.DataFrame | None) -> str:
    if frame is None:
        return ""
    return str(pd.util.hash_pandas_object(frame, index=True).sum()) + str(list(frame.dtypes))


def check_no_mutation(cls: type[Metric], data: ConformanceData) -> None:
    inputs = data.honest()
    before = [_digest(getattr(inputs, name)) for name in ("real", "synthetic", "holdout")]
    _run(cls, inputs)
    assert before == [_digest(getattr(inputs, name)) for name in ("real", "synthetic", "holdout")], "input mutated"


def check_json(cls: type[Metric], data: ConformanceData) -> None:
    result = _run(cls, data.honest())
    text = result.model_dump_json()
    json.loads(text, parse_constant=lambda name: (_ for _ in ()).throw(ValueError(f"{name} in JSON")))
    assert MetricResult.model_validate_json(text) == result, "JSON round trip changed the result"


def check_docs(cls: type[Metric], data: ConformanceData) -> None:
    assert "range" in (cls.__doc__ or "").lower(), f"{cls.id}: the docstring must state the range"
    assert cls.description, f"{cls.id}: needs a plain-language description for reports"


def check_typed_details(cls: type[Metric], data: ConformanceData) -> None:
    if cls.Details is MetricDetails:
        raise CheckSkipped(f"{cls.id} declares no typed Details yet (its details keys are unchecked)")
    assert cls.Details.model_config.get("extra") == "forbid", f"{cls.id}.Details must set extra='forbid'"


def check_all_missing_column(cls: type[Metric], data: ConformanceData) -> None:
    result = _run(cls, data.with_empty_column())
    assert result.status is not Status.ERROR, result.message


METRIC_CHECKS: dict[str, Callable[[type[Metric], ConformanceData], None]] = {
    "consistent": check_consistent,
    "ideal": check_ideal,
    "defect": check_defect,
    "determinism": check_determinism,
    "no-mutation": check_no_mutation,
    "json": check_json,
    "docs": check_docs,
    "typed-details": check_typed_details,
    "all-missing-column": check_all_missing_column,
}


def metric_check_cases(ids: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """(metric id, check name) for every registered metric (or ``ids``) and every check."""
    return [
        (metric_id, check) for metric_id in (list(ids) if ids is not None else metric_ids()) for check in METRIC_CHECKS
    ]


def run_metric_check(metric: type[Metric] | str, check: str, data: ConformanceData | None = None) -> None:
    """Run one check; AssertionError when it fails, ``CheckSkipped`` when it does not apply."""
    cls = get_metric(metric) if isinstance(metric, str) else metric
    METRIC_CHECKS[check](cls, data if data is not None else ConformanceData())


def check_metric(metric: type[Metric] | str, data: ConformanceData | None = None) -> dict[str, Any]:
    """Run every check; raise AssertionError naming each failure. Returns {check: "pass" | "skipped: why"}."""
    data = data if data is not None else ConformanceData()
    outcomes: dict[str, Any] = {}
    failures = []
    for check in METRIC_CHECKS:
        try:
            run_metric_check(metric, check, data)
            outcomes[check] = "pass"
        except CheckSkipped as exc:
            outcomes[check] = f"skipped: {exc}"
        except AssertionError as exc:
            failures.append(f"{check}: {exc}")
    if failures:
        raise AssertionError("; ".join(failures))
    return outcomes
