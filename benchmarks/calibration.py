"""Calibration grid: tables × shapes × cases × seeds × policies through the release gate.

    nice -n 10 .venv/bin/python benchmarks/calibration.py --out calibration-out \\
        [--tables adult,wide] [--shapes 1:1-300,4:1-2k] [--cases honest,jitter-10] [--seeds 0-4] \\
        [--policies default,ml-training] [--policy team.yaml] [--max-rows 10000] [--workers 1] [--fresh]

Each (table, shape, case, seed) is built once by ``qaharness.testing.cases.build`` and gated under
every policy by ``qaharness.testing.calibration.gate_case`` (``run_gate`` with ``record=False``).
Writes into ``--out``:

- ``rules.csv`` — every rule of every gate: observed value, threshold, status, message;
- ``runs.csv`` — one row per gate: verdict, exit code, the expectation and whether it was met;
- ``verdicts.md`` — the verdict tables: honest pass rate per shape, per defect whether it was
  caught on its pillar and whether another pillar was wrongly failed, and every miss.

Resumable: gates already in ``runs.csv`` (same policy sha256) are skipped; ``--fresh`` starts over;
``--report-only`` rewrites ``verdicts.md`` from the CSVs (run stages into one folder, then report).
``verdicts.md`` is removed at the start and written (atomically) at the end, from every row in the
CSVs. Defaults: every table, shape and case, seeds 0-2, the three bundled policies (only the files
when ``--policy`` is given), one worker —
the shared machine has 2 cores: run it under ``nice -n 10`` and keep ``--workers`` at 1 or 2.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one BLAS/OpenMP thread per worker process

import argparse
import csv
import platform
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from threadpoolctl import threadpool_limits

from qaharness import __version__
from qaharness.errors import BadInputError
from qaharness.policy import LoadedPolicy, load_policy
from qaharness.results import Family, RuleResult
from qaharness.testing import cases
from qaharness.testing.calibration import POLICIES, GateOutcome, gate_case, judge, pillar_of

RUN_FIELDS = [
    "table", "shape", "case", "seed", "policy", "policy_version", "policy_sha256", "n_train", "n_holdout",
    "n_synthetic", "expected", "verdict", "exit_code", "ok", "caught", "wrongly_failed", "failing", "seconds",
    "message",
]  # fmt: skip
RULE_FIELDS = [
    "table", "shape", "case", "seed", "policy", "rule", "kind", "metric", "pillar", "field", "op", "threshold",
    "threshold_expr", "observed", "severity", "status", "message",
]  # fmt: skip
KEY = ("table", "shape", "case", "seed", "policy")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("calibration-out"), help="output folder")
    parser.add_argument("--tables", type=_names(cases.TABLES), default=list(cases.TABLES), help=", ".join(cases.TABLES))
    parser.add_argument("--shapes", type=_names(cases.SHAPES), default=list(cases.SHAPES), help=", ".join(cases.SHAPES))
    parser.add_argument("--cases", type=_names(cases.CASES), default=list(cases.CASES), help=", ".join(cases.CASES))
    parser.add_argument("--seeds", type=_seeds, default=[0, 1, 2], help="e.g. 0-4 or 0,3,7")
    parser.add_argument(
        "--policies",
        type=_names(POLICIES),
        default=None,
        help="bundled policies (default: all three, none with --policy)",
    )
    parser.add_argument("--policy", type=Path, action="append", default=[], help="a policy file (repeatable)")
    parser.add_argument("--max-rows", type=int, default=None, help="skip shapes drawing more rows than this")
    parser.add_argument("--workers", type=int, default=1, help="processes (default 1; the box has 2 shared cores)")
    parser.add_argument("--fresh", action="store_true", help="discard earlier results in --out")
    parser.add_argument(
        "--rejudge",
        action="store_true",
        help="judge the gates in --out again with today's expectations and judge (no gate runs), then report",
    )
    parser.add_argument("--report-only", action="store_true", help="only write verdicts.md from the CSVs in --out")
    return parser.parse_args(argv)


def _names(known: Collection[str]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        names = [n.strip() for n in text.split(",") if n.strip()]
        unknown = [n for n in names if n not in known]
        if unknown or not names:
            raise argparse.ArgumentTypeError(f"unknown {', '.join(unknown) or '(none)'}; known: {', '.join(known)}")
        return names

    return parse


def _seeds(text: str) -> list[int]:
    seeds: list[int] = []
    try:
        for part in text.split(","):
            low, _, high = part.strip().partition("-")
            seeds.extend(range(int(low), int(high or low) + 1))
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds must look like 0-4 or 0,3,7, not {text!r}") from None
    return seeds


def load_policies(names: Sequence[str], files: Sequence[Path]) -> list[LoadedPolicy]:
    """The policies to run; two with one id would be indistinguishable in the results."""
    loaded = [load_policy(n) for n in names] + [load_policy(f) for f in files]
    ids = Counter(p.policy.id for p in loaded)
    clash = [i for i, n in ids.items() if n > 1]
    if clash:
        raise BadInputError(f"two policies share the id {clash[0]!r}; give one file another id", source="--policy")
    return loaded


# -- running --------------------------------------------------------------------------------------


def cells(args: argparse.Namespace) -> Iterator[tuple[str, str, str, int]]:
    for table, shape, case in cases.grid(args.tables, args.shapes, args.cases):
        if args.max_rows is None or cases.SHAPES[shape].n_rows <= args.max_rows:
            for seed in args.seeds:
                yield table, shape, case, seed


def run_cell(cell: tuple[str, str, str, int], policies: Sequence[str]) -> list[tuple[dict, list[dict]]]:
    """Build one case and gate it under every policy: [(run row, rule rows)] per policy."""
    table, shape, case_name, seed = cell
    loaded = [load_policy(p) for p in policies]
    case = cases.build(table, shape, case_name, seed)
    with threadpool_limits(1):
        return [rows_of(gate_case(case, policy, seed=seed), policy) for policy in loaded]


def rows_of(outcome: GateOutcome, policy: LoadedPolicy) -> tuple[dict, list[dict]]:
    case, judgement = outcome.case, outcome.judgement
    shape = cases.SHAPES[case.shape]
    key = {"table": case.table, "shape": case.shape, "case": case.case, "seed": case.seed, "policy": outcome.policy}
    failing = [f"{r.id}:{r.status}" for r in outcome.rules if r.status in ("fail", "error", "insufficient")]
    run = {
        **key,
        "policy_version": policy.policy.version,
        "policy_sha256": policy.sha256,
        "n_train": shape.n_train,
        "n_holdout": shape.n_train if shape.holdout_is_train else shape.n_holdout,
        "n_synthetic": len(case.synthetic),
        "expected": case.expected.outcome,
        "verdict": outcome.verdict,
        "exit_code": outcome.exit_code,
        "ok": judgement.ok,
        "caught": "" if judgement.caught is None else judgement.caught,
        "wrongly_failed": " ".join(judgement.wrongly_failed),
        "failing": " ".join(failing),
        "seconds": round(outcome.seconds, 2),
        "message": outcome.message,
    }
    rules = [
        {
            **key,
            "rule": r.id,
            "kind": r.kind,
            "metric": r.metric or "",
            "pillar": pillar_of(r),
            "field": r.field or "",
            "op": r.op or "",
            "threshold": "" if r.threshold is None else r.threshold,
            "threshold_expr": r.threshold_expr or "",
            "observed": "" if r.observed is None else r.observed,
            "severity": r.severity,
            "status": r.status,
            "message": r.message,
        }
        for r in outcome.rules
    ]
    return run, rules


class Results:
    """runs.csv and rules.csv in ``out``: appended one gate at a time, read back on resume."""

    def __init__(self, out: Path, *, fresh: bool) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.runs_path, self.rules_path = out / "runs.csv", out / "rules.csv"
        if fresh:
            self.runs_path.unlink(missing_ok=True)
            self.rules_path.unlink(missing_ok=True)
        self.runs = _read(self.runs_path)
        done = {_key(r) for r in self.runs}
        # rules of a gate whose run row never got written (interrupted) are dropped and redone
        _rewrite(self.rules_path, RULE_FIELDS, [r for r in _read(self.rules_path) if _key(r) in done])
        _rewrite(self.runs_path, RUN_FIELDS, self.runs)

    def done(self, cell: tuple[str, str, str, int], policy: LoadedPolicy) -> bool:
        key = (*map(str, cell), policy.policy.id)
        return any(_key(r) == key and r["policy_sha256"] == policy.sha256 for r in self.runs)

    def add(self, run: dict, rules: list[dict]) -> None:
        row = {k: str(v) for k, v in run.items()}
        if any(_key(r) == _key(row) for r in self.runs):  # redone under a changed policy: drop the old rows
            self.runs = [r for r in self.runs if _key(r) != _key(row)]
            _rewrite(self.runs_path, RUN_FIELDS, self.runs)
            _rewrite(self.rules_path, RULE_FIELDS, [r for r in _read(self.rules_path) if _key(r) != _key(row)])
        self.runs.append(row)
        _append(self.rules_path, RULE_FIELDS, rules)
        _append(self.runs_path, RUN_FIELDS, [run])


def _key(row: dict) -> tuple[str, ...]:
    return tuple(str(row[k]) for k in KEY)


def _read(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _rewrite(path: Path, fields: list[str], rows: list[dict]) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)


def _append(path: Path, fields: list[str], rows: list[dict]) -> None:
    with path.open("a", newline="") as handle:
        csv.DictWriter(handle, fieldnames=fields).writerows(rows)
        handle.flush()
        os.fsync(handle.fileno())


def run_grid(args: argparse.Namespace, policies: list[LoadedPolicy], results: Results) -> int:
    """Gate every cell not yet done; returns the number of gates run."""
    todo = [c for c in cells(args) if not all(results.done(c, p) for p in policies)]
    sources = [p.source for p in policies]
    print(f"{len(todo)} cases to build, {len(todo) * len(policies)} gates ({len(policies)} policies)", flush=True)
    if args.workers <= 1:
        return _collect(zip(todo, (run_cell(cell, sources) for cell in todo), strict=True), results, len(todo))
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        stream = pool.map(run_cell, todo, [sources] * len(todo))
        return _collect(zip(todo, stream, strict=True), results, len(todo))


def _collect(stream: Iterable[tuple[tuple, list[tuple[dict, list[dict]]]]], results: Results, total: int) -> int:
    n = 0
    for i, (cell, rows) in enumerate(stream, start=1):
        for run, rules in rows:
            results.add(run, rules)
            n += 1
            mark = "ok " if run["ok"] else "MISS"
            print(f"[{i}/{total}] {mark} {'/'.join(map(str, cell))} {run['policy']}: {run['verdict']} "
                  f"({run['seconds']} s) {run['failing']}", flush=True)  # fmt: skip
    return n


# -- the verdict tables ------------------------------------------------------------------------------


def verdict_markdown(runs: list[dict], policies: Sequence[str], header: str) -> str:
    """Honest pass rate per shape; per defect, caught on its pillar and other pillars wrongly failed; misses."""
    lines = [header, "", "### Honest synthetic data: pass rate per shape", ""]
    lines += _table(["shape", *policies], _honest_rows(runs, policies))
    lines += ["", "### Planted defects: caught on their pillar / another pillar wrongly failed", ""]
    lines += [
        "Cells: gates where the defect was caught on its pillar / gates judged, then (✗ n) the gates in which",
        "a pillar the defect must leave alone failed. Shapes below a defect's `min_synthetic` count only for ✗;",
        "tiny-holdout and holdout=train are in the next table.",
        "",
    ]
    lines += _table(["case", "pillar", *policies], _defect_rows(runs, policies))
    lines += ["", "### Shapes that must not pass: a 6-row holdout, the holdout equal to training", ""]
    lines += _table(["shape", "expected", *policies], _special_rows(runs, policies))
    lines += ["", "### Every miss (expectation not met)", ""]
    lines += _misses(runs)
    return "\n".join(lines) + "\n"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    if not rows:
        return ["(no gates)"]
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows]


def _rate(rows: list[dict], hit: Callable[[dict], bool]) -> str:
    good = sum(1 for r in rows if hit(r))
    return f"{good}/{len(rows)}" + ("" if good == len(rows) else " ✗")


def _honest_rows(runs: list[dict], policies: Sequence[str]) -> list[list[str]]:
    out = []
    for shape in cases.SHAPES:
        honest = [r for r in runs if r["case"] == "honest" and r["shape"] == shape and r["expected"] == "pass"]
        if honest:
            out.append([shape] + [_rate([r for r in honest if r["policy"] == p], _is_ok) for p in policies])
    return out


def _defect_rows(runs: list[dict], policies: Sequence[str]) -> list[list[str]]:
    out = []
    for name, spec in cases.CASES.items():
        mine = [r for r in runs if r["case"] == name and r["expected"] in ("caught", "clean-only")]
        if name == "honest" or not mine:
            continue
        cells_ = []
        for policy in policies:
            judged = [r for r in mine if r["policy"] == policy and r["expected"] == "caught"]
            wrong = sum(1 for r in mine if r["policy"] == policy and r["wrongly_failed"])
            caught = sum(1 for r in judged if r["caught"] == "True")
            cells_.append(f"{caught}/{len(judged)}" + (f" (✗ {wrong})" if wrong else ""))
        via = f" ({', '.join(sorted(spec.metrics))})" if spec.metrics else ""
        out.append([name, "/".join(sorted(spec.catch)) + via, *cells_])
    return out


def _special_rows(runs: list[dict], policies: Sequence[str]) -> list[list[str]]:
    out = []
    for expected in ("not-pass", "refused"):
        mine = [r for r in runs if r["expected"] == expected]
        for shape in sorted({r["shape"] for r in mine}):
            here = [r for r in mine if r["shape"] == shape]
            out.append([shape, expected] + [_rate([r for r in here if r["policy"] == p], _is_ok) for p in policies])
    return out


def _is_ok(row: dict) -> bool:
    return row["ok"] == "True"


def _misses(runs: list[dict]) -> list[str]:
    groups: dict[tuple[str, str, str, str], list[dict]] = defaultdict(list)
    for r in runs:
        if not _is_ok(r):
            groups[(r["case"], r["shape"], r["policy"], r["expected"])].append(r)
    if not groups:
        return ["none"]
    lines = [
        "| case | shape | policy | expected | misses (tables) | verdicts | failing rules (count) |",
        "|" + "---|" * 7,
    ]
    for (case, shape, policy, expected), rows in sorted(groups.items()):
        total = sum(1 for r in runs if (r["case"], r["shape"], r["policy"]) == (case, shape, policy))
        verdicts = ", ".join(f"{v} {n}" for v, n in Counter(r["verdict"] for r in rows).most_common())
        failing = Counter(rule.split(":")[0] for r in rows for rule in r["failing"].split())
        listed = ", ".join(f"{rule} {n}" for rule, n in failing.most_common(6)) or "none"
        tables = ",".join(sorted({r["table"] for r in rows}))
        cells_ = [case, shape, policy, expected, f"{len(rows)}/{total} ({tables})", verdicts, listed]
        lines.append("| " + " | ".join(cells_) + " |")
    return lines


def machine_line() -> str:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, qaharness "
        f"{__version__} ({commit.stdout.strip() or 'no git'})"
    )


def rejudge(results: Results) -> None:
    """Judge every recorded gate again from its rules (``rules.csv``) with today's ``cases`` expectations and
    ``calibration.judge``, and rewrite ``runs.csv``: the verdicts stay what the gates said, only whether each
    met its case's expectation is recomputed (after a change of the judge, not of the product)."""
    by_key: dict[tuple, list[RuleResult]] = {}
    for row in _read(results.rules_path):
        family = Family(row["pillar"]) if row["pillar"] in {f.value for f in Family} else None
        rule = RuleResult(
            id=row["rule"], kind=row["kind"] or "metric", metric=row["metric"] or None, family=family,
            status=row["status"], severity=row["severity"],
        )  # fmt: skip
        by_key.setdefault(tuple(row[k] for k in KEY), []).append(rule)
    for run in results.runs:
        expected = cases.expected_for(run["case"], run["shape"])
        if cases.CASES[run["case"]].copied_share and expected.outcome == "caught":
            # whether copies are distinguishable from chance matches depends on the frames: build them
            expected = cases.build(run["table"], run["shape"], run["case"], int(run["seed"])).expected
        judgement = judge(expected, run["verdict"], by_key.get(tuple(run[k] for k in KEY), []))
        run.update(
            expected=expected.outcome,
            ok=str(judgement.ok),
            caught="" if judgement.caught is None else str(judgement.caught),
            wrongly_failed=" ".join(judgement.wrongly_failed),
        )
    _rewrite(results.runs_path, RUN_FIELDS, results.runs)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    bundled = args.policies if args.policies is not None else ([] if args.policy else list(POLICIES))
    try:
        policies = load_policies(bundled, args.policy)
    except BadInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    results = Results(args.out, fresh=args.fresh)
    md = args.out / "verdicts.md"
    md.unlink(missing_ok=True)  # never leave a table that looks complete while the grid runs
    load_start, start = os.getloadavg(), time.perf_counter()
    if args.rejudge:
        if not results.runs:
            print(f"error: {args.out / 'runs.csv'}: no recorded gates to judge again", file=sys.stderr)
            return 2
        unknown = sorted({f"{r['case']} at {r['shape']}" for r in results.runs if r["case"] not in cases.CASES
                          or r["shape"] not in cases.SHAPES})  # fmt: skip
        if unknown:
            print(
                f"error: {args.out / 'runs.csv'}: cases this version does not know: {', '.join(unknown)}",
                file=sys.stderr,
            )
            return 2
        if not any(True for _ in _read(results.rules_path)):
            print(
                f"error: {results.rules_path}: no recorded rules to judge (decompress rules.csv.gz?)", file=sys.stderr
            )
            return 2
        rejudge(results)
    n = 0 if args.report_only or args.rejudge else run_grid(args, policies, results)
    elapsed = time.perf_counter() - start
    load_end = os.getloadavg()
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = " ".join(["benchmarks/calibration.py", *(argv if argv is not None else sys.argv[1:])])
    header = f"Calibration grid, {when}: {len(results.runs)} gates in runs.csv. Machine: {machine_line()}. "
    if args.report_only or args.rejudge:
        header += f"Report written from earlier runs: `{command}`"
    else:
        header += (
            f"This run: {n} gates in {elapsed / 60:.1f} min, load average {load_start[0]:.1f} at the start and "
            f"{load_end[0]:.1f} at the end: `{command}`"
        )
    ids = [p.policy.id for p in policies]
    tmp = md.with_suffix(".tmp")
    tmp.write_text(verdict_markdown([r for r in results.runs if r["policy"] in ids], ids, header))
    tmp.replace(md)
    print(f"{n} gates in {elapsed:.0f} s ({elapsed / max(n, 1):.1f} s each); wrote {md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
