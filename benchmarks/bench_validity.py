"""Speed of fidelity.validity, fidelity.coherence and a constraint rule on a wide table.

    python benchmarks/bench_validity.py [--rows 50000] [--columns 70]

The table is ``_tables.derived_table``: ``mixed_table`` columns plus ten columns computed from others
(age → age_band, spend → is_high_value, country → region, product ↔ product_code, (product, size) →
price). Prints the seconds of each metric (with its holdout baseline, which reuses the dependency
search), of the dependency search alone, and of one constraint over real + synthetic — wall time and,
beside it, the process's CPU time (the figure to read on a loaded shared machine).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _tables import derived_table

from qaharness.engine import run_metrics
from qaharness.inputs import prepare_inputs
from qaharness.metrics._dependencies import Settings, discover
from qaharness.rules.constraint import count_violations


def bench(rows: int, columns: int) -> dict:
    real, synthetic, holdout = (derived_table(n, columns, seed) for n, seed in ((rows, 1), (rows, 2), (rows // 4, 3)))
    data = prepare_inputs(real, synthetic, holdout)
    out: dict = {"rows": rows, "columns": real.shape[1]}
    for metric in ("fidelity.validity", "fidelity.coherence"):
        with timed(out, metric):
            (result,), _ = run_metrics(data, [metric], seed=0)
        out[f"{metric}_value"] = result.value
    with timed(out, "discovery"):
        found, tested = discover(data.real.iloc[:50_000], data.schema, data.columns(), Settings())
    out["dependencies"] = sorted(d.name for d in found)
    out["tests"] = tested
    with timed(out, "constraint"):
        for frame in (data.real, data.synthetic):
            count_violations("region <> 'EMEA' OR country IN ('DE', 'FR', 'NL')", frame, data.schema)
    return out


@contextmanager
def timed(out: dict, name: str) -> Iterator[None]:
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    out[f"{name}_s"] = f"{time.perf_counter() - wall:.2f} wall / {time.process_time() - cpu:.2f} cpu"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[50_000])
    parser.add_argument("--columns", type=int, default=70)
    args = parser.parse_args()
    for rows in args.rows:
        print(json.dumps(bench(rows, args.columns)), flush=True)


if __name__ == "__main__":
    main()
