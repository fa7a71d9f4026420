"""Conformance checks every generator passes — run them on your own plugin.

With pytest, one test id per generator and check (``autoregressive-determinism``)::

    import pytest
    from qaharness.testing.generators import CHECKS, GeneratorChecks

    @pytest.fixture(scope="module")
    def checks():
        return GeneratorChecks("my_generator", params={"epochs": 1})

    @pytest.mark.parametrize("name", CHECKS)
    def test_conformance(checks, name):
        checks.run(name)

or all at once: ``GeneratorChecks("my_generator").run_all()`` (an ``AssertionError`` names the
check that failed). The checks: columns, dtypes and row count; values inside the training domain;
same seed → same frame (and a refit with the same seed → the same frame); save/load round trip;
the input frame not mutated and a complete ``FitReport``; conditions give only matching rows;
DP: ε spent ≤ the target (or ``epsilon`` refused when the generator has no DP); missing and
all-missing columns. The data is ``mixed_frame``: numeric, categorical, yes/no, dates, a label.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from qaharness.errors import GeneratorError
from qaharness.testing.metrics import mixed_frame

__all__ = ["CHECKS", "GeneratorChecks", "mixed_frame", "fast_params", "DECLARED_DOMAINS"]

#: declared domains of ``mixed_frame``'s columns: a DP fit with them spends nothing on preprocessing
DECLARED_DOMAINS: dict[str, dict[str, Any]] = {
    "age": {"min": 18, "max": 80, "integral": True},
    "income": {"min": -20000, "max": 120000},
    "day": {"min": "2024-01-01", "max": "2024-12-31"},
    "group": {"categories": ["a", "b", "c"]},
    "label": {"categories": ["<=50K", ">50K"]},
}
_FIT_SEED = 3


def fast_params(generator_id: str) -> dict[str, Any]:
    """Parameters for a quick fit: CPU, and one epoch where the generator trains in epochs."""
    from qaharness.generators import get_generator

    fields = get_generator(generator_id).Config.model_fields
    return {"device": "cpu", **({"epochs": 1} if "epochs" in fields else {})}


def _digest(frame: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes()).hexdigest()


class GeneratorChecks:
    """The conformance checks for one generator id; the fitted model is shared between checks."""

    def __init__(self, generator_id: str, params: dict[str, Any] | None = None, real: pd.DataFrame | None = None):
        from qaharness.generators import get_generator

        self.generator_id = generator_id
        self.cls = get_generator(generator_id)
        self.params = {**fast_params(generator_id), **(params or {})}
        self.real = mixed_frame(200, 1) if real is None else real

    def make(self, **extra: Any) -> Any:
        return self.cls(**{**self.params, **extra})

    @cached_property
    def fitted(self) -> Any:
        generator = self.make()
        generator.fit(self.real, seed=_FIT_SEED)
        return generator

    def run(self, name: str) -> None:
        """Run one check by name; an ``AssertionError`` says which check and what failed."""
        if name not in CHECKS:
            raise KeyError(f"no check {name!r}; known: {', '.join(CHECKS)}")
        try:
            CHECKS[name](self)
        except AssertionError as exc:
            raise AssertionError(f"{self.generator_id}-{name}: {exc}") from exc

    def run_all(self) -> list[str]:
        for name in CHECKS:
            self.run(name)
        return list(CHECKS)

    # -- the checks --------------------------------------------------------------------
    def check_columns_dtypes_rows(self) -> None:
        synthetic = self.fitted.sample(57, seed=1)
        assert list(synthetic.columns) == list(self.real.columns), f"columns {list(synthetic.columns)}"
        assert synthetic.dtypes.to_dict() == self.real.dtypes.to_dict(), f"dtypes {synthetic.dtypes.to_dict()}"
        assert len(synthetic) == 57, f"{len(synthetic)} rows for 57 asked"
        assert len(self.fitted.sample(0, seed=1)) == 0, "0 rows asked, some returned"

    def check_training_domain(self) -> None:
        synthetic, real = self.fitted.sample(300, seed=2), self.real
        for column in real.columns:
            if real[column].dtype == object:
                extra = set(synthetic[column].dropna()) - set(real[column])
                assert not extra, f"{column}: values not in the training data: {sorted(map(str, extra))[:5]}"
            else:
                low, high = synthetic[column].min(), synthetic[column].max()
                assert low >= real[column].min() and high <= real[column].max(), f"{column} outside the real range"
        if "day" in real:
            assert (synthetic["day"] == synthetic["day"].dt.normalize()).all(), "dates came back with times"
        if "age" in real:
            assert (synthetic["age"].dropna() % 1 == 0).all(), "an integral column came back with fractions"

    def check_determinism(self) -> None:
        first = self.fitted.sample(100, seed=5)
        assert first.equals(self.fitted.sample(100, seed=5)), "same seed, different frames"
        assert not first.equals(self.fitted.sample(100, seed=6)), "different seeds, same frame"
        again = self.make()
        again.fit(self.real, seed=_FIT_SEED)
        assert again.sample(100, seed=5).equals(first), "a refit with the same seed samples a different frame"

    def check_save_load(self) -> None:
        from qaharness.generators import load_generator

        with tempfile.TemporaryDirectory() as folder:
            self.fitted.save(folder)
            loaded = load_generator(folder)
        assert type(loaded) is type(self.fitted), f"loaded a {type(loaded).__name__}"
        assert loaded.fit_report_ == self.fitted.fit_report_, "the fit report changed in the round trip"
        assert loaded.sample(80, seed=9).equals(self.fitted.sample(80, seed=9)), "the loaded model samples otherwise"

    def check_input_not_mutated(self) -> None:
        from qaharness.generators import FitReport

        frame = self.real.copy()
        before = _digest(frame)
        report = self.make().fit(frame, seed=0)
        assert _digest(frame) == before, "fit() changed its input frame"
        assert isinstance(report, FitReport) and report.generator == self.generator_id, "no FitReport for this id"
        assert report.rows + report.validation_rows == len(frame), "rows + validation rows != input rows"
        assert report.preprocessing == "data_dependent_not_private" and report.epsilon is None
        assert len(repr(report)) < 400, "FitReport's repr is not short"

    def check_conditions(self) -> None:
        synthetic = self.fitted.sample(40, seed=1, conditions={"label": ">50K"})
        assert len(synthetic) == 40, f"{len(synthetic)} rows for 40 asked"
        assert (synthetic["label"] == ">50K").all(), "rows that do not match the condition"
        assert len(self.fitted.sample(0, seed=0, conditions={"label": ">50K"})) == 0

    def check_dp_epsilon(self) -> None:
        if not self.cls.capabilities.dp:
            try:
                self.make(epsilon=1.0)
            except GeneratorError:
                return
            raise AssertionError("epsilon accepted by a generator whose capabilities say no DP")
        extra: dict[str, Any] = {"epsilon": 2.0, "delta": 1e-5, "epochs": 2}
        if "batch_size" in self.cls.Config.model_fields:
            extra["batch_size"] = 50
        generator = self.make(**extra)
        report = generator.fit(self.real, seed=0, declared=DECLARED_DOMAINS)
        assert report.epsilon is not None and 0 < report.epsilon <= 2.0, f"ε spent {report.epsilon} (target 2.0)"
        assert report.delta is not None and report.delta <= 1e-5, f"δ {report.delta} (target 1e-5)"
        assert report.preprocessing == "declared_schema", report.preprocessing
        synthetic = generator.sample(50, seed=1)
        assert synthetic.equals(generator.sample(50, seed=1)), "a DP model samples differently with the same seed"
        assert set(synthetic["group"].dropna()) <= {"a", "b", "c"}, "a DP model emitted undeclared categories"

    def check_missing_values(self) -> None:
        frame = self.real.copy()
        frame.loc[::4, "income"] = np.nan
        frame.loc[::3, "group"] = None
        frame["empty"] = np.nan
        generator = self.make()
        generator.fit(frame, seed=0)
        synthetic = generator.sample(400, seed=0)
        assert synthetic["empty"].isna().all(), "an all-missing column came back with values"
        assert set(synthetic["group"].dropna()) <= {"a", "b", "c"}, "missing became a category"


CHECKS: dict[str, Callable[[GeneratorChecks], None]] = {
    "columns_dtypes_rows": GeneratorChecks.check_columns_dtypes_rows,
    "training_domain": GeneratorChecks.check_training_domain,
    "determinism": GeneratorChecks.check_determinism,
    "save_load": GeneratorChecks.check_save_load,
    "input_not_mutated": GeneratorChecks.check_input_not_mutated,
    "conditions": GeneratorChecks.check_conditions,
    "dp_epsilon": GeneratorChecks.check_dp_epsilon,
    "missing_values": GeneratorChecks.check_missing_values,
}
