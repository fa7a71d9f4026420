"""The public surface: pinned ``__all__``, registry behaviour, schema inference, the run store."""

from __future__ import annotations

import pandas as pd
import pytest

import qaharness
from qaharness.errors import UnknownPluginError
from qaharness.registry import Registry
from qaharness.results import Run
from qaharness.schema import ColumnKind, infer_schema
from qaharness.store import RunStore

PUBLIC = {
    "__version__",
    "evaluate",
    "evaluate_input",
    "prepare_inputs",
    "EvalInput",
    "Metric",
    "register_metric",
    "get_metric",
    "metric_ids",
    "MetricResult",
    "Run",
    "Family",
    "Goal",
    "Status",
    "ColumnKind",
    "Schema",
    "infer_schema",
    "QAHarnessError",
    "BadInputError",
    "SchemaMismatchError",
    "UnknownPluginError",
    "PolicyError",
    "GeneratorError",
}


def test_public_api_is_pinned():
    assert set(qaharness.__all__) == PUBLIC
    for name in PUBLIC:
        assert hasattr(qaharness, name)


def test_unknown_metric_lists_known_ids():
    with pytest.raises(UnknownPluginError) as info:
        qaharness.get_metric("fidelity.nope")
    assert "fidelity.ks" in str(info.value) and "fidelity.nope" in str(info.value)


def test_registry_rejects_duplicate_ids():
    registry = Registry("thing", package="qaharness.metrics", entry_point_group="qaharness.none")

    class A:
        id = "x.a"

    class B:
        id = "x.a"

    registry.register(A)
    with pytest.raises(ValueError, match="duplicate thing id 'x.a'"):
        registry.register(B)


def test_register_metric_requires_family_prefix():
    from qaharness.metrics import Metric, register_metric
    from qaharness.results import Family, Goal

    class Wrong(Metric):
        id = "utility.wrong"
        family = Family.FIDELITY
        goal = Goal.MINIMIZE

    with pytest.raises(ValueError, match="must start with its family"):
        register_metric(Wrong)


def test_schema_inference_kinds():
    n = 40
    frame = pd.DataFrame(
        {
            "customer_id": range(n),
            "email": [f"user{i}@example.com" for i in range(n)],
            "note": [f"the customer called about order {i} and was happy" for i in range(n)],
            "age": [20.5 + i for i in range(n)],
            "flag": ["yes", "no"] * (n // 2),
            "bit": [0, 1] * (n // 2),
            "city": ["a", "b", "c", "d"] * (n // 4),
            "when": pd.date_range("2024-01-01", periods=n).astype(str),
        }
    )
    kinds = infer_schema(frame)
    assert kinds == {
        "customer_id": ColumnKind.IDENTIFIER,
        "email": ColumnKind.IDENTIFIER,
        "note": ColumnKind.TEXT,
        "age": ColumnKind.NUMERIC,
        "flag": ColumnKind.BOOLEAN,
        "bit": ColumnKind.BOOLEAN,
        "city": ColumnKind.CATEGORICAL,
        "when": ColumnKind.DATETIME,
    }


def test_identifiers_are_left_out_of_distribution_metrics():
    n = 40
    real = pd.DataFrame({"customer_id": range(n), "x": [float(i % 7) for i in range(n)]})
    synthetic = real.assign(customer_id=range(1000, 1000 + n))
    run = qaharness.evaluate(real, synthetic, metrics=["fidelity.ks"])
    assert set(run.metric("fidelity.ks").per_column) == {"x"}
    assert any("customer_id" in note for note in run.notes)


def test_store_round_trip_and_reviews(tmp_path, mixed_frames):
    real, synthetic, _ = mixed_frames
    run = qaharness.evaluate(real, synthetic, metrics=["fidelity.ks"])
    store = RunStore(tmp_path / "runs.duckdb")
    run_id = store.record_run(run, kind="evaluate")
    assert store.get_run(run_id[:6]) == Run.from_json(run.to_json())
    assert list(store.list_runs().run_id) == [run_id]
    assert store.metrics(run_id).metric_id.tolist() == ["fidelity.ks"]
    store.add_review(run_id, reviewer="ana", decision="approve", comment="ok")
    assert store.reviews(run_id).reviewer.tolist() == ["ana"]
    with pytest.raises(qaharness.BadInputError, match="decision must be one of"):
        store.add_review(run_id, reviewer="ana", decision="maybe")
    with pytest.raises(qaharness.BadInputError, match="no run 'zzz'"):
        store.get_run("zzz")


def test_run_json_round_trip_is_strict(mixed_frames):
    real, synthetic, holdout = mixed_frames
    run = qaharness.evaluate(real, synthetic, holdout, metrics=["fidelity"])
    assert Run.from_json(run.to_json()) == run
    assert "NaN" not in run.to_json()
