"""Downloads on the Run page: only recorded artifacts whose sha256 still matches, found by absolute or
store-relative path, and a PDF called signed only after its signature verifies."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import pytest
from _app_fixtures import build_store
from streamlit.testing.v1 import AppTest

from qaharness.app._artifacts import find_artifact, pdf_label, resolve_artifact
from qaharness.store import RunStore

MAIN = str(resources.files("qaharness.app") / "main.py")


@pytest.fixture
def built(tmp_path, monkeypatch) -> tuple[Path, dict[str, str]]:
    """A store of its own (these tests move and edit the recorded files)."""
    folder = tmp_path / "outputs"
    folder.mkdir()
    path, ids = build_store(folder)
    monkeypatch.setenv("QAHARNESS_TRUST", str(folder / "keys" / "ca.pem"))
    monkeypatch.delenv("QAHARNESS_REVIEWERS", raising=False)
    return path, ids


def _run_page(store: Path, run_id: str, monkeypatch) -> AppTest:
    monkeypatch.setenv("QAHARNESS_STORE", str(store))
    at = AppTest.from_file(MAIN, default_timeout=30)
    at.query_params["run"] = run_id
    at.run()
    at.switch_page("page_run.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _labels(at: AppTest) -> list[str]:
    return [d.proto.label for d in at.get("download_button")]


def _captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption).replace("\\", "")


def test_recorded_reports_are_offered_and_a_verified_pdf_is_called_signed(built, monkeypatch):
    store, ids = built
    at = _run_page(store, ids["pass"], monkeypatch)
    assert _labels(at) == ["results.json", "HTML report", "signed PDF (verified)"]
    assert "Signature verified against ca.pem" in _captions(at)


def test_a_pdf_that_merely_contains_byterange_is_not_called_signed(built, monkeypatch):
    store, ids = built
    at = _run_page(store, ids["fail"], monkeypatch)
    labels = _labels(at)
    assert labels == ["results.json", "HTML report", "PDF report (not verified as signed)"]
    assert "Not labelled signed" in _captions(at)


def test_without_a_trust_root_no_pdf_is_called_signed(built, monkeypatch, tmp_path):
    store, ids = built
    monkeypatch.setenv("QAHARNESS_TRUST", str(tmp_path / "no-such-ca.pem"))
    monkeypatch.setenv("QAHARNESS_HOME", str(tmp_path / "empty-home"))
    at = _run_page(store, ids["pass"], monkeypatch)
    assert _labels(at)[2] == "PDF report (signature not checked)"
    assert "--trust CA.pem" in _captions(at)


def test_a_report_changed_since_it_was_recorded_is_not_served(built, monkeypatch):
    """A later gate into the same --out overwrote the report: it is not offered as this run's."""
    store, ids = built
    html = store.parent / "gate-pass" / "report.html"
    html.write_text("<html><body>another run's report</body></html>", encoding="utf-8")
    at = _run_page(store, ids["pass"], monkeypatch)
    assert _labels(at) == ["results.json", "signed PDF (verified)"]
    captions = _captions(at)
    assert "changed since it was recorded (its sha256 differs)" in captions and "qaharness report" in captions


def test_a_report_that_is_gone_says_what_to_do(built, monkeypatch):
    store, ids = built
    (store.parent / "gate-fail" / "report.pdf").unlink()
    at = _run_page(store, ids["fail"], monkeypatch)
    assert _labels(at) == ["results.json", "HTML report"]
    captions = _captions(at)
    assert "The PDF report recorded for this run is gone" in captions
    assert "qaharness report FOLDER --format pdf --sign" in captions and f"--store {store}" in captions


def test_a_moved_store_finds_its_reports_by_relative_path(built, monkeypatch, tmp_path):
    """The store and its outputs copied elsewhere (another checkout): absolute paths fail, relative ones hold."""
    store, ids = built
    moved = tmp_path / "elsewhere"
    shutil.move(str(store.parent), moved)
    monkeypatch.setenv("QAHARNESS_TRUST", str(moved / "keys" / "ca.pem"))
    at = _run_page(moved / "runs.duckdb", ids["pass"], monkeypatch)
    assert _labels(at) == ["results.json", "HTML report", "signed PDF (verified)"]


def test_resolve_artifact_states(built, tmp_path):
    store, ids = built
    rows = RunStore(store).artifacts(ids["pass"]).to_dict("records")
    html = find_artifact(rows, ".html", store)
    assert html is not None and html.ok and html.path == store.parent / "gate-pass" / "report.html"
    assert find_artifact(rows, ".docx", store) is None
    row = next(r for r in rows if r["name"] == "report.html")
    assert resolve_artifact({**row, "sha256": None}, store).state == "unrecorded"
    assert resolve_artifact({**row, "sha256": "0" * 64}, store).state == "changed"
    gone = resolve_artifact({**row, "path": str(tmp_path / "x.html"), "relative_path": "nope.html"}, store)
    assert gone.state == "missing" and len(gone.looked_in) == 2


def test_pdf_label_runs_the_real_verification(built, tmp_path):
    store, _ = built
    signed = store.parent / "gate-pass" / "report.pdf"
    assert pdf_label(signed)[0] == "signed PDF (verified)"
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(signed.read_bytes() + b"\n% appended after signing\n")
    label, note = pdf_label(tampered)
    assert label == "PDF report (not verified as signed)" and "Not labelled signed" in note
