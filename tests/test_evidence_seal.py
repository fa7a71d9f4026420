"""Sealed results.json and report PDFs that carry them (issue 17, "Forgery").

A results.json edited from FAIL to PASS must not render, sign or verify; a signed PDF must hold
exactly one revision and one signature, and the results.json attached to it must carry a seal
that verifies against the same trust root.
"""

from __future__ import annotations

import io
import json

import pytest
from _report_fixtures import build_run
from typer.testing import CliRunner

from qaharness.cli import app
from qaharness.errors import VerificationError
from qaharness.keys import init_keys, key_paths, load_signer
from qaharness.reports import render_reports
from qaharness.reports.sign import attached_results, finish_pdf, verify_pdf
from qaharness.results import Run
from qaharness.seal import seal_run, verify_results

runner = CliRunner()


@pytest.fixture(scope="module")
def fail_run() -> Run:
    run = build_run(ticket="DATA-42")
    assert run.verdict == "fail"
    return run


def _edit_to_pass(path):
    data = json.loads(path.read_text())
    data["verdict"] = "pass"
    for rule in data["rules"]:
        rule["status"] = "pass"
    path.write_text(json.dumps(data, indent=2))


def test_written_results_are_sealed_and_an_edit_breaks_the_seal(tmp_path, fail_run):
    path = fail_run.write(tmp_path)
    check = verify_results(path)
    assert check.ok and check.verdict == "fail" and "qaharness report signer" in check.signer
    data = json.loads(path.read_text())
    assert data["seal"]["inputs"] == {name: info["sha256"] for name, info in data["inputs"].items()}
    _edit_to_pass(path)
    broken = verify_results(path)
    assert not broken.ok and broken.reason.startswith("seal broken")


def test_seal_covers_the_input_hashes(tmp_path, fail_run):
    path = fail_run.write(tmp_path)
    data = json.loads(path.read_text())
    data["inputs"]["real"]["sha256"] = "0" * 64  # claim other input files
    assert not verify_results(data).ok


def test_seal_by_an_untrusted_signer_is_refused(tmp_path, fail_run):
    init_keys()  # the local CA
    other = init_keys(tmp_path / "other")
    path = seal_run(fail_run, signer=load_signer(other.folder)).write(tmp_path / "run")
    check = verify_results(path)  # trust root: the local CA, not the other one
    assert not check.ok and "does not chain" in check.reason
    assert verify_results(path, trust=other.ca_cert).ok


def test_report_refuses_an_edited_results_json_naming_it(tmp_path, fail_run):
    path = fail_run.write(tmp_path)
    _edit_to_pass(path)
    for args in (["--format", "html"], ["--format", "pdf", "--sign"]):
        result = runner.invoke(app, ["report", str(tmp_path), *args])
        assert result.exit_code == 1, result.output
        assert "results.json" in result.output and "seal broken" in result.output
    assert not list(tmp_path.glob("report*"))


def test_report_refuses_unsealed_results(tmp_path, fail_run):
    fail_run.write(tmp_path, seal=False)
    with pytest.raises(VerificationError, match="not sealed"):
        render_reports(tmp_path, ["html"])


@pytest.mark.slow
def test_signed_report_attaches_the_sealed_results_and_verify_checks_it(tmp_path, fail_run):
    path = fail_run.write(tmp_path)
    written = render_reports(tmp_path, ["pdf"], sign=True)
    pdf = written["pdf"]
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(pdf.read_bytes()))
    assert attached_results(reader) == path.read_bytes()
    assert reader.xrefs.total_revisions == 1 and len(reader.embedded_signatures) == 1
    result = runner.invoke(app, ["verify", str(pdf)])
    assert result.exit_code == 0, result.output
    assert "attached results.json sealed and trusted" in result.output and "verdict FAIL" in result.output
    assert (tmp_path / "run-manifest.json").exists() is False  # a bare Run.write folder has none


@pytest.mark.slow
def test_a_validly_signed_pdf_with_forged_results_attached_fails(tmp_path, fail_run):
    """The signer signs whatever it is given; verify still checks the attachment's own seal."""
    path = fail_run.write(tmp_path)
    _edit_to_pass(path)
    from weasyprint import HTML

    draft = HTML(string="<h1>PASS</h1>").write_pdf()
    pdf = finish_pdf(draft, tmp_path / "forged.pdf", results_json=path.read_bytes(), signer=load_signer())
    outcome = verify_pdf(pdf)
    assert not outcome.ok and "attached results.json: seal broken" in outcome.reason


@pytest.mark.slow
def test_incremental_edit_re_signed_with_the_trusted_key_is_rejected(tmp_path, fail_run):
    fail_run.write(tmp_path)
    pdf = render_reports(tmp_path, ["pdf"], sign=True)["pdf"]
    from pyhanko.pdf_utils.generic import NumberObject
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    with pdf.open("rb") as handle:
        writer = IncrementalPdfFileWriter(handle, strict=False)
        page = writer.root["/Pages"]["/Kids"][0].get_object()
        page["/Rotate"] = NumberObject(90)  # a change to the page, not form filling
        writer.update_container(page)
        meta = signers.PdfSignatureMetadata(field_name="Second", subfilter=fields.SigSeedSubFilter.PADES)
        edited = signers.sign_pdf(writer, meta, signer=load_signer())
    forged = tmp_path / "re-signed.pdf"
    forged.write_bytes(edited.getvalue())
    outcome = verify_pdf(forged)
    assert not outcome.ok and "2 signatures" in outcome.reason
    allowed = verify_pdf(forged, allow_revisions=True)
    assert not allowed.ok and "changes beyond form filling" in allowed.reason
    assert runner.invoke(app, ["verify", str(forged), "--allow-revisions"]).exit_code == 1


def test_key_paths_default_to_home(tmp_path):
    assert key_paths().folder.name == "keys"
