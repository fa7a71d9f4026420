"""Privacy-rule calibration: the privacy metrics on the calibration grid, then the rules judged offline.

Step 1 (``measure``) computes every privacy metric once per case of ``qaharness.testing.cases``
(tables × shapes × cases × seeds) and appends one JSON line per case (the input sizes and every
privacy ``MetricResult``, bulky plot details dropped). Step 2 (``judge``) rebuilds a ``Run`` from
each line and applies the privacy rules of the three bundled policies with the gate's own rule code
(field, operator, threshold, ``min_rows``), then prints a Markdown table: the honest pass rate per
shape, and per defect how often an error-severity privacy rule caught it (failed, or could not
decide). Judging offline lets a threshold be tried on the whole grid in seconds; the whole gate,
all pillars, runs in ``benchmarks/calibration.py``.

    nice -n 10 .venv/bin/python benchmarks/calibrate_privacy.py measure --out runs/privacy-cal.jsonl \\
        [--tables adult,discrete] [--shapes 1:1-300,4:1-2k] [--cases honest,jitter-10] [--seeds 0,1,2]
    .venv/bin/python benchmarks/calibrate_privacy.py judge --results runs/privacy-cal.jsonl [--markdown out.md]

    .venv/bin/python benchmarks/calibrate_privacy.py power   # the tail test's power by simulation

``measure`` resumes: cases already in the file are skipped. ``update --metrics privacy.dcr,privacy.nndr``
recomputes some metrics of every measured case in place (after a change to those metrics only).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
import warnings
from collections import defaultdict
from datetime import date
from pathlib import Path

from qaharness.engine import run_metrics
from qaharness.errors import BadInputError
from qaharness.inputs import prepare_inputs
from qaharness.metrics import metric_ids
from qaharness.policy import load_policy
from qaharness.results import InputInfo, MetricResult, Run
from qaharness.rules import RuleContext
from qaharness.testing import cases as grid

POLICIES = ("default", "ml-training", "external-sharing")
PRIVACY_CASES = (
    "honest",
    "copies",
    "copies-30",
    "copies-10",
    "copies-5",
    "jitter",
    "jitter-10",
    "jitter-5",
    "collapse",
    "independent",
    "replayed-ids",
)
BULKY = ("histogram", "roc")  # plot data the rules never read


def _privacy_ids() -> list[str]:
    return [m for m in metric_ids() if m.startswith("privacy.")]


def measure(args: argparse.Namespace) -> None:
    out = Path(args.out)
    done = set()
    if out.exists():
        done = {tuple(json.loads(line)["key"]) for line in out.read_text().splitlines() if line.strip()}
    started = time.perf_counter()
    with out.open("a") as f:
        for seed in args.seeds:
            for table, shape, case in grid.grid(args.tables, args.shapes, args.cases):
                if (table, shape, case, seed) in done:
                    continue
                f.write(json.dumps(_measure_one(table, shape, case, seed)) + "\n")
                f.flush()
    print(f"measured in {time.perf_counter() - started:.0f} s; load average {os.getloadavg()[0]:.1f}")


def _measure_one(table: str, shape: str, case: str, seed: int, ids: list[str] | None = None) -> dict:
    built = grid.build(table, shape, case, seed)
    started = time.perf_counter()
    record: dict = {
        "key": [table, shape, case, seed],
        "rows": {"real": len(built.real), "holdout": len(built.holdout), "synthetic": len(built.synthetic)},
    }
    schema = {c: "identifier" for c in grid.TABLES[table].id_columns} or None
    try:
        data = prepare_inputs(built.real, built.synthetic, built.holdout, target=built.target, schema=schema)
    except BadInputError as exc:
        return {**record, "refused": str(exc)}
    results, timings = run_metrics(data, ids or _privacy_ids(), seed=seed)
    record["notes"] = list(data.notes)
    record["metrics"] = [
        r.model_copy(update={"details": {k: v for k, v in r.details.items() if k not in BULKY}}).model_dump(mode="json")
        for r in results
    ]
    record["seconds"] = timings
    print(f"{table}/{shape}/{case}/{seed}: {time.perf_counter() - started:.1f} s", flush=True)
    return record


def update(args: argparse.Namespace) -> None:
    """Recompute ``args.metrics`` for every measured case and rewrite the file."""
    path = Path(args.results)
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    for record in records:
        if "refused" in record:
            continue
        fresh = _measure_one(*record["key"], ids=args.metrics)
        replaced = {m["id"]: m for m in fresh["metrics"]}
        known = {m["id"] for m in record["metrics"]}
        record["metrics"] = [replaced.get(m["id"], m) for m in record["metrics"]]
        record["metrics"] += [m for m in fresh["metrics"] if m["id"] not in known]
        record["seconds"].update(fresh["seconds"])
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in records))
    tmp.replace(path)


# -- judging ---------------------------------------------------------------------------------------


def _run(record: dict) -> Run:
    inputs = {
        name: InputInfo(source=f"<{name}>", sha256="-", rows=rows, columns=1) for name, rows in record["rows"].items()
    }
    metrics = [MetricResult.model_validate(m) for m in record["metrics"]]
    return Run(qaharness_version="-", created_at="-", seed=0, inputs=inputs, schema={}, metrics=metrics)


def judge(args: argparse.Namespace) -> None:
    records = [json.loads(line) for line in Path(args.results).read_text().splitlines() if line.strip()]
    lines = []
    for name in POLICIES:
        policy = load_policy(args.policy_dir / f"{name}.yaml" if args.policy_dir else name).policy
        rules = [r for r in policy.rules if (getattr(r, "metric", None) or "").startswith("privacy.")]
        lines += _policy_table(name, rules, records)
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text + "\n")


def _outcomes(rules: list, record: dict) -> dict[str, str]:
    """Each privacy rule's status on one measured case (``refused`` when the inputs were refused)."""
    if "refused" in record:
        return {r.id: "refused" for r in rules}
    ctx = RuleContext(run=_run(record), today=date.today())
    return {r.id: r.check(ctx).status for r in rules}


SHAPE_ORDER = ("1:1-300", "1:1-2k", "4:1-2k", "8:1-2k", "small-synthetic", "tiny-holdout", "holdout=train")


def _policy_table(name: str, rules: list, records: list[dict]) -> list[str]:
    """One row per case, one column per shape: how often the privacy rules said what they must."""
    severity = {r.id: r.severity for r in rules}
    clean_cases = {c for c, spec in grid.CASES.items() if "privacy" in spec.clean and c != "honest"}
    cells: dict[tuple[str, str], list[bool]] = defaultdict(list)
    misses: list[str] = []
    for record in records:
        table, shape, case, seed = record["key"]
        outcomes = _outcomes(rules, record)
        not_passing = {rid: status for rid, status in outcomes.items() if status != "pass"}
        caught = any(severity[rid] == "error" for rid in not_passing)
        where = f"{case} @ {shape} / {table} / seed {seed}"
        if shape in ("tiny-holdout", "holdout=train") or case not in clean_cases | {"honest"}:
            required = shape in ("tiny-holdout", "holdout=train") or (
                grid.SHAPES[shape].n_synthetic >= grid.CASES[case].min_synthetic
            )
            cells[(case, shape)].append(caught)
            if required and not caught:
                misses.append(f"not caught: {where}")
        else:
            cells[(case, shape)].append(not not_passing)
            if not_passing:
                misses.append(
                    f"{'honest' if case == 'honest' else 'clean pillar'} not passing: {where}: " + _listed(not_passing)
                )
    shapes = [s for s in SHAPE_ORDER if any(k[1] == s for k in cells)]
    out = [f"\n### {name}\n", "| case (what the rules must do) | " + " | ".join(shapes) + " |"]
    out.append("|---|" + "---|" * len(shapes))
    for case in grid.CASES:
        if not any(k[0] == case for k in cells):
            continue
        must = "pass" if case == "honest" else "no privacy rule fails" if case in clean_cases else "caught"
        row = [_cell(cells.get((case, s)), case, s, must == "caught") for s in shapes]
        out.append(f"| {case} ({must}) | " + " | ".join(row) + " |")
    out += ["", "Exceptions:", ""] + [f"- {m}" for m in misses] if misses else ["", "No exceptions."]
    return out


def _cell(values: list[bool] | None, case: str, shape: str, defect: bool) -> str:
    if not values:
        return "—"
    text = f"{sum(values)}/{len(values)}"
    special = shape in ("tiny-holdout", "holdout=train")
    if defect and not special and grid.SHAPES[shape].n_synthetic < grid.CASES[case].min_synthetic:
        text += " (not required)"
    return text


def _listed(outcomes: dict[str, str]) -> str:
    return ", ".join(f"{rid} ({status})" for rid, status in sorted(outcomes.items()))


def power(args: argparse.Namespace) -> None:
    """How often the tail rules fail honest data, and catch a share of near-copies, by simulation.

    Distances are uniform for honest rows and 0 for near-copies (a near-copy sits below every unseen
    row's distance): the test's power depends only on the sizes and the share, not on the table."""
    import numpy as np

    from qaharness.metrics.privacy_dcr_tail import tail_test

    rng = np.random.default_rng(0)

    def rate(n_s: int, n_h: int, share: float, quantile: float, field: str, bound: float) -> float:
        hits = 0
        for _ in range(args.repeats):
            k = rng.binomial(n_s, share)
            synthetic = np.r_[np.zeros(k), rng.random(n_s - k) + 1e-6]
            holdout = np.sort(rng.random(n_h) + 1e-6)
            hits += getattr(tail_test(synthetic, holdout, quantile, holdout), field) > bound
        return hits / args.repeats

    print(
        f"| synthetic | holdout | q | honest fails ci_low > 0.01 | 10% caught | 5% caught | "
        f"honest fails ci_high > 0.08 | 10% caught |  ({args.repeats} draws each)"
    )
    print("|---|---|---|---|---|---|---|---|")
    for n_s, n_h in [(100, 200), (150, 200), (150, 2000), (300, 300), (2000, 500), (2000, 2000)]:
        for q in (0.01, 0.05):
            cells = [rate(n_s, n_h, f, q, "ci_low", 0.01) for f in (0.0, 0.10, 0.05)]
            cells += [rate(n_s, n_h, f, q, "ci_high", 0.08) for f in (0.0, 0.10)]
            print(f"| {n_s} | {n_h} | {q:.0%} | " + " | ".join(f"{c:.1%}" for c in cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="step", required=True)
    m = sub.add_parser("measure")
    m.add_argument("--out", required=True)
    m.add_argument("--tables", type=lambda s: s.split(","), default=None)
    m.add_argument("--shapes", type=lambda s: s.split(","), default=None)
    m.add_argument("--cases", type=lambda s: s.split(","), default=list(PRIVACY_CASES))
    m.add_argument("--seeds", type=lambda s: [int(x) for x in s.split(",")], default=[0, 1, 2])
    u = sub.add_parser("update")
    u.add_argument("--results", required=True)
    u.add_argument("--metrics", type=lambda s: s.split(","), required=True)
    pw = sub.add_parser("power")
    pw.add_argument("--repeats", type=int, default=400)
    j = sub.add_parser("judge")
    j.add_argument("--results", required=True)
    j.add_argument("--markdown")
    j.add_argument("--policy-dir", type=Path, default=None, help="judge the policy files in this folder instead")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    {"measure": measure, "update": update, "judge": judge, "power": power}[args.step](args)


if __name__ == "__main__":
    main()
