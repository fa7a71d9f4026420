"""Anchor generators for bench_generators.py, run inside their own virtualenvs (they cannot share ours).

Usage (called by bench_generators.py with the anchor venv's python):
    python _anchors.py ANCHOR TRAIN.parquet OUT.parquet --rows N --seed S --max-minutes M --json TIMINGS.json

- ``mostlyai``: MOSTLY AI's TabularARGN (``mostlyai-engine``; needs numpy >= 2), the functional API
  split → analyze → encode → train(max_training_time) → generate, with rare categories replaced by
  sampled frequent ones (``rare_category_replacement_method="sample"``, as our ``autoregressive`` does).
- ``sdv_ctgan``: the SDV project's ``ctgan`` package (``CTGAN``), 300 epochs planned, training cut at
  ``--max-minutes`` (counted from the start of ``fit``, its data transformer included) by ending its
  epoch loop; discrete columns are the object/bool/category ones.

Only this file's standard-library code and the anchor's own packages are imported: no qaharness.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path


def run_mostlyai(train, rows: int, seed: int, max_minutes: float):
    from mostlyai import engine

    with tempfile.TemporaryDirectory() as folder:
        ws = Path(folder) / "ws"
        started = time.perf_counter()
        engine.split(workspace_dir=ws, tgt_data=train, model_type="TABULAR")
        engine.analyze(workspace_dir=ws)
        engine.encode(workspace_dir=ws)
        engine.train(workspace_dir=ws, max_training_time=max_minutes, device="cpu")
        fit_s = time.perf_counter() - started
        started = time.perf_counter()
        engine.generate(workspace_dir=ws, sample_size=rows, device="cpu", rare_category_replacement_method="sample")
        import pandas as pd

        synthetic = pd.read_parquet(ws / "SyntheticData")
        return synthetic, fit_s, time.perf_counter() - started


def run_sdv_ctgan(train, rows: int, seed: int, max_minutes: float):
    import ctgan.synthesizers.ctgan as module
    import torch
    from ctgan import CTGAN

    torch.manual_seed(seed)  # the package draws from torch's global RNG; this process is its own
    deadline = time.perf_counter() + 60 * max_minutes

    def limited(iterable, *args, **kwargs):  # replaces the epoch loop's tqdm: stop at the deadline
        for item in iterable:
            if time.perf_counter() > deadline:
                return
            yield item

    module.tqdm = limited
    discrete = [c for c in train.columns if train[c].dtype == object or str(train[c].dtype) in ("bool", "category")]
    model = CTGAN(epochs=300, verbose=False, enable_gpu=False)
    started = time.perf_counter()
    model.fit(train, discrete_columns=discrete)
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    synthetic = model.sample(rows)
    return synthetic, fit_s, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("anchor", choices=["mostlyai", "sdv_ctgan"])
    parser.add_argument("train")
    parser.add_argument("out")
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-minutes", type=float, default=3.0)
    parser.add_argument("--json", required=True)
    args = parser.parse_args()
    import pandas as pd

    train = pd.read_parquet(args.train)
    cpu = time.process_time()
    run = run_mostlyai if args.anchor == "mostlyai" else run_sdv_ctgan
    synthetic, fit_s, sample_s = run(train, args.rows, args.seed, args.max_minutes)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    synthetic.to_parquet(args.out, index=False)
    timings = {"fit_s": fit_s, "sample_s": sample_s, "cpu_s": time.process_time() - cpu, "peak_rss_gb": peak}
    Path(args.json).write_text(json.dumps(timings))


if __name__ == "__main__":
    main()
