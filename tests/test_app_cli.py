"""`qaharness app`: the streamlit command line it runs, the store it passes, and what it says about sign-off."""

from __future__ import annotations

import sys

import pytest
from typer.testing import CliRunner

from qaharness.app._serve import MAIN_SCRIPT, login_configured, streamlit_command
from qaharness.cli import app, dashboard


@pytest.fixture
def calls(monkeypatch, tmp_path):
    """``_run`` replaced (nothing is served); the working folder and home have no secrets.toml."""
    seen = []

    def fake_run(command, env):
        seen.append((command, env))
        return 0

    monkeypatch.setattr(dashboard, "_run", fake_run)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("QAHARNESS_INSECURE_OPEN_REVIEW", raising=False)
    return seen


def _login_here(folder) -> None:
    (folder / ".streamlit").mkdir()
    (folder / ".streamlit" / "secrets.toml").write_text(
        '[auth]\nredirect_uri = "http://localhost:8501/oauth2callback"\ncookie_secret = "x"\n', encoding="utf-8"
    )


def test_app_runs_streamlit_headless_on_the_given_store(calls, tmp_path):
    _login_here(tmp_path)
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
    assert "QAHARNESS_INSECURE_OPEN_REVIEW" not in env
    assert "http://127.0.0.1:8765" in result.output and "login: OIDC configured" in result.output


def test_without_login_it_says_anyone_can_sign_off(calls, tmp_path):
    result = CliRunner().invoke(app, ["app", "--store", str(tmp_path / "new.duckdb")])
    assert result.exit_code == 0, result.output
    assert "login is not configured" in result.output and "anyone who opens the dashboard can sign off" in result.output


def test_reviewers_without_login_are_refused_unless_open_review_is_asked_for(calls, tmp_path):
    refused = CliRunner().invoke(app, ["app", "--store", str(tmp_path / "s.duckdb"), "--reviewers", "a@b.org"])
    assert refused.exit_code == 2 and "--reviewers" in refused.output and "--insecure-open-review" in refused.output
    assert not calls
    accepted = CliRunner().invoke(
        app, ["app", "--store", str(tmp_path / "s.duckdb"), "--reviewers", "a@b.org", "--insecure-open-review"]
    )
    assert accepted.exit_code == 0, accepted.output
    assert "not verified" in accepted.output
    assert calls[0][1]["QAHARNESS_INSECURE_OPEN_REVIEW"] == "1" and calls[0][1]["QAHARNESS_REVIEWERS"] == "a@b.org"


def test_login_is_found_in_the_working_folders_secrets(calls, tmp_path):
    assert login_configured(tmp_path) is None
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text("[qaharness]\nreviewers = []\n", encoding="utf-8")
    assert login_configured(tmp_path) is None, "an allow-list is not login"
    (tmp_path / ".streamlit" / "secrets.toml").write_text("[auth]\nclient_id = 'x'\n", encoding="utf-8")
    assert login_configured(tmp_path) == tmp_path / ".streamlit" / "secrets.toml"


def test_trust_root_is_passed_and_checked(calls, tmp_path):
    missing = CliRunner().invoke(app, ["app", "--trust", str(tmp_path / "nope.pem")])
    assert missing.exit_code == 2 and "trust root not found" in missing.output
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    assert CliRunner().invoke(app, ["app", "--trust", str(ca)]).exit_code == 0
    assert calls[-1][1]["QAHARNESS_TRUST"] == str(ca.resolve())


def test_app_on_a_missing_store_still_starts_and_says_so(calls, tmp_path):
    result = CliRunner().invoke(app, ["app", "--store", str(tmp_path / "new.duckdb")])
    assert result.exit_code == 0 and "no run store" in result.output
    assert calls[0][1]["QAHARNESS_STORE"] == str(tmp_path / "new.duckdb")


def test_app_rejects_a_folder_without_a_store_and_a_bad_port(calls, tmp_path):
    result = CliRunner().invoke(app, ["app", "--store", str(tmp_path)])
    assert result.exit_code == 2 and "runs.duckdb" in result.output
    assert CliRunner().invoke(app, ["app", "--port", "0"]).exit_code == 2
    assert not calls


def test_streamlit_exit_code_is_passed_on(calls, monkeypatch):
    monkeypatch.setattr(dashboard, "_run", lambda command, env: 4)
    assert CliRunner().invoke(app, ["app"]).exit_code == 4
    assert "--server.headless" in streamlit_command(8501)
