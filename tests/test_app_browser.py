"""End to end: `qaharness app`'s command line served headless, driven by Playwright on Debian's Chromium."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from test_app import build_store

from qaharness.app._serve import serve_env, streamlit_command
from qaharness.store import RunStore

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
_IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def chromium() -> str:
    """Debian's chromium (Playwright's own browser download does not work here); skips, saying why, without it."""
    path = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if not path:
        pytest.skip(f"browser test needs Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("browser test needs the python package playwright (pip install '.[test]')")
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, server: subprocess.Popen, log: Path, timeout: float = 40.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"streamlit exited with {server.returncode}:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                if reply.read().decode().strip() == "ok":
                    return
        except OSError:
            pass
        time.sleep(0.3)
    pytest.fail(f"streamlit not healthy after {timeout:.0f} s:\n{log.read_text()[-2000:]}")


@pytest.fixture
def served(chromium, tmp_path):
    """The dashboard on a free localhost port over a three-run store; always terminated."""
    path, ids = build_store(tmp_path)
    port = _free_port()
    log = tmp_path / "streamlit.log"
    env = serve_env(path)
    env.pop("QAHARNESS_REVIEWERS", None)
    with log.open("w") as out:
        server = subprocess.Popen(
            streamlit_command(port, "127.0.0.1"), env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path
        )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, server, log)
        yield url, RunStore(path), ids
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def test_open_a_run_and_sign_it_off(chromium, served, tmp_path):
    from playwright.sync_api import sync_playwright

    url, store, ids = served
    run_id = ids["fail"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1500})
            page.set_default_timeout(20_000)
            page.goto(f"{url}/run?run={run_id}")
            page.wait_for_selector(_IDLE)
            page.get_by_text(f"run {run_id}").first.wait_for()
            assert page.get_by_text("FAIL").first.is_visible()

            page.get_by_role("link", name="Review").first.click()
            page.get_by_text("Login is not configured").wait_for()
            page.get_by_label("Your name").fill("Ana Ruiz")
            page.get_by_text("Request changes").click()
            page.get_by_label("Comment").fill("KS on income too high; retrain the generator.")
            page.get_by_role("button", name="Submit review").click()
            page.get_by_text("recorded: Request changes by Ana Ruiz").wait_for()
            page.wait_for_selector(_IDLE)
            page.screenshot(path=str(tmp_path / "review.png"), full_page=True)
        finally:
            browser.close()
    reviews = store.reviews(run_id)
    assert reviews[["reviewer", "decision", "comment"]].values.tolist() == [
        ["Ana Ruiz", "request_changes", "KS on income too high; retrain the generator."]
    ]
    assert (tmp_path / "review.png").stat().st_size > 10_000
