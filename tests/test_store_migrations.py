"""The run store's schema version: v1 stores (qaharness 0.1.0) migrate on open; foreign files are refused."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import duckdb
import pytest
from conftest import make_mixed_frame

from qaharness._store_schema import SCHEMA_VERSION, STORE_FORMAT
from qaharness.api import evaluate
from qaharness.errors import BadInputError
from qaharness.store import RunStore

FIXTURE = Path(__file__).parent / "data" / "store_v1.duckdb.gz"


@pytest.fixture
def v1_store(tmp_path) -> Path:
    path = tmp_path / "old.duckdb"
    with gzip.open(FIXTURE, "rb") as src, path.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    return path


def _meta(path: Path) -> dict[str, str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return dict(con.execute("SELECT key, value FROM meta").fetchall())
    finally:
        con.close()


def test_the_fixture_is_a_v1_store(v1_store):
    con = duckdb.connect(str(v1_store), read_only=True)
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    con.close()
    assert tables == {"runs", "metrics", "rules", "artifacts", "reviews"}, "no meta table: the 0.1.0 layout"


def test_v1_store_is_migrated_on_read_and_keeps_every_run(v1_store):
    store = RunStore(v1_store)
    runs = store.list_runs()
    assert sorted(runs.kind) == ["evaluate", "gate"]
    assert _meta(v1_store) == {"format": STORE_FORMAT, "schema_version": str(SCHEMA_VERSION)}
    gate_id = runs[runs.kind == "gate"].run_id.iloc[0]
    run = store.get_run(gate_id)
    assert run.verdict == "pass" and run.policy.id == "ml-training" and run.ticket == "DATA-1"
    assert run.schema_version == 1, "a v1 results.json is read as it was written"
    assert len(store.rules(gate_id)) == len(run.rules) and set(store.rules(gate_id).kind) == {"metric"}
    reviews = store.reviews(gate_id)
    assert list(reviews.decision) == ["approve"] and list(reviews.reviewer) == ["lead@example.org"]


def test_migrated_store_takes_new_runs(v1_store, mixed_frames):
    store = RunStore(v1_store)
    run = evaluate(*mixed_frames, target="label", metrics=["fidelity.ks"])
    run_id = store.record_run(run, kind="evaluate")
    assert len(store.list_runs()) == 3 and store.get_run(run_id).metric("fidelity.ks").value is not None


def test_a_file_that_is_not_duckdb_is_refused_and_left_alone(tmp_path, mixed_frames):
    csv = tmp_path / "holdout.csv"
    make_mixed_frame(20, 1).to_csv(csv, index=False)
    before = csv.read_bytes()
    run = evaluate(*mixed_frames, target="label", metrics=["fidelity.ks"])
    with pytest.raises(BadInputError, match="not a qaharness run store") as info:
        RunStore(csv).record_run(run)
    assert info.value.exit_code == 2 and str(csv) in str(info.value)
    with pytest.raises(BadInputError, match="not a qaharness run store"):
        RunStore(csv).list_runs()
    assert csv.read_bytes() == before


def test_a_warehouse_duckdb_file_gets_no_qaharness_tables(tmp_path, mixed_frames):
    warehouse = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute("CREATE TABLE customers (id INTEGER, name VARCHAR)")
    con.close()
    run = evaluate(*mixed_frames, target="label", metrics=["fidelity.ks"])
    with pytest.raises(BadInputError, match="not a qaharness run store .*customers"):
        RunStore(warehouse).record_run(run)
    con = duckdb.connect(str(warehouse), read_only=True)
    assert [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()] == ["customers"]
    con.close()


def test_a_store_from_a_newer_qaharness_is_refused(tmp_path, mixed_frames):
    path = tmp_path / "runs.duckdb"
    store = RunStore(path)
    run = evaluate(*mixed_frames, target="label", metrics=["fidelity.ks"])
    store.record_run(run)
    con = duckdb.connect(str(path))
    con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION + 1)])
    con.close()
    with pytest.raises(BadInputError, match="newer than this qaharness understands"):
        RunStore(path).list_runs()


def test_inserts_name_their_columns(tmp_path, mixed_frames):
    """A store whose runs columns sit in another order keeps verdict and kind apart."""
    path = tmp_path / "runs.duckdb"
    RunStore(path).list_runs()  # nothing yet
    run = evaluate(*mixed_frames, target="label", metrics=["fidelity.ks"])
    RunStore(path).record_run(run, kind="evaluate")
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE runs2 AS SELECT verdict, kind, * EXCLUDE (verdict, kind) FROM runs")
    con.execute("DROP TABLE runs")
    con.execute("ALTER TABLE runs2 RENAME TO runs")
    con.close()
    run_id = RunStore(path).record_run(run.model_copy(update={"verdict": "fail"}), kind="gate")
    row = RunStore(path).run_row(run_id)
    assert (row["kind"], row["verdict"]) == ("gate", "fail")
