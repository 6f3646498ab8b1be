"""`rogatory client seal` for experts: .p12 and encrypted keys, one-line errors, Windows."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from browser_support import make_p12
from cryptography.hazmat.primitives import serialization
from process_support import REPO, settings_env

from gateway.crypto import keyfiles, open_submission
from gateway.crypto.keyfiles import load_private_key
from gateway.domain.submission import parse_submission
from gateway.runtime.container import build_runtime

FIXTURE = REPO / "tests" / "fixtures" / "mla_request.json"


@pytest.fixture
def pki(make_settings):
    settings = make_settings()
    return settings, settings.keys_dir / "dev-pki"


def _seal(settings, *args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "gateway", "client", "seal", str(FIXTURE), *map(str, args),
         "--gateway-cert", str(settings.keys_dir / "dev-pki" / "gateway-intake.pem"),
         "--gateway-id", settings.gateway_id],
        cwd=REPO, env={**settings_env(settings), **(env or {})},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def _opens(settings, path):
    rt = build_runtime(settings)
    try:
        verified = open_submission(
            path.read_bytes(), rt.keys.intake, rt.trust(), now=datetime.now(UTC)
        )
    finally:
        rt.close()
    return parse_submission(verified.content)


def _one_line_refusal(result, words):
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error[key-file]: "), lines[0]
    assert words in lines[0]
    assert "Traceback" not in result.stderr


def test_seal_with_a_p12_and_its_password(pki, tmp_path):
    settings, directory = pki
    p12 = make_p12(directory, "magistrate-rsa", "p12-pass", out=tmp_path / "me.p12")
    out = tmp_path / "ROT-2026-00123.p7m"
    (tmp_path / "pw").write_text("p12-pass\n")
    result = _seal(settings, "--p12", p12, "--password-file", tmp_path / "pw", "-o", out)
    assert result.returncode == 0, result.stderr
    assert _opens(settings, out).request["case_reference"] == "ROT-2026-00123"
    wrong = _seal(settings, "--p12", p12, "-o", out, env={"ROGATORY_KEY_PASSWORD": "nope"})
    _one_line_refusal(wrong, "the password does not open me.p12")
    missing = _seal(settings, "--p12", p12, "-o", out)
    _one_line_refusal(missing, "protected by a password")
    # an old export (RC2/3DES, SHA-1 MAC), which browsers cannot open, works here
    old_p12 = make_p12(
        directory, "magistrate-rsa", "p12-pass", out=tmp_path / "old.p12", legacy=True
    )
    result = _seal(settings, "--p12", old_p12, "--password-file", tmp_path / "pw", "-o", out)
    assert result.returncode == 0, result.stderr
    assert _opens(settings, out).request["case_reference"] == "ROT-2026-00123"


def test_seal_with_an_encrypted_pem_key(pki, tmp_path):
    settings, directory = pki
    key = load_private_key(directory / "magistrate-ec.key")
    encrypted = tmp_path / "me.key"
    keyfiles.write_private_file(
        encrypted,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"pem-pass"),
        ),
    )
    cert = directory / "magistrate-ec.pem"
    out = tmp_path / "sealed.p7m"
    no_password = _seal(settings, "--key", encrypted, "--cert", cert, "-o", out)
    _one_line_refusal(no_password, "me.key is encrypted")
    good = _seal(
        settings, "--key", encrypted, "--cert", cert, "-o", out,
        env={"ROGATORY_KEY_PASSWORD": "pem-pass"},
    )  # fmt: skip
    assert good.returncode == 0, good.stderr
    assert _opens(settings, out).message_id


def test_key_readable_by_others_is_one_line_with_the_fix(pki, tmp_path):
    settings, directory = pki
    loose = tmp_path / "loose.key"
    shutil.copy(directory / "magistrate-rsa.key", loose)
    os.chmod(loose, 0o644)
    result = _seal(
        settings, "--key", loose, "--cert", directory / "magistrate-rsa.pem",
        "-o", tmp_path / "x.p7m",
    )  # fmt: skip
    _one_line_refusal(result, f"chmod 600 {loose}")


def test_no_posix_mode_check_on_windows(tmp_path, monkeypatch):
    loose = tmp_path / "loose.key"
    loose.write_bytes(b"key")
    os.chmod(loose, 0o644)
    with pytest.raises(PermissionError):
        keyfiles.check_private_file_mode(loose)
    monkeypatch.setattr(keyfiles.os, "name", "nt")
    keyfiles.check_private_file_mode(loose)  # ACLs decide on Windows: no refusal
