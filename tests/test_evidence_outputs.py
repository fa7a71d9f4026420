"""Outputs a fault cannot leave half-written or mixed, writes that never follow planted links, and a
store that is busy or read-only (issue 17, "Faults")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import make_mixed_frame
from typer.testing import CliRunner

from qaharness._run_folder import RUN_MANIFEST, check_run_manifest
from qaharness.cli import app
from qaharness.errors import BadInputError, StoreBusyError
from qaharness.gate import run_gate, write_outputs
from qaharness.store import RunStore

runner = CliRunner()
POLICY = """
id: tiny
version: "1.0"
rules:
  - id: numeric
    metric: fidelity.ks
    op: "<="
    threshold: {threshold}
    rationale: a test rule
"""


def _policy(tmp_path: Path, threshold: float = 0.9) -> Path:
    path = tmp_path / f"policy-{threshold}.yaml"
    path.write_text(POLICY.format(threshold=threshold))
    return path


@pytest.fixture(scope="module")
def frames():
    return make_mixed_frame(120, 1), make_mixed_frame(120, 2), make_mixed_frame(80, 3)


def _gate(frames, tmp_path, out, threshold=0.9, **kwargs):
    real, synthetic, holdout = frames
    kwargs.setdefault("record", False)
    return run_gate(real, synthetic, holdout, out=out, policy=_policy(tmp_path, threshold), **kwargs)


def test_outputs_end_with_a_run_manifest_that_matches(frames, tmp_path):
    result = _gate(frames, tmp_path, tmp_path / "out")
    manifest = json.loads((tmp_path / "out" / RUN_MANIFEST).read_text())
    assert set(manifest["files"]) == {"results.json", "junit.xml", "summary.md"}
    assert check_run_manifest(tmp_path / "out") == [] and result.files[RUN_MANIFEST].exists()
    (tmp_path / "out" / "summary.md").write_text("edited")
    assert check_run_manifest(tmp_path / "out") == ["summary.md differs from the run manifest"]


def test_out_holding_another_run_is_refused_and_overwrite_clears_it(frames, tmp_path):
    out = tmp_path / "out"
    _gate(frames, tmp_path, out)  # a PASS run …
    (out / "report-DATA-1.pdf").write_bytes(b"%PDF- the earlier run's signed PASS report")
    with pytest.raises(BadInputError, match="holds the files of another run"):
        _gate(frames, tmp_path, out, threshold=0.0001)
    failed = _gate(frames, tmp_path, out, threshold=0.0001, overwrite=True)  # … replaced by a FAIL run
    assert failed.verdict == "fail" and not (out / "report-DATA-1.pdf").exists()
    assert json.loads((out / "results.json").read_text())["verdict"] == "fail"
    assert check_run_manifest(out) == []


def test_unrelated_files_in_out_are_kept(frames, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    _gate(frames, tmp_path, out)
    _gate(frames, tmp_path, out, overwrite=True)
    assert (out / "notes.txt").read_text() == "mine"


def test_planted_symlinks_are_never_followed(frames, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    victims = {}
    for name in ("junit.xml", "summary.md", "results.json.tmp", ".results.json.tmp"):
        victim = tmp_path / f"victim-{name.strip('.')}"
        victim.write_text("precious")
        (out / name).symlink_to(victim)
        victims[name] = victim
    with pytest.raises(BadInputError, match="another run"):  # junit.xml and summary.md look like a run
        _gate(frames, tmp_path, out)
    _gate(frames, tmp_path, out, overwrite=True)
    assert all(v.read_text() == "precious" for v in victims.values())
    assert not (out / "junit.xml").is_symlink() and not (out / "summary.md").is_symlink()
    assert "<testsuites" in (out / "junit.xml").read_text()


def test_write_outputs_never_writes_through_a_link(frames, tmp_path):
    run = _gate(frames, tmp_path, tmp_path / "first").run
    out = tmp_path / "second"
    out.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (out / "results.json.tmp").symlink_to(victim)  # the old fixed temporary name
    write_outputs(run, out)
    assert victim.read_text() == "precious" and json.loads((out / "results.json").read_text())["seal"]


_KILLER = textwrap.dedent(
    """
    import io, json, os, shutil, signal, sys, xml.etree.ElementTree as ET
    from pathlib import Path
    from qaharness.gate import write_outputs
    from qaharness.results import Run
    from qaharness._run_folder import check_run_manifest, OUTPUT_NAMES, RUN_MANIFEST
    from qaharness.seal import verify_results

    template, old, new = Path(sys.argv[1]), Run.read(sys.argv[2]), Run.read(sys.argv[3])
    FS_CALLS = {"open", "replace", "unlink", "fsync", "link", "rename", "write"}
    FILES = (io.FileIO, io.BufferedWriter, io.TextIOWrapper)

    def is_fs_call(func):
        owner = getattr(func, "__self__", None)
        if func.__name__ == "write":
            return isinstance(owner, FILES)
        return func.__name__ in FS_CALLS and getattr(owner, "__name__", "") in ("posix", "io", "builtins")

    def problems(out):
        found = []
        verdicts = set()
        for path in out.iterdir():
            if path.name.startswith("."):
                continue  # temporary leftovers are hidden, never under an output's name
            data = path.read_bytes()
            if path.name == "results.json":
                check = verify_results(data)
                if not check.ok:
                    found.append(f"results.json incomplete: {check.reason}")
                verdicts.add(json.loads(data)["verdict"])
            elif path.name == "junit.xml":
                try:
                    root = ET.fromstring(data)
                    verdicts.add(root.find("testsuite/properties/property[@name='verdict']").get("value"))
                except ET.ParseError as exc:
                    found.append(f"junit.xml incomplete: {exc}")
            elif path.name == "summary.md":
                text = data.decode()
                if not text.endswith("</details>\\n"):
                    found.append("summary.md incomplete")
                verdicts.add("fail" if "FAIL" in text.splitlines()[0] else "pass")
        if len(verdicts) > 1:
            found.append(f"files of two runs side by side: {sorted(verdicts)}")
        if (out / RUN_MANIFEST).exists():
            found += [f"manifest: {p}" for p in check_run_manifest(out)]
        return found

    report, point = [], 1
    while True:
        out = Path(f"{template}-{point}")
        shutil.copytree(template, out, symlinks=True)
        pid = os.fork()
        if pid == 0:
            count = [0]
            def profile(frame, event, arg):
                if event == "c_call" and is_fs_call(arg):
                    count[0] += 1
                    if count[0] == point:
                        os.kill(os.getpid(), signal.SIGKILL)
            sys.setprofile(profile)
            write_outputs(new, out, overwrite=True)
            sys.setprofile(None)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        report.append({"point": point, "killed": killed, "problems": problems(out)})
        shutil.rmtree(out)
        if not killed or point > 400:
            break
        point += 1
    print(json.dumps(report))
    """
)


@pytest.mark.slow
def test_sigkill_at_any_write_never_leaves_a_complete_looking_file(frames, tmp_path):
    """Kill a writer (SIGKILL) at every file-system call of one write_outputs in turn; after each kill
    every file under an output's name is complete, no two runs' files sit side by side, and a run
    manifest, when present, matches every file it lists."""
    template = tmp_path / "out"
    old = _gate(frames, tmp_path, template)  # a complete PASS run: what the writer replaces
    new = _gate(frames, tmp_path, tmp_path / "new", threshold=0.0001)  # a FAIL run
    script = tmp_path / "killer.py"
    script.write_text(_KILLER)
    args = [sys.executable, str(script), str(template), str(old.files["results.json"]), str(new.files["results.json"])]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, env=os.environ.copy())
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(report) > 10 and not report[-1]["killed"]  # every kill point reached, then a clean finish
    bad = [entry for entry in report if entry["problems"]]
    assert not bad, bad[:3]


def _unprivileged(command: list[str]) -> list[str]:
    """Root ignores file modes: drop the capabilities that bypass them (util-linux setpriv)."""
    if os.getuid() != 0:
        return command
    import shutil

    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv (util-linux): file modes cannot be enforced")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]


_READ_ONLY = textwrap.dedent(
    """
    import json, sys
    from typer.testing import CliRunner
    from qaharness.cli import app
    real, synthetic, policy, locked, store = sys.argv[1:6]
    runner = CliRunner()
    out = {}
    base = ["gate", "--real", real, "--synthetic", synthetic, "--policy", policy]
    r = runner.invoke(app, [*base, "--out", locked + "/out", "--no-store"])
    out["out"] = [r.exit_code, r.output]
    r = runner.invoke(app, [*base, "--out", sys.argv[6], "--store", store])
    out["store"] = [r.exit_code, r.output]
    print(json.dumps(out))
    """
)


@pytest.mark.slow
def test_read_only_out_and_store_are_exit_2_with_one_line(frames, tmp_path):
    real, synthetic, _ = frames
    real.to_csv(tmp_path / "real.csv", index=False)
    synthetic.to_csv(tmp_path / "synthetic.csv", index=False)
    locked, store_dir = tmp_path / "locked", tmp_path / "store"
    locked.mkdir()
    store_dir.mkdir()
    store = store_dir / "runs.duckdb"
    RunStore(store)._retry(False, lambda con: None)  # an existing store …
    script = tmp_path / "ro.py"
    script.write_text(_READ_ONLY)
    args = [
        sys.executable,
        str(script),
        str(tmp_path / "real.csv"),
        str(tmp_path / "synthetic.csv"),
        str(_policy(tmp_path)),
        str(locked),
        str(store),
        str(tmp_path / "writable"),
    ]
    store.chmod(0o444)  # … made read-only, in a read-only folder
    for folder in (locked, store_dir):
        folder.chmod(0o555)
    try:
        done = subprocess.run(_unprivileged(args), capture_output=True, text=True, timeout=300)
    finally:
        for folder in (locked, store_dir):
            folder.chmod(0o755)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    for key, needle in (("out", "locked/out"), ("store", "runs.duckdb")):
        code, output = result[key]
        assert code == 2, (key, output)
        assert output.count("\n") == 1 and needle in output and "Traceback" not in output, (key, output)
    assert not (tmp_path / "writable").exists()  # refused before any work


_HOLDER = textwrap.dedent(
    """
    import sys, time, duckdb
    from qaharness.store import RunStore
    store = RunStore(sys.argv[1])
    store._retry(False, lambda con: None)  # create the store (schema, meta) first
    con = duckdb.connect(sys.argv[1])  # then hold its write lock
    print("locked", flush=True)
    time.sleep(120)
    """
)


@pytest.mark.slow
def test_busy_store_keeps_the_outputs_and_says_how_to_record_them(frames, tmp_path):
    store = tmp_path / "runs.duckdb"
    script = tmp_path / "holder.py"
    script.write_text(_HOLDER)
    holder = subprocess.Popen([sys.executable, str(script), str(store)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        out = tmp_path / "out"
        with pytest.raises(StoreBusyError) as caught:
            _gate(frames, tmp_path, out, record=True, store=store, store_timeout=1.0)
        message = str(caught.value)
        assert "stayed locked" in message and f"qaharness runs record {out}" in message
        assert check_run_manifest(out) == [] and caught.value.result.verdict == "pass"
    finally:
        holder.kill()
        holder.wait()
    recorded = runner.invoke(app, ["runs", "record", str(out), "--store", str(store)])
    assert recorded.exit_code == 0, recorded.output
    runs = RunStore(store).list_runs()
    assert len(runs) == 1 and runs.verdict.iloc[0] == "pass"


def test_runs_record_refuses_an_incomplete_folder(frames, tmp_path):
    out = tmp_path / "out"
    _gate(frames, tmp_path, out)
    (out / RUN_MANIFEST).unlink()
    result = runner.invoke(app, ["runs", "record", str(out), "--store", str(tmp_path / "runs.duckdb")])
    assert result.exit_code == 1 and "did not finish" in result.output
