"""Progress without a terminal (CI logs): one line per step with its seconds, instead of a spinner that shows
nothing; `task` at the top of results.json when the utility metrics know it; short reprs of gate results."""

from __future__ import annotations

import io

from conftest import make_mixed_frame
from typer.testing import CliRunner

from qaharness.cli import app
from qaharness.cli._common import StepLines


class _Clock:
    def __init__(self, *times: float):
        self.times = list(times)

    def __call__(self) -> float:
        return self.times.pop(0)


def test_step_lines_print_each_finished_step_with_its_seconds():
    out = io.StringIO()
    lines = StepLines("reading inputs", out, clock=_Clock(0.0, 1.25, 1.25, 64.0, 64.0, 64.5))
    lines.step("fidelity.detection")
    lines.step("privacy.dcr")
    lines.close(" (with writing the outputs)")
    lines.close()  # a second close prints nothing
    assert out.getvalue().splitlines() == [
        "qaharness: reading inputs done in 1.2 s",
        "qaharness: fidelity.detection done in 62.8 s",
        "qaharness: privacy.dcr done in 0.5 s (with writing the outputs)",
    ]


def test_evaluate_without_a_terminal_prints_one_line_per_metric(tmp_path):
    paths = []
    for name, seed in (("real", 1), ("synthetic", 2)):
        paths.append(tmp_path / f"{name}.csv")
        make_mixed_frame(120, seed).to_csv(paths[-1], index=False)
    args = ["evaluate", "--real", str(paths[0]), "--synthetic", str(paths[1]), "--metrics", "fidelity.ks,fidelity.js"]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "out"), "--no-store"])
    assert result.exit_code == 0, result.output
    steps = [line for line in result.output.splitlines() if line.startswith("qaharness: ")]
    assert [s.split(" done in ")[0] for s in steps] == [
        "qaharness: reading inputs",
        "qaharness: fidelity.ks",
        "qaharness: fidelity.js",
    ]
    assert all(s.split(" done in ")[1].split(" s")[0].replace(".", "").isdigit() for s in steps)
    assert "⠋" not in result.output and "\x1b[" not in result.output, "no spinner or escape codes in a log"


def test_a_failed_step_is_not_reported_done(tmp_path):
    missing = tmp_path / "missing.csv"
    args = ["evaluate", "--real", str(missing), "--synthetic", str(missing), "--out", str(tmp_path / "o"), "--no-store"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "done in" not in result.output and len(result.output.strip().splitlines()) == 1
