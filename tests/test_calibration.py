"""A slice of the calibration grid through the release gate: the acceptance criteria of the pillars.

Each test builds one case with ``qaharness.testing.cases.build`` and gates it with
``qaharness.testing.calibration.gate_case`` (``run_gate``, ``record=False``), then asserts the case's
expectation: honest data passes every rule; a planted defect is caught on its pillar (at the
severity the policy uses there) and leaves the other pillars alone; a 6-row holdout cannot pass its
privacy rules; a holdout equal to training is refused.

Where today's code gets a case wrong, the test is ``xfail(strict=True)`` with what goes wrong: the
file stays green, and the fix that makes the case pass turns it red (XPASS) until its marker goes.
The whole grid (more tables, shapes, seeds and all policies) is ``benchmarks/calibration.py``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits

from qaharness.policy import load_policy
from qaharness.testing import cases
from qaharness.testing.calibration import gate_case

#: what goes wrong on today's code, by cell (table/shape/case/seed/policy); see issue 11
KNOWN: dict[str, str] = {}

#: 300-row cells (a few seconds each)
FAST = [
    "missing/1:1-300/honest/0/default",
    "missing/1:1-300/honest/1/default",
    "ids/1:1-300/honest/0/default",
    "adult/1:1-300/honest/0/default",
    "discrete/1:1-300/honest/0/default",
    "missing/1:1-300/copies-10/0/default",
    "missing/1:1-300/jitter/0/default",
    "missing/1:1-300/jitter-10/0/default",
    "missing/1:1-300/collapse/0/default",
    "missing/1:1-300/independent/0/default",
    "missing/1:1-300/shuffled-target/0/default",
    "missing/1:1-300/weak-signal/0/default",
    "discrete/1:1-300/independent/0/default",
    "ids/1:1-300/shuffled-target/0/default",
    "ids/1:1-300/replayed-ids/0/default",
    "ids/1:1-300/replayed-ids/0/external-sharing",
    "missing/1:1-300/honest/0/ml-training",
    "missing/1:1-300/honest/0/external-sharing",
]
#: 2,000-row shapes and the 74-column table
SLOW = [
    "adult/1:1-2k/honest/0/default",
    "adult/1:1-2k/jitter-10/0/default",
    "adult/1:1-2k/weak-signal/0/default",
    "adult/8:1-2k/jitter/0/default",
    "adult/8:1-2k/jitter/0/ml-training",
    "adult/tiny-holdout/honest/0/default",
    "adult/tiny-holdout/jitter/0/default",
    "adult/holdout=train/honest/0/default",
    "adult/small-synthetic/honest/0/default",
    "discrete/4:1-2k/honest/0/default",
    "wide/1:1-300/honest/0/default",
]


def _param(cell: str, *, slow: bool):
    marks = [pytest.mark.slow] if slow else []
    if cell in KNOWN:
        marks.append(pytest.mark.xfail(strict=True, reason=f"issue 11: {KNOWN[cell]}"))
    return pytest.param(cell, marks=marks, id=cell)


@pytest.mark.parametrize(
    "cell", [_param(c, slow=False) for c in FAST] + [_param(c, slow=True) for c in SLOW]
)  # fmt: skip
def test_calibration_cell(cell):
    table, shape, case_name, seed, policy = cell.split("/")
    case = cases.build(table, shape, case_name, int(seed))
    # one OpenMP thread: on the shared 2-core box oversubscribed OpenMP made the learners 10-25x slower
    with threadpool_limits(1):
        outcome = gate_case(case, policy, seed=int(seed))
    rules = "\n".join(f"  {r.id} [{r.severity}]: {r.status} — {r.message}" for r in outcome.rules)
    assert outcome.verdict != "error", f"{cell}: internal error: {outcome.message}"
    assert outcome.judgement.ok, f"{cell}: {case.expected.reason}\n{outcome.judgement.summary}\n{rules}"


def test_every_known_failure_is_in_the_slice():
    assert set(KNOWN) <= set(FAST) | set(SLOW)


@pytest.mark.slow
def test_grid_script_writes_resumes_and_reports(tmp_path, capsys):
    """benchmarks/calibration.py on one gate: CSVs and verdicts.md written; a second run resumes (no gate)."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "calibration.py"
    spec = importlib.util.spec_from_file_location("calibration_grid", path)
    assert spec is not None and spec.loader is not None
    grid = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(grid)
    argv = ["--out", str(tmp_path), "--tables", "ids", "--shapes", "1:1-300", "--cases", "replayed-ids"]
    argv += ["--seeds", "0", "--policies", "external-sharing"]
    n_rules = len(load_policy("external-sharing").policy.rules)
    assert grid.main(argv) == 0
    runs = grid._read(tmp_path / "runs.csv")
    rules = grid._read(tmp_path / "rules.csv")
    assert [(r["case"], r["policy"], r["verdict"], r["ok"]) for r in runs] == [
        ("replayed-ids", "external-sharing", "fail", "True")
    ]
    assert {r["rule"] for r in rules} >= {"no-pii", "closer-to-training"} and len(rules) == n_rules
    table = (tmp_path / "verdicts.md").read_text()
    assert "| replayed-ids | privacy (privacy.pii) | 1/1 |" in table
    # an interrupted gate (rules written, run row not) is dropped and redone; a finished one is not rerun
    grid._append(tmp_path / "rules.csv", grid.RULE_FIELDS, [{**rules[0], "seed": "9"}])
    capsys.readouterr()
    assert grid.main(argv) == 0
    assert "0 gates" in capsys.readouterr().out
    assert len(grid._read(tmp_path / "rules.csv")) == n_rules
    # a gate recorded under another version of the policy is redone, and its old rows replaced
    grid._rewrite(tmp_path / "runs.csv", grid.RUN_FIELDS, [{**runs[0], "policy_sha256": "older"}])
    assert grid.main(argv) == 0
    assert "1 gates" in capsys.readouterr().out
    assert len(grid._read(tmp_path / "runs.csv")) == 1 and len(grid._read(tmp_path / "rules.csv")) == n_rules
    # nothing recorded to judge again: bad usage, one line naming the file
    assert grid.main(["--out", str(tmp_path / "empty"), "--rejudge"]) == 2
    assert "runs.csv: no recorded gates" in capsys.readouterr().err
    # runs recorded but their rules missing (rules.csv.gz left compressed): bad usage, naming rules.csv
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    (lonely / "runs.csv").write_bytes((tmp_path / "runs.csv").read_bytes())
    assert grid.main(["--out", str(lonely), "--rejudge"]) == 2
    assert "rules.csv: no recorded rules" in capsys.readouterr().err
    # judged again from rules.csv alone (no gate runs): the same judgement as when the gate ran
    before = grid._read(tmp_path / "runs.csv")
    assert grid.main([*argv, "--rejudge"]) == 0
    assert "0 gates" in capsys.readouterr().out
    after = grid._read(tmp_path / "runs.csv")
    assert [(r["ok"], r["caught"], r["wrongly_failed"]) for r in after] == [
        (r["ok"], r["caught"], r["wrongly_failed"]) for r in before
    ]
