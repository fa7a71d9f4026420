"""`qaharness app`: the streamlit command line it runs and the store it passes."""

from __future__ import annotations

import sys

import pytest
from typer.testing import CliRunner

from qaharness.app._serve import MAIN_SCRIPT, streamlit_command
from qaharness.cli import app, dashboard


@pytest.fixture
def calls(monkeypatch):
    seen = []

    def fake_run(command, env):
        seen.append((command, env))
        return 0

    monkeypatch.setattr(dashboard, "_run", fake_run)
    return seen


def test_app_runs_streamlit_headless_on_the_given_store(calls, tmp_path):
    store = tmp_path / "demo" / "runs.duckdb"
    store.parent.mkdir()
    store.touch()
    result = CliRunner().invoke(app, ["app", "--store", str(store.parent), "--port", "8765", "--reviewers", "a@b.org"])
    assert result.exit_code == 0, result.output
    ((command, env),) = calls
    assert command[:5] == [sys.executable, "-m", "streamlit", "run", str(MAIN_SCRIPT)]
    assert MAIN_SCRIPT.is_file()
    flags = dict(zip(command[5::2], command[6::2]))
    assert flags["--server.headless"] == "true" and flags["--browser.gatherUsageStats"] == "false"
    assert flags["--server.port"] == "8765" and flags["--server.address"] == "127.0.0.1"
    assert env["QAHARNESS_STORE"] == str(store.resolve()) and env["QAHARNESS_REVIEWERS"] == "a@b.org"
    assert "http://127.0.0.1:8765" in result.output


def test_app_on_a_missing_store_still_starts_and_says_so(calls, tmp_path):
    result = CliRunner().invoke(app, ["app", "--store", str(tmp_path / "new.duckdb")])
    assert result.exit_code == 0 and "no run store" in result.output
    assert calls[0][1]["QAHARNESS_STORE"] == str(tmp_path / "new.duckdb")


def test_app_rejects_a_folder_without_a_store_and_a_bad_port(calls, tmp_path):
    result = CliRunner().invoke(app, ["app", "--store", str(tmp_path)])
    assert result.exit_code == 2 and "runs.duckdb" in result.output
    assert CliRunner().invoke(app, ["app", "--port", "0"]).exit_code == 2
    assert not calls


def test_streamlit_exit_code_is_passed_on(monkeypatch):
    monkeypatch.setattr(dashboard, "_run", lambda command, env: 4)
    assert CliRunner().invoke(app, ["app"]).exit_code == 4
    assert "--server.headless" in streamlit_command(8501)
