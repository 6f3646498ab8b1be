"""`rogatory keys import` for an operator's own PKI, and start-up refusing a bad keyring."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from ops_support import NOW, ROGATORY, SIGNING, Cli, OperatorPki, root_ca, write_cert

from gateway.crypto.certpath import validate_signer
from gateway.crypto.errors import CryptoError
from gateway.runtime.keyring import load_keyring
from gateway.runtime.preflight import check_startup


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _keyring(cli: Cli) -> dict:  # type: ignore[type-arg]
    return json.loads((cli.keys_dir / "keyring.json").read_text())


def _trust(cli: Cli):  # type: ignore[no-untyped-def]
    return load_keyring(cli.keys_dir).trust(allow_stale_crl=False, max_skew_seconds=600)


def test_init_without_dev_pki_says_exactly_what_to_import(cli: Cli) -> None:
    code, out, err = cli("init")
    assert code == 0, err
    for command in ("anchors", "crl", "intake", "seal", "audit-key"):
        assert f"rogatory keys import {command} " in out
    kek = cli.keys_dir / "kek.b64"
    assert _mode(kek) == 0o600
    assert _mode(cli.keys_dir) == 0o700
    code, _, err = cli("serve", "--port", "0")
    assert code == 2
    assert err.startswith("error[bad-keyring]: no keyring at ")
    assert err.count("\n") == 1


def test_imports_set_modes_and_make_a_complete_keyring(
    installed: Callable[[], Cli], pki: OperatorPki
) -> None:
    cli = installed()
    assert _mode(pki.path("intake-rsa.key")) == 0o644  # the operator's copy was 0644
    spec = _keyring(cli)
    assert len(spec["intake"]) == 2  # RSA and EC, both kept for rollover
    secrets = [spec["seal"]["key"], spec["audit_key"], *(pair["key"] for pair in spec["intake"])]
    assert {_mode(cli.keys_dir / name) for name in secrets} == {0o600}
    public = [*spec["trust_anchors"], *spec["intermediates"], *spec["crls"], spec["seal"]["cert"]]
    assert {_mode(cli.keys_dir / name) for name in public} == {0o644}
    for name in spec["crls"]:  # the DER CRL was stored as PEM
        assert (cli.keys_dir / name).read_bytes().startswith(b"-----BEGIN X509 CRL")
    _, out, _ = cli("init")
    assert "keyring complete" in out
    assert check_startup(cli.settings) == []
    keys = load_keyring(cli.keys_dir)
    assert keys.intake[0].certificate.subject.rfc4514_string().startswith("CN=intake rsa")
    assert isinstance(keys.intake[1].private_key, ec.EllipticCurvePrivateKey)
    assert keys.seal_chain == (pki.intermediate.cert,)


def test_signer_under_an_imported_intermediate_is_accepted_and_revocation_is_checked(
    installed: Callable[[], Cli], pki: OperatorPki
) -> None:
    cli = installed()
    chain = validate_signer(pki.magistrate, [], _trust(cli), signing_time=NOW, now=NOW)
    assert chain == [pki.magistrate, pki.intermediate.cert, pki.root.cert]
    revoked = pki.intermediate.crl([pki.magistrate], number=2)
    (pki.directory / "revoking.crl").write_bytes(revoked.public_bytes(serialization.Encoding.DER))
    code, _, err = cli("keys", "import", "crl", pki.path("revoking.crl"))
    assert code == 0, err
    with pytest.raises(CryptoError) as refused:
        validate_signer(pki.magistrate, [], _trust(cli), signing_time=NOW, now=NOW)
    assert refused.value.code == "certificate-revoked"


def test_every_certificate_of_an_anchor_bundle_is_trusted_rogue_first(
    cli: Cli, pki: OperatorPki, installed: Callable[[], Cli]
) -> None:
    installed()
    rogue = root_ca("Rogue CA")
    bundle = write_cert(pki.path("bundle.pem"), rogue.cert, pki.root.cert)
    spec = _keyring(cli)
    spec["trust_anchors"] = []
    (cli.keys_dir / "keyring.json").write_text(json.dumps(spec))
    code, out, err = cli("keys", "import", "anchors", bundle)
    assert code == 0, err
    assert "Rogue CA" in out
    assert "Test Root CA" in out
    trust = _trust(cli)
    assert len(trust.anchors) == 2
    chain = validate_signer(pki.magistrate, [], trust, signing_time=NOW, now=NOW)
    assert chain[-1] == pki.root.cert


def test_imports_refuse_what_cannot_work(cli: Cli, pki: OperatorPki) -> None:
    assert cli("init")[0] == 0
    other = ec.generate_private_key(ec.SECP256R1())
    mismatched = pki.path("other.key")
    mismatched.write_bytes(
        other.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    code, _, err = cli(
        "keys", "import", "seal", "--key", mismatched, "--cert", pki.path("seal.pem")
    )
    assert (code, err.split(":")[0]) == (2, "error[bad-keyring]")
    assert "does not belong to its private key" in err
    code, _, err = cli("keys", "import", "anchors", pki.path("magistrate.pem"))
    assert code == 2
    assert "is not a CA certificate" in err
    code, _, err = cli("keys", "import", "intermediates", pki.path("intermediate.pem"))
    assert code == 2
    assert "not issued by any trust anchor" in err
    code, _, err = cli("keys", "import", "crl", pki.path("root.crl"))
    assert code == 2
    assert "not signed by a trust anchor" in err
    assert not (cli.keys_dir / "keyring.json").exists() or "seal" not in _keyring(cli)


def _break_intake_key_mode(cli: Cli, pki: OperatorPki) -> None:
    os.chmod(cli.keys_dir / _keyring(cli)["intake"][0]["key"], 0o644)


def _remove_keyring(cli: Cli, pki: OperatorPki) -> None:
    (cli.keys_dir / "keyring.json").unlink()


def _garble_keyring(cli: Cli, pki: OperatorPki) -> None:
    (cli.keys_dir / "keyring.json").write_text('{"format": "rogatory-keyring/1", ')


def _garbage_crl(cli: Cli, pki: OperatorPki) -> None:
    (cli.keys_dir / _keyring(cli)["crls"][0]).write_bytes(b"not a CRL at all")


def _crl_of_a_stranger(cli: Cli, pki: OperatorPki) -> None:
    stranger = root_ca("Test Root CA")  # same name, other key: a forged CRL
    (cli.keys_dir / _keyring(cli)["crls"][0]).write_bytes(
        stranger.crl().public_bytes(serialization.Encoding.PEM)
    )


def _missing_file(cli: Cli, pki: OperatorPki) -> None:
    (cli.keys_dir / _keyring(cli)["seal"]["cert"]).unlink()


def _seal_cert_of_another_key(cli: Cli, pki: OperatorPki) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    write_cert(
        cli.keys_dir / _keyring(cli)["seal"]["cert"],
        pki.intermediate.issue("gateway seal", other, usage=SIGNING),
    )


def _expired_seal_cert(cli: Cli, pki: OperatorPki) -> None:
    key = serialization.load_pem_private_key(pki.path("seal.key").read_bytes(), None)
    write_cert(
        cli.keys_dir / _keyring(cli)["seal"]["cert"],
        pki.intermediate.issue("gateway seal", key, usage=SIGNING, days=-1),  # type: ignore[arg-type]
    )


def _kek_readable_by_others(cli: Cli, pki: OperatorPki) -> None:
    os.chmod(cli.keys_dir / "kek.b64", 0o644)


def _kek_missing(cli: Cli, pki: OperatorPki) -> None:
    (cli.keys_dir / "kek.b64").unlink()


def _keys_dir_writable_by_others(cli: Cli, pki: OperatorPki) -> None:
    os.chmod(cli.keys_dir, 0o777)  # noqa: S103  (the case under test)


def _anchor_not_a_ca(cli: Cli, pki: OperatorPki) -> None:
    spec = _keyring(cli)
    write_cert(cli.keys_dir / spec["trust_anchors"][0], pki.magistrate)


REFUSALS = {
    "keyring missing": (_remove_keyring, "no keyring at"),
    "keyring not JSON": (_garble_keyring, "is not readable JSON"),
    "key file 0644": (_break_intake_key_mode, "private key files must be 0600"),
    "CRL unreadable": (_garbage_crl, "not a CRL (PEM or DER)"),
    "CRL not signed by its CA": (_crl_of_a_stranger, "is not signed by a trust anchor"),
    "file missing": (_missing_file, "named in keyring.json but missing"),
    "certificate of another key": (_seal_cert_of_another_key, "does not belong to its private"),
    "seal certificate expired": (_expired_seal_cert, "the seal certificate expired"),
    "KEK readable by others": (_kek_readable_by_others, "must be 0600"),
    "KEK missing": (_kek_missing, "no KEK at"),
    "keys directory writable by others": (_keys_dir_writable_by_others, "others can write it"),
    "anchor not a CA": (_anchor_not_a_ca, "is not a CA certificate"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_serve_refuses_to_start_with_one_line_naming_the_problem(
    case: str, installed: Callable[[], Cli], pki: OperatorPki
) -> None:
    cli = installed()
    breaks, expected = REFUSALS[case]
    breaks(cli, pki)
    code, _, err = cli("serve", "--port", "0")
    assert code == 2
    assert err.startswith("error[bad-keyring]: ")
    assert expected in err
    assert err.count("\n") == 1, err


def test_der_crl_in_keyring_works_at_start_up(
    installed: Callable[[], Cli], pki: OperatorPki
) -> None:
    cli = installed()
    spec = _keyring(cli)
    der = cli.keys_dir / "root-der.crl"
    der.write_bytes(pki.path("root.crl").read_bytes())
    spec["crls"][0] = der.name
    (cli.keys_dir / "keyring.json").write_text(json.dumps(spec))
    assert check_startup(cli.settings) == []
    validate_signer(pki.magistrate, [], _trust(cli), signing_time=NOW, now=NOW)


def test_stale_crl_and_missing_crl_warn_but_do_not_stop_the_worker_that_refreshes_them(
    installed: Callable[[], Cli], pki: OperatorPki
) -> None:
    cli = installed()
    spec = _keyring(cli)
    soon = pki.intermediate.crl(next_update=NOW + timedelta(hours=3), number=5)
    (cli.keys_dir / spec["crls"][1]).write_bytes(soon.public_bytes(serialization.Encoding.PEM))
    spec["crls"] = spec["crls"][1:]
    (cli.keys_dir / "keyring.json").write_text(json.dumps(spec))
    warnings = check_startup(cli.settings)
    assert any("goes stale in 2 h" in w for w in warnings), warnings
    assert any("no CRL for CA" in w and "Test Root CA" in w for w in warnings), warnings


def _run(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROGATORY_")}
    env["ROGATORY_DATA_DIR"] = str(data_dir)
    env["ROGATORY_GATEWAY_ID"] = "ops-test-gateway"  # production start-up wants its own id
    env["ROGATORY_PUBLIC_URL"] = "https://gateway.example"
    return subprocess.run(
        [str(ROGATORY), *args], capture_output=True, text=True, timeout=120, env=env, check=False
    )


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_real_processes_refuse_a_group_readable_key_before_listening(
    command: str, installed: Callable[[], Cli], pki: OperatorPki
) -> None:
    cli = installed()
    _break_intake_key_mode(cli, pki)
    result = _run(command, data_dir=cli.data_dir)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error[")]
    assert errors == [lines[-1]], result.stderr  # one line names the problem, and ends it
    assert errors[0].startswith("error[bad-keyring]: ")
    assert "0600" in errors[0]
    assert not (cli.data_dir / "broker" / "redis.sock").exists()  # stopped before starting


def test_an_encrypted_key_is_imported_with_the_password_from_the_environment(
    cli: Cli, pki: OperatorPki, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("init")[0] == 0
    key = serialization.load_pem_private_key(pki.path("seal.key").read_bytes(), None)
    encrypted = pki.path("seal-encrypted.key")
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"correct horse"),
        )
    )
    args = ("keys", "import", "seal", "--key", encrypted, "--cert", pki.path("seal.pem"))
    code, _, err = cli(*args)
    assert code == 2
    assert "wrong password" in err
    monkeypatch.setenv("ROGATORY_IMPORT_PASSWORD", "correct horse")
    code, _, err = cli(*args)
    assert code == 0, err
    stored = cli.keys_dir / _keyring(cli)["seal"]["key"]
    assert b"ENCRYPTED" not in stored.read_bytes()
    assert _mode(stored) == 0o600


def test_an_operator_with_umask_002_still_gets_a_keyring_start_up_accepts(
    installed: Callable[[], Cli],
) -> None:
    previous = os.umask(0o002)
    try:
        cli = installed()
    finally:
        os.umask(previous)
    assert _mode(cli.keys_dir / "keyring.json") == 0o644
    assert check_startup(cli.settings) == []
