"""The gate on Apache Spark (local[2]) against the pandas engine, on generated Parquet tables.

    .venv/bin/python benchmarks/bench_spark.py [--rows 10000000 --rows 1000000] [--columns 20]
        [--data /tmp/qaharness-bench-spark] [--engines spark,pandas] [--pandas-cap-gb 12]

For each size: real = ROWS rows, synthetic = ROWS rows drawn independently from the same process,
holdout = ROWS / 4 rows (``benchmarks/_tables.py``: numeric with 2 % missing, categorical with
3–14 levels, yes/no, dates; columns tied by a latent factor), written once as Parquet in
1M-row row groups. Each engine gates them under the default policy (target ``bool_2``) in a fresh
process and reports wall time, the per-metric split, and peak memory: for Spark the driver's
Python process and its JVM (local mode: the executors live in that JVM), per metric, as the sum of
the two peaks (``driver_peak_gib``, an upper bound) and as the peak of the two together, sampled
every 0.2 s (``driver_peak_together_gib``); for pandas the process. ``--spark-conf KEY=VALUE``
passes more Spark settings, as the gate's option does. The pandas engine runs under a
resident-memory cap (``--pandas-cap-gb``): past it, the run is stopped and reported as out of
memory with where it was. Results go to stdout and ``DATA/results.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
CHUNK = 1_000_000
TARGET = "bool_2"


def _rss_kib(pid: int | str = "self", field: str = "VmRSS") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def generate(folder: Path, rows: int, columns: int) -> dict[str, Path]:
    """real/synthetic/holdout Parquet files for ``rows`` (kept between runs)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sys.path.insert(0, str(ROOT))
    from _tables import mixed_table

    folder.mkdir(parents=True, exist_ok=True)
    sizes = {"real": rows, "synthetic": rows, "holdout": max(rows // 4, 1000)}
    paths = {}
    for offset, (name, n) in enumerate(sizes.items()):
        path = folder / f"{name}-{rows}x{columns}.parquet"
        paths[name] = path
        if path.exists() and pq.ParquetFile(path).metadata.num_rows == n:
            continue
        tmp = path.with_suffix(".tmp")
        writer = None
        for start in range(0, n, CHUNK):
            chunk = mixed_table(min(CHUNK, n - start), columns, seed=1000 * (offset + 1) + start // CHUNK)
            table = pa.Table.from_pandas(chunk, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema, coerce_timestamps="us", allow_truncated_timestamps=True)
            writer.write_table(table, row_group_size=CHUNK)
        assert writer is not None
        writer.close()
        tmp.replace(path)
    return paths


def run_one(engine: str, paths: dict[str, Path], out: Path, cap_kib: int, conf: dict[str, str]) -> dict:
    """One gate in this process (called in a fresh child); returns the measurements."""
    from qaharness.gate import run_gate

    state: dict = {"phase": "reading inputs", "peak": 0, "peak_phase": "reading inputs", "phase_peaks": {}}
    state.update({"together": 0, "together_phase": "reading inputs", "jvm_phase_peaks": {}})
    started = time.perf_counter()

    def watch() -> None:  # resident-memory cap for the pandas engine, and the peaks for both
        while True:
            rss, jvm = _rss_kib(), _rss_kib(_jvm_pid()) if engine == "spark" else 0
            peaks, jvm_peaks = state["phase_peaks"], state["jvm_phase_peaks"]
            peaks[state["phase"]] = max(peaks.get(state["phase"], 0), rss)
            jvm_peaks[state["phase"]] = max(jvm_peaks.get(state["phase"], 0), jvm)
            if rss + jvm > state["together"]:
                state["together"], state["together_phase"] = rss + jvm, state["phase"]
            if rss > state["peak"]:
                state["peak"], state["peak_phase"] = rss, state["phase"]
            if cap_kib and rss > cap_kib:
                record = {"status": "out of memory", "cap_gib": round(cap_kib / 2**20, 1), "phase": state["phase"]}
                record["seconds"] = round(time.perf_counter() - started, 1)
                print(json.dumps(record), flush=True)
                os._exit(137)
            time.sleep(0.2)

    threading.Thread(target=watch, daemon=True).start()

    def progress(metric: str) -> None:
        state["phase"] = metric

    options = None
    if engine == "spark":
        from qaharness.spark import SparkOptions

        options = SparkOptions(master="local[2]", conf=conf)
    result = run_gate(
        str(paths["real"]), str(paths["synthetic"]), str(paths["holdout"]), out=out, policy="default",
        target=TARGET, record=False, progress=progress, engine=engine, spark=options, overwrite=True,
    )  # fmt: skip
    wall = time.perf_counter() - started
    record = {
        "status": "ok",
        "verdict": result.verdict,
        "seconds": round(wall, 1),
        "metrics_seconds": round(sum(result.run.timings.values()), 1),
        "per_metric": result.run.timings,
        "python_peak_gib": round(max(state["peak"], _rss_kib(field="VmHWM")) / 2**20, 2),
        "python_peak_phase": state["peak_phase"],
        "python_peak_gib_per_phase": {k: round(v / 2**20, 2) for k, v in state["phase_peaks"].items()},
    }
    if engine == "spark":
        record["jvm_peak_gib"] = round(_rss_kib(_jvm_pid(), "VmHWM") / 2**20, 2)
        record["jvm_peak_gib_per_phase"] = {k: round(v / 2**20, 2) for k, v in state["jvm_phase_peaks"].items()}
        record["driver_peak_gib"] = round(record["python_peak_gib"] + record["jvm_peak_gib"], 2)
        record["driver_peak_together_gib"] = round(state["together"] / 2**20, 2)
        record["driver_peak_together_phase"] = state["together_phase"]
    return record


def _jvm_pid() -> int | str:
    """The local JVM's process id once pyspark started it (else a pid that reads as 0 KiB)."""
    context = getattr(sys.modules.get("pyspark"), "SparkContext", None)  # None while pyspark imports
    proc = getattr(getattr(context, "_gateway", None), "proc", None)
    return proc.pid if proc is not None else "none"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, action="append", help="rows of real and synthetic (repeatable)")
    parser.add_argument("--columns", type=int, default=20)
    parser.add_argument("--data", type=Path, default=Path("/tmp/qaharness-bench-spark"))
    parser.add_argument("--engines", default="spark,pandas")
    parser.add_argument("--pandas-cap-gb", type=float, default=12.0, help="resident-memory cap of the pandas run")
    parser.add_argument("--driver-memory", default="2g", help="spark.driver.memory (the JVM heap)")
    parser.add_argument("--spark-conf", action="append", default=[], help="KEY=VALUE, as the gate's (repeatable)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    from qaharness.errors import BadInputError
    from qaharness.spark._session import parse_conf  # the gate's own parsing and messages

    try:
        extra_conf = parse_conf(args.spark_conf)
    except BadInputError as exc:
        parser.error(str(exc))
    if args.child:  # engine:rows in a fresh process
        engine, rows = args.child.split(":")
        paths = generate(args.data, int(rows), args.columns)
        cap = int(args.pandas_cap_gb * 2**20) if engine == "pandas" else 0
        conf = {"spark.driver.memory": args.driver_memory, "spark.sql.shuffle.partitions": "8", **extra_conf}
        record = run_one(engine, paths, args.data / f"out-{engine}-{rows}", cap, conf)
        print(json.dumps(record), flush=True)
        return
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
    for rows in args.rows or [1_000_000, 10_000_000]:
        started = time.perf_counter()
        generate(args.data, rows, args.columns)
        print(f"{rows:,} rows × {args.columns} columns: data ready ({time.perf_counter() - started:.0f} s)", flush=True)
        for engine in args.engines.split(","):
            command = [sys.executable, __file__, "--child", f"{engine}:{rows}", "--columns", str(args.columns)]
            command += ["--data", str(args.data), "--pandas-cap-gb", str(args.pandas_cap_gb)]
            command += ["--driver-memory", args.driver_memory]
            command += [f"--spark-conf={item}" for item in args.spark_conf]
            env = {**os.environ, "OMP_NUM_THREADS": "1"}
            done = subprocess.run(command, capture_output=True, text=True, env=env)
            lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
            record = json.loads(lines[-1]) if lines else {"status": f"failed (exit {done.returncode})"}
            if not lines:
                record["stderr"] = done.stderr[-2000:]
            record.update(
                {
                    "engine": engine,
                    "rows": rows,
                    "columns": args.columns,
                    "load": round(os.getloadavg()[0], 1),
                    "MALLOC_ARENA_MAX": os.environ.get("MALLOC_ARENA_MAX"),
                    "spark_conf": args.spark_conf,
                }
            )
            print(json.dumps(record), flush=True)
            with open(args.data / "results.jsonl", "a", encoding="utf-8") as log:
                log.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
