"""`rogatory doctor`, and the done-when script: an installation with an openssl-made PKI
following keys/README.md, then one openssl-made request accepted."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from ops_support import REPO, ROGATORY, RSA_ENCRYPTION, Cli, OperatorPki, root_ca, write_cert

from gateway.config import load_settings
from gateway.runtime.broker import stop_embedded_broker


def _lines(out: str) -> list[tuple[str, str]]:
    parsed = []
    for line in out.splitlines():
        status, rest = line.split(maxsplit=1)
        assert status in {"ok", "warn", "fail"}, line
        parsed.append((status, rest))
    return parsed


def test_doctor_reports_each_dependency_and_passes_on_a_good_installation(
    installed: Callable[[], Cli],
) -> None:
    cli = installed()
    code, out, err = cli("doctor")
    assert code == 0, out + err
    lines = _lines(out)
    names = {rest.split(":")[0] for _, rest in lines}
    assert {
        "database",
        "broker",
        "object store",
        "keys",
        "CRLs",
        "translation",
        "fonts",
        "disk",
    } <= names
    assert ("warn", "broker: embedded broker not running (serve and worker start it)") in lines
    assert all(status != "fail" for status, _ in lines)


def test_doctor_fails_on_a_readable_key_and_on_missing_migrations(
    installed: Callable[[], Cli], pki: OperatorPki
) -> None:
    cli = installed()
    key = next(cli.keys_dir.glob("intake-*.key"))
    os.chmod(key, 0o640)
    code, out, _ = cli("doctor")
    assert code == 1
    failed = [rest for status, rest in _lines(out) if status == "fail"]
    assert len(failed) == 1
    assert failed[0].startswith("keys: ")
    assert "must be 0600" in failed[0]
    os.chmod(key, 0o600)
    (cli.data_dir / "rogatory.sqlite3").unlink()
    code, out, _ = cli("doctor")
    assert code == 1
    assert any(
        status == "fail" and rest.startswith("database: ") and "migrations missing" in rest
        for status, rest in _lines(out)
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_install_script_with_an_openssl_pki_gets_an_openssl_request_accepted(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROGATORY_")}
    env.update(ROGATORY=str(ROGATORY), PORT=str(_free_port()))
    work = tmp_path / "install"
    try:
        result = subprocess.run(
            ["bash", str(REPO / "scripts" / "install-with-own-pki.sh"), str(work)],
            capture_output=True, text=True, timeout=600, env=env, check=False,
        )  # fmt: skip
    finally:
        stop_embedded_broker(load_settings({}, overrides={"data_dir": str(work / "data")}))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert '"outcome": "accepted"' in result.stdout
    assert "keyring complete" in result.stdout
    assert not [line for line in result.stdout.splitlines() if line.startswith("fail ")]
    assert result.stdout.rstrip().endswith("own-PKI installation: request accepted")


def test_doctor_names_the_authority_pairs_the_engine_serves(
    make_settings: Callable[..., object],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = make_settings()
    monkeypatch.setenv("ROGATORY_TRANSLATION_ENGINE", "apertium")
    cli = Cli(settings.data_dir, capsys)  # type: ignore[attr-defined]
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    dublin = write_cert(
        settings.data_dir / "dublin-enc.pem",  # type: ignore[attr-defined]
        root_ca("Dublin CA").issue("dpp dublin", key, usage=RSA_ENCRYPTION),
    )
    code, _, err = cli(
        "authorities", "add", "ie-dpp-dublin", "--name", "DPP Dublin", "--country", "IE",
        "--language", "en", "--encryption-cert", dublin,
    )  # fmt: skip
    assert code == 0, err
    code, out, err = cli("doctor")
    lines = _lines(out)
    translation = [(status, rest) for status, rest in lines if rest.startswith("translation:")]
    assert ("ok", "translation: ie-dpp-dublin -> es-fiscalia-madrid (en->es) served") in translation
    assert ("ok", "translation: es-fiscalia-madrid -> ie-dpp-dublin (es->en) served") in translation
    assert any(
        status == "warn" and "nl-om-rotterdam -> es-fiscalia-madrid (nl->es) not served" in rest
        for status, rest in translation
    )
