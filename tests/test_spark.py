"""The Spark engine (``--engine spark``): options and errors without Spark, then on local[2]:
summaries equal the pandas engine's, samples are stratified, and a gate gives the same numbers
(exact metrics to 1e-9, sampled ones within their intervals) and the same verdict."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_mixed_frame
from typer.testing import CliRunner

from qaharness.cli import app
from qaharness.errors import BadInputError, SchemaMismatchError
from qaharness.metrics import get_metric
from qaharness.schema import ColumnKind, Schema
from qaharness.spark import INSTALL_HINT, SparkOptions, java_problem
from qaharness.spark._sample import allocate
from qaharness.spark._session import parse_conf
from qaharness.summaries import PandasSummaries

runner = CliRunner()


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def _write(frame: pd.DataFrame, path) -> str:
    frame.to_parquet(path, index=False, coerce_timestamps="us")  # Spark reads microsecond timestamps
    return str(path)


# -- without Spark ------------------------------------------------------------------------------
def test_engine_spark_without_pyspark_prints_the_install_line(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark now raises ImportError
    real = _write(make_mixed_frame(30, 1), tmp_path / "real.parquet")
    result = cli("evaluate", "--real", real, "--synthetic", real, "--out", tmp_path / "out", "--engine", "spark")
    assert result.exit_code == 2, result.output
    assert INSTALL_HINT in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--spark-master", "local[2]"], "need --engine spark"),
        (["--engine", "spark", "--spark-master", "local[two]"], "unknown Spark master"),
        (["--engine", "spark", "--spark-conf", "driver.memory=4g"], "is not a Spark setting"),
        (["--engine", "dask"], "unknown engine 'dask'"),
    ],
)
def test_bad_engine_options_exit_2_naming_the_option(tmp_path, args, message):
    real = _write(make_mixed_frame(30, 1), tmp_path / "real.parquet")
    result = cli("gate", "--real", real, "--synthetic", real, "--out", tmp_path / "out", "--no-store", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_spark_conf_parses_key_values():
    assert parse_conf(["spark.driver.memory=4g", " spark.sql.shuffle.partitions = 8"]) == {
        "spark.driver.memory": "4g",
        "spark.sql.shuffle.partitions": "8",
    }
    with pytest.raises(BadInputError, match="expected KEY=VALUE"):
        parse_conf(["spark.driver.memory"])


def test_value_counts_are_forgotten_after_the_last_metric_that_reads_them(monkeypatch):
    """The engine lets the summaries drop their kept value counts once, after the last metric that reads
    them; metrics that read only missing counts or row matches run after it on what they need."""
    from qaharness import engine
    from qaharness.inputs import prepare_inputs
    from qaharness.summaries import TableSummaries

    calls: list[str] = []
    monkeypatch.setattr(TableSummaries, "forget_value_counts", lambda self: calls.append(seen[-1]))
    seen: list[str] = []
    ids = ["fidelity.ks", "fidelity.coverage", "fidelity.missingness", "privacy.exact_match"]
    data = prepare_inputs(make_mixed_frame(200, 1), make_mixed_frame(200, 2), make_mixed_frame(150, 3))
    results, _ = engine.run_metrics(data, ids, seed=0, progress=seen.append)
    assert calls == ["fidelity.coverage"] and all(r.ok for r in results)
    calls.clear()
    engine.run_metrics(data, ids[::-1], seed=0, progress=seen.append)
    assert calls == []  # the last metric reads them: nothing left to spare
    readers = [get_metric(m).reads_value_counts for m in ("fidelity.js", "fidelity.corr_diff", "fidelity.ks")]
    assert readers == [None, None, None]  # as summary_based: a third-party summary metric is assumed to read them


def test_allocation_is_proportional_and_exact():
    assert allocate({"a": 800, "b": 200}, 100) == {"a": 80, "b": 20}
    quota = allocate({"a": 1, "b": 2, "c": 4}, 5)
    assert sum(quota.values()) == 5 and quota == {"a": 1, "b": 1, "c": 3}
    assert allocate({"a": 3, None: 2}, 10) == {"a": 3, None: 2}  # capped at the population


# -- on Spark -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def spark():
    pytest.importorskip("pyspark", reason=f"pyspark is not installed ({INSTALL_HINT})")
    problem = java_problem()
    if problem:
        pytest.skip(problem)
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("qaharness-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.log.level", "ERROR")
        .getOrCreate()
    )
    yield session
    session.stop()


def _awkward() -> pd.DataFrame:
    """Missing values, NaN, −0.0, repeated values, datetimes, booleans and a rare category."""
    return pd.DataFrame(
        {
            "x": [1.0, 1.0, 2.0, np.nan, -0.0, 0.0, 3.5, 1.0],
            "when": pd.to_datetime(
                ["2024-01-01", None, "2024-01-02", "2024-01-02", "2023-12-31", None, "2024-01-01", "2024-03-01"]
            ),
            "c": ["a", "b", None, "a", "a", "zz", "b", None],
            "flag": ["yes", "no", "yes", None, "no", "no", "yes", "yes"],
        }
    )


@pytest.mark.spark
@pytest.mark.parametrize(
    ("pulled", "spilled"),
    [(True, False), (False, True), (False, False)],
    ids=["numeric-pulled", "counted-by-spark-none-kept-spilled", "counted-by-spark-none-kept-none-spilled"],
)
def test_spark_summaries_equal_the_pandas_summaries(spark, tmp_path, monkeypatch, pulled, spilled):
    from qaharness.spark import _spill, _summaries, prepare_spark_inputs

    if not pulled:  # a table above PULL_ROWS: Spark counts the numeric values too; none kept but the holdout's
        monkeypatch.setattr(_summaries, "PULL_ROWS", 0)
        monkeypatch.setattr(_summaries, "KEEP_BYTES", 0)
        monkeypatch.setattr(_spill, "SPILL_BYTES", _spill.SPILL_BYTES if spilled else 0)  # else counted again

    frame = _awkward()
    path = _write(frame, tmp_path / "t.parquet")
    other = _write(frame.iloc[::-1].reset_index(drop=True).assign(x=lambda f: f.x * 2), tmp_path / "u.parquet")
    held = _write(frame.iloc[[0, 1, 2, 3, 4, 5, 0, 2]].reset_index(drop=True), tmp_path / "h.parquet")  # repeats
    data = prepare_spark_inputs(spark, path, other, held, sample_rows=5)
    from qaharness.inputs import prepare_inputs

    local = prepare_inputs(path, other, held)
    assert dict(data.schema) == dict(local.schema)
    spark_s, pandas_s = data.summaries(), local.summaries()
    assert spark_s.frames_are_samples and not pandas_s.frames_are_samples
    known = spark_s.value_counts("x", "real")  # −0.0 and 0.0 are one value; NaN is missing
    assert known.values.tolist() == [0.0, 1.0, 2.0, 3.5] and known.counts.tolist() == [2, 3, 1, 1]
    assert known.missing == 1
    assert (spark_s.value_counts("x", "real") is known) == pulled  # kept, or counted again the same
    assert spark_s.value_counts("x", "holdout") is spark_s.value_counts("x", "holdout")  # the draws' source
    kept_holdout = spark_s.value_counts("x", "holdout")
    spark_s.forget_value_counts()  # the engine's call after the last metric that reads them
    assert spark_s.value_counts("x", "holdout") is kept_holdout  # later baseline draws still read these
    again = spark_s.value_counts("x", "real")
    assert again is not known and again.values.tolist() == known.values.tolist()  # counted again, the same
    assert again.counts.tolist() == known.counts.tolist() and again.missing == known.missing
    for seat in ("real", "synthetic", "holdout"):
        assert spark_s.n_rows(seat) == pandas_s.n_rows(seat) == 8
        assert spark_s.missing_counts(seat) == pandas_s.missing_counts(seat)
        for column in ("x", "when"):
            a, b = spark_s.value_counts(column, seat), pandas_s.value_counts(column, seat)
            assert np.array_equal(a.values, b.values) and np.array_equal(a.counts, b.counts)
            assert a.missing == b.missing
        for column in ("c", "flag"):
            assert spark_s.category_counts(column, seat).as_dict() == pandas_s.category_counts(column, seat).as_dict()
            assert spark_s.n_unique(column, seat) == pandas_s.n_unique(column, seat)
    categories = {"c": ["a", "b", None], "flag": ["yes", "no"]}  # "zz" pooled; flag's missing pooled too
    a = spark_s.associations("synthetic", ["x", "when"], categories)
    b = pandas_s.associations("synthetic", ["x", "when"], categories)
    for name in ("n", "sx", "sxx", "sxy"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-12, atol=1e-12)
    for column in categories:
        np.testing.assert_allclose(a.groups[column][0], b.groups[column][0], atol=1e-12)
        np.testing.assert_allclose(a.groups[column][1], b.groups[column][1], atol=1e-12)
    assert np.array_equal(a.tables[("c", "flag")], b.tables[("c", "flag")])
    columns = list(frame.columns)
    pairs = (
        ("synthetic", ("real", "holdout")),
        ("holdout", ("real", "synthetic")),
        ("real", ("real",)),
        ("holdout", ()),
    )
    for query, references in pairs:
        a, b = spark_s.row_matches(columns, query, references), pandas_s.row_matches(columns, query, references)
        for name in ("multiplicity", "reference_counts", "rows"):
            assert np.array_equal(getattr(a, name), getattr(b, name)), (query, references, name)
    assert spark_s.row_matches(columns, "real").distinct == pandas_s.row_matches(columns, "real").distinct == 8
    assert spark_s.row_matches(columns, "holdout").rows.tolist() == [4, 2]  # four rows once, two twice
    doubled = ["c", "flag"]  # on these two columns (missing, "yes") occurs twice, every other row once
    a, b = spark_s.row_matches(doubled, "synthetic", ("real",)), pandas_s.row_matches(doubled, "synthetic", ("real",))
    assert a.multiplicity.tolist() == b.multiplicity.tolist() and a.rows.tolist() == b.rows.tolist()
    assert np.array_equal(a.reference_counts, b.reference_counts) and a.multiplicity.max() == 2


@pytest.mark.spark
def test_counts_beyond_keep_bytes_are_read_back_from_disk_not_counted_again(spark, tmp_path, monkeypatch):
    from qaharness.spark import _summaries, prepare_spark_inputs

    monkeypatch.setattr(_summaries, "KEEP_BYTES", 0)  # nothing but the holdout's in memory
    jobs: list[list[str]] = []
    pull = _summaries._pulled_value_counts
    monkeypatch.setattr(
        _summaries, "_pulled_value_counts", lambda table, columns: jobs.append(columns) or pull(table, columns)
    )
    frame = _awkward().assign(y=lambda f: f.x * 3 - 1)
    path = _write(frame, tmp_path / "t.parquet")
    other = _write(frame.iloc[::-1].reset_index(drop=True), tmp_path / "u.parquet")
    held = _write(frame.iloc[:5], tmp_path / "h.parquet")
    from qaharness.inputs import prepare_inputs

    data = prepare_spark_inputs(spark, path, other, held, sample_rows=5)
    summaries, local = data.summaries(), prepare_inputs(path, other, held).summaries()
    first = summaries.value_counts("x", "real")
    assert jobs == [["x", "y"]]  # one job counts both columns: the other one is spilled, not wasted
    directory = summaries._spill._dir
    assert directory is not None and len(list(directory.iterdir())) == 2
    for column in ("x", "y", "x"):
        again = summaries.value_counts(column, "real")
        known = local.value_counts(column, "real")
        assert np.array_equal(again.values, known.values) and np.array_equal(again.counts, known.counts)
        assert again.missing == known.missing
    assert jobs == [["x", "y"]] and summaries.value_counts("x", "real") is not first  # read back, no job
    summaries.value_counts("x", "holdout")
    assert summaries._spill.bytes > 0 and len(list(directory.iterdir())) == 2  # the holdout's stay in memory
    summaries.forget_value_counts()
    assert not directory.exists()
    summaries.value_counts("x", "real")  # counted again after the last reader, spilled again
    assert len(jobs) == 3 and summaries._spill._dir is not None
    again_directory = summaries._spill._dir
    summaries.release()
    assert not again_directory.exists()


@pytest.mark.spark
@pytest.mark.parametrize("max_bits", [12, 0], ids=["by-missingness-pattern", "conditional-sums"])
def test_rank_associations_beyond_the_knots_equal_the_pandas_engine(spark, tmp_path, monkeypatch, max_bits):
    """More distinct values than ``RANK_KNOTS`` (interpolated ranks), a heavy atom at 0, missing values in
    two columns and none in a third; the moments grouped by missingness pattern and by conditional sums."""
    from qaharness.inputs import prepare_inputs
    from qaharness.ranks import RANK_KNOTS
    from qaharness.spark import _associations, prepare_spark_inputs

    monkeypatch.setattr(_associations, "MAX_PATTERN_BITS", max_bits)

    rng = np.random.default_rng(5)
    n = 2 * RANK_KNOTS
    group = rng.choice(["a", "b", "c"], n)
    gain = np.where(rng.random(n) < 0.7, rng.lognormal(8, 2, n), 0.0) * (1 + (group == "c"))
    gain[rng.random(n) < 0.05] = np.nan
    y = gain + rng.normal(0, 3_000, n)
    frame = pd.DataFrame({"gain": gain, "y": y, "full": rng.normal(size=n) + (group == "b"), "group": group})
    assert pd.Series(gain).nunique() > RANK_KNOTS
    path, other = (
        _write(frame, tmp_path / "r.parquet"),
        _write(frame.sample(frac=1, random_state=1), tmp_path / "s.parquet"),
    )
    spark_s = prepare_spark_inputs(spark, path, other, sample_rows=50).summaries()
    pandas_s = prepare_inputs(path, other).summaries()
    assert spark_s.rank_map("gain", "real").knots.size <= RANK_KNOTS + 1
    categories = {"group": ["a", "b", "c"]}
    a = spark_s.associations("real", ["gain", "full", "y"], categories)
    b = pandas_s.associations("real", ["gain", "full", "y"], categories)
    assert a.n[1, 1] == n and a.n[0, 0] < n  # "full" has no missing value, "gain" some
    for name in ("n", "sx", "sxx", "sxy"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(a.groups["group"][1], b.groups["group"][1], rtol=1e-12, atol=1e-9)


@pytest.mark.spark
def test_row_hashes_tell_where_a_value_is_missing(spark, tmp_path):
    """xxhash64 skips nulls; the null flags keep ("1", missing) and (missing, "1") apart."""
    from qaharness.spark import prepare_spark_inputs

    real = pd.DataFrame({"a": ["1", None, "2"], "b": [None, "1", "2"]})
    synthetic = pd.DataFrame({"a": [None, "1", "3"], "b": ["1", None, "3"]})
    data = prepare_spark_inputs(spark, _write(real, tmp_path / "r.parquet"), _write(synthetic, tmp_path / "s.parquet"))
    summaries = data.summaries()
    matches = summaries.row_matches(["a", "b"], "synthetic", ("real",))
    assert matches.matched_rows(0) == 2  # the two rows with one value missing
    assert summaries.row_matches(["a", "b"], "real").distinct == 3
    shifted = pd.DataFrame({"a": [None, "3"], "b": ["2", None]})
    data = prepare_spark_inputs(spark, _write(real, tmp_path / "r.parquet"), _write(shifted, tmp_path / "t.parquet"))
    assert data.summaries().row_matches(["a", "b"], "synthetic", ("real",)).matched_rows(0) == 0


@pytest.mark.spark
def test_samples_are_stratified_seeded_and_sized(spark, tmp_path):
    from qaharness.spark import prepare_spark_inputs

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"v": rng.normal(size=1000), "label": np.where(np.arange(1000) < 800, "low", "high")})
    path = _write(frame, tmp_path / "t.parquet")
    # synthetic: the same rows but one (another file); holdout: other rows (the same file twice is refused)
    copy = _write(frame.assign(v=frame.v.where(frame.index > 0, 99.0)), tmp_path / "s.parquet")
    held = _write(frame.assign(v=rng.normal(size=1000)), tmp_path / "h.parquet")
    paths = (path, copy, held)
    first = prepare_spark_inputs(spark, *paths, target="label", sample_rows=100, seed=4)
    again = prepare_spark_inputs(spark, *paths, target="label", sample_rows=100, seed=4)
    other = prepare_spark_inputs(spark, *paths, target="label", sample_rows=100, seed=5)
    assert first.real["label"].value_counts().to_dict() == {"low": 80, "high": 20}
    assert first.sample["rows"] == {"real": 100, "synthetic": 100, "holdout": 100}
    assert first.sample["population_rows"]["real"] == 1000 and first.sample["stratified_by"] == "label"
    pd.testing.assert_frame_equal(first.real, again.real)
    assert not first.real["v"].equals(other.real["v"])
    assert not first.real["v"].equals(first.synthetic["v"])  # each table draws with its own seed
    assert first.summaries().n_rows("real") == 1000  # the exact metrics still see every row


@pytest.mark.spark
def test_sources_and_input_errors(spark, tmp_path):
    from qaharness.inputs import prepare_inputs
    from qaharness.spark import prepare_spark_inputs

    frame = make_mixed_frame(50, 1)
    path = _write(frame, tmp_path / "real.parquet")
    query = prepare_spark_inputs(spark, f"spark:SELECT * FROM parquet.`{path}`", path)
    other = _write(make_mixed_frame(50, 2), tmp_path / "other.parquet")  # the same file twice is refused locally
    assert query.inputs["real"].rows == 50 and dict(query.schema) == dict(prepare_inputs(path, other).schema)
    dataframe = prepare_spark_inputs(spark, spark.read.parquet(path), path)
    assert dataframe.inputs["real"].source == "<real Spark DataFrame>"
    with pytest.raises(BadInputError, match="real file not found"):
        prepare_spark_inputs(spark, tmp_path / "nope.parquet", path)
    with pytest.raises(BadInputError, match="query failed"):
        prepare_spark_inputs(spark, "spark:SELECT * FROM no_such_table", path)
    with pytest.raises(SchemaMismatchError, match="missing in synthetic: day"):
        prepare_spark_inputs(spark, path, _write(frame.drop(columns="day"), tmp_path / "s.parquet"))
    csv = tmp_path / "real.csv"
    frame.to_csv(csv, index=False)
    with pytest.raises(BadInputError, match="reads Parquet"):
        prepare_spark_inputs(spark, csv, path)
    nanos = tmp_path / "nanos.parquet"
    frame.to_parquet(nanos, index=False)  # pandas' default: nanosecond timestamps
    with pytest.raises(BadInputError, match="coerce_timestamps='us'"):
        prepare_spark_inputs(spark, nanos, path)
    text = frame.assign(age=frame.age.astype(str))
    text.loc[3, "age"] = "old"
    bad = _write(text, tmp_path / "bad.parquet")
    with pytest.raises(BadInputError) as local_error:
        prepare_inputs(bad, path, schema={"age": "numeric"})
    with pytest.raises(BadInputError) as spark_error:
        prepare_spark_inputs(spark, bad, path, schema={"age": "numeric"})
    assert str(spark_error.value) == str(local_error.value)
    odd = frame.assign(flag=frame.flag.where(frame.index % 7 > 0, "maybe").where(frame.index != 3, "perhaps"))
    odd_path = _write(odd, tmp_path / "odd.parquet")  # 8 bad values, 2 distinct: the message counts distinct ones
    with pytest.raises(BadInputError) as local_error:
        prepare_inputs(odd_path, path, schema={"flag": "boolean"})
    with pytest.raises(BadInputError, match="has 2 distinct value") as spark_error:
        prepare_spark_inputs(spark, odd_path, path, schema={"flag": "boolean"})
    assert str(spark_error.value) == str(local_error.value)


@pytest.mark.spark
def test_the_same_file_twice_or_the_training_rows_as_holdout_are_refused_as_on_pandas(spark, tmp_path):
    """Exit 2 with the pandas engine's one line: the same file for two inputs (sha256), or a holdout
    holding exactly the training rows in another order (a hash join: every row as often in both)."""
    real = _write(make_mixed_frame(120, 1), tmp_path / "real.parquet")
    other = _write(make_mixed_frame(120, 2), tmp_path / "other.parquet")
    shuffled = _write(make_mixed_frame(120, 1).sample(frac=1.0, random_state=0), tmp_path / "shuffled.parquet")
    almost = make_mixed_frame(120, 1)
    almost.iloc[7] = almost.iloc[8].to_numpy()  # one row twice, another missing: not the same rows
    near = _write(almost, tmp_path / "near.parquet")
    for synthetic, holdout in ((real, other), (other, real), (other, shuffled)):
        outputs = []
        for engine in ("pandas", "spark"):
            common = ["gate", "--real", real, "--synthetic", synthetic, "--holdout", holdout, "--no-store"]
            result = cli(*common, "--out", tmp_path / f"out-{engine}", "--engine", engine)
            assert result.exit_code == 2, result.output
            outputs.append(" ".join(result.output.split()))
        assert outputs[0] == outputs[1]
        assert "are the same file" in outputs[1] or "holdout holds exactly the rows of real" in outputs[1]
    from qaharness.spark import prepare_spark_inputs

    assert prepare_spark_inputs(spark, real, other, near).summaries().n_rows("holdout") == 120


@pytest.mark.spark
def test_overlap_notes_are_the_pandas_engines(spark, tmp_path):
    """A leaky split and a generator that saw the holdout are named in the notes, as pandas names them."""
    from qaharness.inputs import prepare_inputs
    from qaharness.spark import prepare_spark_inputs

    train, held, unseen = make_mixed_frame(300, 1), make_mixed_frame(300, 2), make_mixed_frame(300, 3)
    leaky = pd.concat([held.iloc[:250], train.iloc[:50]], ignore_index=True)
    seen = pd.concat([unseen.iloc[:200], held.iloc[:100]], ignore_index=True)
    for synthetic, holdout, wanted in ((unseen, leaky, "holdout: 16.7%"), (seen, held, "may have seen the holdout")):
        paths = [_write(f, tmp_path / f"{n}.parquet") for f, n in ((train, "r"), (synthetic, "s"), (holdout, "h"))]
        local = [n for n in prepare_inputs(*paths).notes if "identical to" in n]
        remote = [n for n in prepare_spark_inputs(spark, *paths).notes if "identical to" in n]
        assert remote == local and any(wanted in n for n in remote), remote


EXACT = {
    "fidelity.ks",
    "fidelity.js",
    "fidelity.wasserstein",
    "fidelity.coverage",
    "fidelity.missingness",
    "fidelity.corr_diff",
    "privacy.exact_match",
    "privacy.holdout_overlap",
    "provenance.tagged",
}


BASELINE_METRICS = sorted(m for m in EXACT if get_metric(m).has_baseline)


@pytest.mark.spark
def test_baselines_above_the_row_draw_cap_are_the_pandas_engines(spark, tmp_path, monkeypatch):
    """Past ``ROW_DRAW_MAX`` (here lowered to 1,000 rows) the per-column metrics' draws are marginal
    draws from the holdout's counts and corr_diff's are capped row draws: the same numbers on both."""
    import qaharness.engine as engine
    from qaharness.inputs import prepare_inputs
    from qaharness.spark import prepare_spark_inputs

    monkeypatch.setattr(engine, "ROW_DRAW_MAX", 1000)
    paths = [_write(f, tmp_path / f"{n}.parquet") for f, n in zip(_parity_frames(), ("r", "s", "h"))]
    local, _ = engine.run_metrics(prepare_inputs(*paths, target="label"), BASELINE_METRICS, seed=3)
    data = prepare_spark_inputs(spark, *paths, target="label")
    remote, _ = engine.run_metrics(data, BASELINE_METRICS, seed=3)
    for a, b in zip(local, remote):
        assert a.baseline is not None and _close(a.baseline, b.baseline), a.id
        for key in ("baseline_method", "baseline_rows", "baseline_draws", "baseline_scale", "baseline_per_column"):
            assert _close(a.details.get(key), b.details.get(key)), (a.id, key)
    methods = {r.id: r.details["baseline_method"] for r in remote}
    assert methods == {**{m: "marginals" for m in BASELINE_METRICS}, "fidelity.corr_diff": "rows_capped"}
    assert {r.id: r for r in remote}["fidelity.corr_diff"].details["baseline_rows"] == 1000
    from pyspark import StorageLevel

    persisted = list(data.summaries()._persisted)  # the sorted holdout the row draws read, on disk
    assert persisted and all(f.storageLevel == StorageLevel.DISK_ONLY for f in persisted)
    data.summaries().release()
    assert not any(f.is_cached for f in persisted)


def _parity_frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    real, synthetic, holdout = make_mixed_frame(2500, 1), make_mixed_frame(2500, 2), make_mixed_frame(1500, 3)
    synthetic.loc[synthetic.index[:40], "income"] = np.nan  # missingness differs
    synthetic.iloc[100:125] = real.iloc[100:125].to_numpy()  # 25 copied training rows
    return real, synthetic, holdout


def _close(a, b, tol=1e-9) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k], tol) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_close(x, y, tol) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, (int, float)):
        return abs(a - b) <= tol * max(1.0, abs(a))
    return a == b


def _parity_policy(tmp_path) -> str:
    """The default policy plus rules on the two exact metrics it does not read."""
    from importlib.resources import files

    text = files("qaharness.policies").joinpath("default.yaml").read_text(encoding="utf-8")
    text += (
        "  - {id: transport, metric: fidelity.wasserstein, op: '<=', threshold: 0.5, rationale: parity test}\n"
        "  - {id: tagged, metric: provenance.tagged, op: '>=', threshold: 1.0, severity: warn,"
        " rationale: parity test}\n"
    )
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.spark
@pytest.mark.slow
def test_gate_on_spark_matches_the_pandas_engine(spark, tmp_path):
    """A few thousand seeded rows through the default policy on both engines: every exact metric
    equal to 1e-9, every sampled one inside the other engine's interval, the same verdict."""
    from qaharness.gate import run_gate

    paths = [_write(f, tmp_path / f"{n}.parquet") for f, n in zip(_parity_frames(), ("r", "s", "h"))]
    common = {"policy": _parity_policy(tmp_path), "target": "label", "record": False, "seed": 3}
    local = run_gate(*paths, out=tmp_path / "local", **common).run
    remote = run_gate(*paths, out=tmp_path / "spark", engine="spark", spark=SparkOptions(session=spark), **common).run
    assert {k: v.rows for k, v in remote.inputs.items()} == {k: v.rows for k, v in local.inputs.items()}
    assert remote.schema_ == local.schema_ and remote.environment["engine"] == "spark"
    assert {m.id for m in local.metrics if get_metric(m.id).summary_based} == EXACT
    for a in local.metrics:
        b = remote.metric(a.id)
        assert b.status == a.status, (a.id, b.message)
        if a.id in EXACT:
            assert b.value == pytest.approx(a.value, rel=1e-9, abs=1e-12), a.id
            assert _close(a.per_column, b.per_column) and _close(a.baseline, b.baseline), a.id
            assert a.details.keys() == b.details.keys(), a.id
            for key, value in a.details.items():
                tolerance = 2e-6 if key.endswith("_matrix") else 1e-9  # matrices are rounded to 6 places
                assert _close(value, b.details[key], tolerance), (a.id, key)
            assert "sample" not in b.details
        else:
            assert b.details["sample"]["rows"] == {"real": 2500, "synthetic": 2500, "holdout": 1500}
            if a.ci is not None and b.ci is not None:  # the same method on the same rows, drawn in another order
                inside = a.ci[0] - 1e-9 <= b.value <= a.ci[1] + 1e-9 or b.ci[0] - 1e-9 <= a.value <= b.ci[1] + 1e-9
                assert inside, (a.id, a.value, a.ci, b.value, b.ci)
    assert remote.metric("privacy.exact_match").details["copies_of_training_rows"] == 25
    assert remote.verdict == local.verdict
    assert [(r.id, r.status) for r in remote.rules or []] == [(r.id, r.status) for r in local.rules or []]


@pytest.mark.spark
def test_cli_gate_on_spark_writes_the_same_contract(spark, tmp_path):
    """The command line end to end (borrowing the running session, as a notebook would)."""
    from qaharness.results import Run

    real, synthetic, holdout = (make_mixed_frame(200, s) for s in (1, 2, 3))
    ansi = spark.conf.get("spark.sql.ansi.enabled")
    paths = [_write(f, tmp_path / f"{n}.parquet") for f, n in ((real, "r"), (synthetic, "s"), (holdout, "h"))]
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "id: small\nversion: 1.0.0\nrules:\n"
        "  - {id: numeric, metric: fidelity.ks, op: '<=', threshold: 0.5, rationale: close}\n"
        "  - {id: wide, metric: fidelity.wasserstein, op: '<=', threshold: 0.001, rationale: too strict on purpose}\n"
    )
    result = cli(
        "gate", "--real", paths[0], "--synthetic", paths[1], "--holdout", paths[2], "--policy", policy,
        "--out", tmp_path / "out", "--no-store", "--engine", "spark", "--spark-sample-rows", "50",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    run = Run.read(tmp_path / "out")
    assert run.verdict == "fail" and [r.status for r in run.rules or []] == ["pass", "fail"]
    assert any(note.startswith("engine spark") for note in run.notes)
    assert spark.conf.get("spark.sql.ansi.enabled") == ansi  # a borrowed session gets its settings back
    assert spark.range(3).count() == 3  # and is left running


def test_frames_of_a_sampled_input_cannot_be_swapped_silently():
    from qaharness.inputs import EvalInput
    from qaharness.summaries import TableSummaries

    class Sampled(PandasSummaries):
        frames_are_samples = True

    frame = pd.DataFrame({"x": [1.0, 2.0]})
    schema = Schema({"x": ColumnKind.NUMERIC})
    frames = {"real": frame, "synthetic": frame, "holdout": frame}
    data = EvalInput(frame, frame, schema, frame, _summaries=Sampled(frames, schema))
    with pytest.raises(NotImplementedError, match="samples of larger tables"):
        data.with_synthetic(frame)
    assert isinstance(data.baseline_input().summaries(), TableSummaries)


_KILLED_JVM = """
import os, signal
from qaharness.errors import EngineError
from qaharness.spark import SparkOptions
from qaharness.spark._session import open_session

try:
    with open_session(SparkOptions(master="local[1]")) as session:
        jvm = session.sparkContext._gateway.proc
        os.kill(jvm.pid, signal.SIGKILL)  # as the kernel's OOM killer or a heap that ran out would
        jvm.wait()
        session.range(3).count()
except EngineError as exc:
    print("engine:", exc.engine, "exit:", exc.exit_code, "|", exc)
"""


@pytest.mark.spark
def test_a_driver_jvm_that_dies_mid_run_is_named_not_hidden_behind_py4j(spark):
    """A run whose local JVM exits says so (exit 3, the setting to raise) instead of py4j's
    'connection refused' from stopping a session that is gone (seen at 10M rows, 768m of heap)."""
    root = str(Path(__file__).resolve().parents[1])  # this source tree's qaharness, whatever is installed
    env = {**os.environ, "PYTHONPATH": root}
    done = subprocess.run([sys.executable, "-c", _KILLED_JVM], capture_output=True, text=True, timeout=300, env=env)
    assert "engine: spark exit: 3 |" in done.stdout, done.stderr[-2000:]
    assert "driver JVM exited during the run (exit status -9)" in done.stdout
    assert "--spark-conf spark.driver.memory=" in done.stdout
