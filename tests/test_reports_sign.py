"""`qaharness keys init`, `report --sign` and `verify`: intact, whole-file, trusted — or exit 1 with the reason."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from _report_fixtures import build_run
from typer.testing import CliRunner

from qaharness.cli import app
from qaharness.paths import keys_dir
from qaharness.reports.sign import SIGNATURE_REASON, init_keys, sign_pdf, verify_pdf

runner = CliRunner()


def _tiny_pdf(path):
    from weasyprint import HTML

    HTML(
        string="<html><head><title>t</title></head><body><h1>Release report</h1><p>body text</p></body></html>"
    ).write_pdf(path)
    return path


@pytest.fixture
def keys(tmp_path):
    result = runner.invoke(app, ["keys", "init", "--keys", str(tmp_path / "keys")])
    assert result.exit_code == 0, result.output
    return tmp_path / "keys"


@pytest.fixture
def signed(tmp_path, keys):
    pdf = _tiny_pdf(tmp_path / "report.pdf")
    sealed = build_run().sealed(keys=keys).to_json().encode()  # a report carries its sealed results.json
    sign_pdf(pdf, keys=keys, results_json=sealed)
    return pdf


def test_keys_init_makes_ca_and_non_repudiation_p256_signer(keys):
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

    signer = x509.load_pem_x509_certificate((keys / "signer.pem").read_bytes())
    ca = x509.load_pem_x509_certificate((keys / "ca.pem").read_bytes())
    usage = signer.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.content_commitment and usage.digital_signature
    assert isinstance(signer.public_key(), ec.EllipticCurvePublicKey) and signer.public_key().curve.name == "secp256r1"
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert signer.issuer == ca.subject and signer.subject != ca.subject
    assert (keys / "signer-key.pem").stat().st_mode & 0o077 == 0


def test_keys_init_refuses_to_overwrite(keys):
    result = runner.invoke(app, ["keys", "init", "--keys", str(keys)])
    assert result.exit_code == 2 and "--force" in result.output
    assert runner.invoke(app, ["keys", "init", "--keys", str(keys), "--force"]).exit_code == 0


def test_keys_init_defaults_to_home():
    assert runner.invoke(app, ["keys", "init"]).exit_code == 0
    assert (keys_dir() / "ca.pem").exists()


def test_signed_pdf_verifies(signed, keys):
    result = runner.invoke(app, ["verify", str(signed), "--trust", str(keys / "ca.pem")])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output
    from pyhanko.pdf_utils.reader import PdfFileReader

    with signed.open("rb") as handle:
        signature = PdfFileReader(handle).embedded_signatures[0]
        assert str(signature.sig_object["/Reason"]) == SIGNATURE_REASON
        assert str(signature.sig_object["/SubFilter"]) == "/ETSI.CAdES.detached"


def test_tampered_pdf_fails_with_reason(signed, keys, tmp_path):
    data = bytearray(signed.read_bytes())
    at = data.find(b"/Producer")
    assert at > 0
    data[at + 12] ^= 0x01  # one bit inside the signed byte range
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(bytes(data))
    result = runner.invoke(app, ["verify", str(tampered), "--trust", str(keys / "ca.pem")])
    assert result.exit_code == 1
    assert "modified after signing" in result.output


def test_appended_content_fails_whole_file_check(signed, keys, tmp_path):
    appended = tmp_path / "appended.pdf"
    appended.write_bytes(signed.read_bytes() + b"\n% appended after signing\n")
    outcome = verify_pdf(appended, keys / "ca.pem")
    assert not outcome.ok and "whole file" in outcome.reason


def test_wrong_trust_root_fails(signed, tmp_path):
    other = init_keys(tmp_path / "other")  # same names, different keys
    result = runner.invoke(app, ["verify", str(signed), "--trust", str(other.ca_cert)])
    assert result.exit_code == 1
    assert "does not chain to the trust root" in result.output
    assert "Traceback" not in result.output


def test_unsigned_and_bad_input(tmp_path, keys):
    unsigned = _tiny_pdf(tmp_path / "plain.pdf")
    result = runner.invoke(app, ["verify", str(unsigned), "--trust", str(keys / "ca.pem")])
    assert result.exit_code == 1 and "no signature" in result.output
    not_pdf = tmp_path / "x.pdf"
    not_pdf.write_text("hello")
    assert runner.invoke(app, ["verify", str(not_pdf), "--trust", str(keys / "ca.pem")]).exit_code == 2
    assert runner.invoke(app, ["verify", str(tmp_path / "missing.pdf")]).exit_code == 2
    garbage = tmp_path / "ca.pem"
    garbage.write_text("not a certificate")
    assert runner.invoke(app, ["verify", str(unsigned), "--trust", str(garbage)]).exit_code == 2
    # no --trust and no local keys: bad input naming the fix
    result = runner.invoke(app, ["verify", str(unsigned)])
    assert result.exit_code == 2 and "keys init" in result.output


@pytest.mark.slow
def test_report_command_signs_with_ticket_and_pdfsig_agrees(tmp_path):
    assert runner.invoke(app, ["keys", "init"]).exit_code == 0
    run_dir = tmp_path / "run"
    build_run(ticket="DATA-42").write(run_dir)
    result = runner.invoke(app, ["report", str(run_dir), "--format", "pdf", "--sign"])
    assert result.exit_code == 0, result.output
    pdf = run_dir / "report-DATA-42.pdf"
    assert pdf.exists() and not (run_dir / "report.html").exists()
    verified = runner.invoke(app, ["verify", str(pdf)])  # trust root defaults to the local CA
    assert verified.exit_code == 0 and "ticket: DATA-42" in verified.output
    if shutil.which("pdfsig") is None:
        pytest.skip("poppler-utils (pdfsig) is not installed: apt-get install poppler-utils")
    text = subprocess.run(["pdfsig", str(pdf)], capture_output=True, text=True).stdout
    assert "Signature is Valid." in text and "Total document signed" in text
    assert re.search(r"Signature Type: ETSI\.CAdES\.detached", text)


def test_report_command_bad_input(tmp_path):
    result = runner.invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2 and "results.json" in result.output
    build_run().write(tmp_path)
    assert (
        runner.invoke(
            app, ["report", str(tmp_path), "--format", "pdf", "--sign", "--keys", str(tmp_path / "none")]
        ).exit_code
        == 2
    )
    assert runner.invoke(app, ["report", str(tmp_path), "--format", "html", "--ticket", "a b"]).exit_code == 2


def test_ensure_keys_creates_once(tmp_path):
    from qaharness.reports.sign import ensure_keys

    first = ensure_keys(tmp_path / "k")
    before = first.ca_cert.read_bytes()
    assert ensure_keys(tmp_path / "k").ca_cert.read_bytes() == before  # not replaced
