"""Signing keys kept off the disk in the clear: a passphrase, or a PKCS#11 token (SoftHSM2) (issue 17, "Keys")."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from _report_fixtures import build_run
from typer.testing import CliRunner

from qaharness.cli import app
from qaharness.errors import BadInputError
from qaharness.keys import PASSPHRASE_ENV, init_keys, load_signer
from qaharness.seal import verify_results

runner = CliRunner()
SOFTHSM_MODULES = ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")


def test_passphrase_encrypts_the_private_keys_and_is_needed_to_sign(tmp_path, monkeypatch):
    monkeypatch.setenv(PASSPHRASE_ENV, "correct horse")
    result = runner.invoke(app, ["keys", "init", "--keys", str(tmp_path / "k")])
    assert result.exit_code == 0 and "encrypted with $QAHARNESS_KEY_PASSPHRASE" in result.output
    for name in ("signer-key.pem", "ca-key.pem"):
        assert (tmp_path / "k" / name).read_text().startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    path = build_run().write(tmp_path / "run", keys=tmp_path / "k")
    assert verify_results(path, trust=tmp_path / "k" / "ca.pem").ok
    monkeypatch.delenv(PASSPHRASE_ENV)
    with pytest.raises(BadInputError, match=r"encrypted; set \$QAHARNESS_KEY_PASSPHRASE"):
        load_signer(tmp_path / "k")
    monkeypatch.setenv(PASSPHRASE_ENV, "wrong")
    with pytest.raises(BadInputError, match="wrong"):
        load_signer(tmp_path / "k")


def test_a_gate_with_a_locked_key_fails_before_any_work(tmp_path, monkeypatch, mixed_frames):
    monkeypatch.setenv(PASSPHRASE_ENV, "s3cret")
    init_keys()
    monkeypatch.delenv(PASSPHRASE_ENV)
    from qaharness.gate import run_gate

    real, synthetic, holdout = mixed_frames
    called = []
    monkeypatch.setattr("qaharness.api.prepare_inputs", lambda *a, **k: called.append(1))
    with pytest.raises(BadInputError, match="encrypted"):
        run_gate(real, synthetic, holdout, out=tmp_path / "out", record=False)
    assert not called and not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def softhsm_token(tmp_path_factory):
    """One SoftHSM2 token labelled 'qaharness' (PIN 1234) for the module: the PKCS#11 library reads its
    configuration once per process, so every test here shares it (``keys init --pkcs11`` replaces the key)."""
    module = next((m for m in SOFTHSM_MODULES if Path(m).exists()), None)
    if shutil.which("softhsm2-util") is None or module is None:
        pytest.skip("SoftHSM2 is not installed (Debian: apt-get install softhsm2; `make install-test` does it as root)")
    pytest.importorskip("pkcs11", reason="python-pkcs11 is not installed: pip install 'qaharness[pkcs11]'")
    folder = tmp_path_factory.mktemp("softhsm")
    (folder / "tokens").mkdir()
    config = folder / "softhsm2.conf"
    config.write_text(f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    env = {"SOFTHSM2_CONF": str(config)}
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", "qaharness", "--pin", "1234", "--so-pin", "5678"],
        check=True,
        capture_output=True,
        env={**__import__("os").environ, **env},
    )
    return {**env, "QAHARNESS_PKCS11_MODULE": module, "QAHARNESS_PKCS11_PIN": "1234"}


@pytest.fixture
def softhsm(softhsm_token, monkeypatch):
    for name, value in softhsm_token.items():
        monkeypatch.setenv(name, value)
    return softhsm_token


def test_pkcs11_token_key_never_touches_the_disk_and_signs(softhsm, tmp_path):
    result = runner.invoke(app, ["keys", "init", "--pkcs11"])
    assert result.exit_code == 0, result.output
    assert "on PKCS#11 token 'qaharness'" in result.output
    from qaharness.paths import keys_dir

    assert not (keys_dir() / "signer-key.pem").exists() and (keys_dir() / "signer.pem").exists()
    path = build_run().write(tmp_path / "run")  # sealed on the token
    check = verify_results(path)
    assert check.ok, check.reason


@pytest.mark.slow
def test_pkcs11_signed_report_verifies(softhsm, tmp_path):
    result = runner.invoke(app, ["keys", "init", "--pkcs11"])
    assert result.exit_code == 0, result.output
    build_run(ticket="DATA-9").write(tmp_path)
    assert runner.invoke(app, ["report", str(tmp_path), "--format", "pdf", "--sign"]).exit_code == 0
    verified = runner.invoke(app, ["verify", str(tmp_path / "report-DATA-9.pdf")])
    assert verified.exit_code == 0, verified.output


def test_pkcs11_wrong_pin_and_unknown_token_are_bad_input(softhsm, monkeypatch):
    result = runner.invoke(app, ["keys", "init", "--pkcs11"])
    assert result.exit_code == 0, result.output
    import os
    import sys

    probe = "from qaharness.keys import load_signer\ntry:\n    load_signer()\nexcept Exception as e:\n    print(e)"
    env = {**os.environ, "QAHARNESS_PKCS11_PIN": "0000"}  # a fresh process: PKCS#11 login is per process
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert "cannot log in to token 'qaharness'" in out.stdout, out.stdout + out.stderr
    monkeypatch.setenv("QAHARNESS_PKCS11_TOKEN", "nope")
    with pytest.raises(BadInputError, match="no single PKCS#11 token labelled 'nope'"):
        load_signer()
