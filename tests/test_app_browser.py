"""End to end: the real `qaharness app` command, started from the repository root and from another folder,
driven by Playwright on Debian's Chromium: every page opened, the HTML report downloaded, a Reject submitted
after a validation error, nothing fetched from outside localhost. Screenshots of every page are kept under
the test's tmp folder (the path is printed in pytest's summary)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest
from _app_fixtures import build_store

from qaharness.store import RunStore

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
REPO = Path(__file__).resolve().parents[1]
_IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
#: every visible table has drawn its canvas and every visible chart its SVG
_DRAWN = """() => [...document.querySelectorAll('[data-testid="stDataFrame"], [data-testid="stPlotlyChart"]')]
  .filter(e => e.offsetParent !== null).every(e => e.querySelector('canvas, svg'))"""

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


def _qaharness() -> list[str]:
    script = Path(sys.executable).parent / "qaharness"
    if not script.exists():
        pytest.skip(f"the qaharness console script is not installed beside {sys.executable}")
    return [str(script)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, server: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"qaharness app exited with {server.returncode}:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                if reply.read().decode().strip() == "ok":
                    return
        except OSError:
            pass
        time.sleep(0.3)
    pytest.fail(f"streamlit not healthy after {timeout:.0f} s:\n{log.read_text()[-2000:]}")


def _serve(cwd: Path, store: Path, ca: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """``qaharness app --store <store relative to cwd>`` started in ``cwd``, as a user would type it."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QAHARNESS_") or k == "QAHARNESS_HOME"}
    command = [*_qaharness(), "app", "--store", os.path.relpath(store, cwd), "--port", str(port), "--trust", str(ca)]
    with log.open("w") as out:
        server = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    return server, f"http://127.0.0.1:{port}"


def _stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


class _Shots:
    def __init__(self, page, folder: Path):
        self.page, self.folder, self.count = page, folder, 0
        folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, name: str) -> None:
        self.page.wait_for_selector(_IDLE)
        self.page.wait_for_function(_DRAWN, timeout=30_000)  # tables draw on a canvas after the script run
        self.page.wait_for_timeout(300)
        assert self.page.locator('[data-testid="stException"]').count() == 0, f"an exception on {name}"
        assert "ModuleNotFoundError" not in self.page.content()
        self.count += 1
        self.page.screenshot(path=str(self.folder / f"{self.count:02d}-{name}.png"), full_page=True)


def _outside_localhost(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme not in ("data", "blob", "about") and parsed.hostname not in ("127.0.0.1", "localhost")


@pytest.mark.parametrize("where", ["repository root", "another folder"])
def test_dashboard_end_to_end(chromium, tmp_path, where, record_property):
    from playwright.sync_api import sync_playwright

    outputs = tmp_path / "outputs"
    outputs.mkdir()
    store, ids = build_store(outputs)
    cwd = REPO if where == "repository root" else tmp_path / "elsewhere"
    cwd.mkdir(exist_ok=True)
    shots_dir = tmp_path / "screenshots" / where.replace(" ", "-")
    record_property("screenshots", str(shots_dir))
    server, url = _serve(cwd, store, outputs / "keys" / "ca.pem", tmp_path / "app.log")
    outside: list[str] = []
    try:
        _wait_healthy(url, server, tmp_path / "app.log")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
            try:
                context = browser.new_context(viewport={"width": 1400, "height": 1800}, accept_downloads=True)

                def guard(route):
                    if _outside_localhost(route.request.url):
                        outside.append(route.request.url)
                        return route.abort()
                    return route.continue_()

                context.route("**/*", guard)
                page = context.new_page()
                page.set_default_timeout(30_000)
                _walk(page, url, ids, _Shots(page, shots_dir), tmp_path, store, tour=where == "another folder")
            finally:
                browser.close()
    finally:
        _stop(server)
    assert not outside, f"the dashboard fetched from outside localhost: {sorted(set(outside))}"
    log = (tmp_path / "app.log").read_text()
    assert "login is not configured" in log
    reviews = RunStore(store).reviews(ids["fail"])
    assert reviews[["reviewer", "decision", "comment"]].values.tolist() == [
        ["Ana Ruiz", "reject", "KS on income too high; retrain the generator."]
    ]
    assert len(list(shots_dir.glob("*.png"))) >= (12 if where == "another folder" else 4)


def _walk(page, url: str, ids: dict[str, str], shot: _Shots, tmp_path: Path, store: Path, *, tour: bool) -> None:
    """Open a run, download its HTML report, Reject it after a validation error; ``tour``: every page too."""
    run_id = ids["fail"]
    if tour:
        page.goto(url)
        page.get_by_text("Trend of key metrics").wait_for()
        shot("runs")

    page.goto(f"{url}/run?run={run_id}")
    page.get_by_text("rules failed:").first.wait_for()
    page.get_by_text("FAIL", exact=True).first.wait_for(state="visible")
    shot("run-rules")
    with page.expect_download() as download:
        page.get_by_role("button", name="HTML report").click()
    saved = tmp_path / "downloaded-report.html"
    download.value.save_as(saved)
    assert saved.read_bytes() == (store.parent / "gate-fail" / "report.html").read_bytes()
    assert page.get_by_role("button", name="PDF report (not verified as signed)").is_visible()
    if tour:
        _tour(page, url, ids, shot)

    page.goto(f"{url}/review?run={run_id}")
    page.get_by_text("Login is not configured").wait_for()
    page.get_by_label("Your name").fill("Ana Ruiz")
    page.get_by_text("Reject", exact=True).click()
    page.get_by_role("button", name="Submit review").click()
    page.get_by_text("Say why in the comment").wait_for()
    shot("review-validation-error")
    assert page.get_by_role("radio", name="Reject").is_checked(), "the decision must survive the error"
    assert page.get_by_label("Your name").input_value() == "Ana Ruiz"
    page.get_by_label("Comment").fill("KS on income too high; retrain the generator.")
    page.get_by_role("button", name="Submit review").click()
    page.get_by_text("About to record:").wait_for()
    shot("review-confirmation")
    assert RunStore(store).reviews(run_id).empty, "nothing is recorded before the confirmation"
    page.get_by_role("button", name="Confirm and record").click()
    page.get_by_text("recorded: Reject by Ana Ruiz").wait_for()
    shot("review-recorded")


def _tour(page, url: str, ids: dict[str, str], shot: _Shots) -> None:
    """The Run page's other tabs, a signed run, Compare and Policies."""
    for tab in ("Metrics", "Per column", "Privacy", "Provenance", "Reviews"):
        page.get_by_role("tab", name=tab).click()
        shot(f"run-{tab.lower().replace(' ', '-')}")
    page.goto(f"{url}/run?run={ids['pass']}")
    page.get_by_role("button", name="signed PDF (verified)").wait_for()
    shot("run-pass-signed-pdf")
    page.goto(f"{url}/compare?runs={ids['pass']},{ids['fail']}")
    page.get_by_text("Rule by rule").wait_for()
    shot("compare")
    page.goto(f"{url}/policies")
    page.get_by_text("Why each rule").first.wait_for()
    shot("policies")
