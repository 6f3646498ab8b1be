"""Development PKI contents, expiry alerts and the ``keys`` CLI group."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from gateway.crypto import expiring_certificates
from gateway.crypto.at_rest import FileKek
from gateway.crypto.devpki import DevPki
from gateway.crypto.keyfiles import load_certificate, load_crl, load_private_key
from gateway.web.cli_keys import keys


def _manifest_paths(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [path for value in node.values() for path in _manifest_paths(value)]
    return []


def test_manifest_names_every_file_and_private_keys_are_owner_only(pki: DevPki) -> None:
    manifest = json.loads(pki.manifest.read_text())
    listed = set(_manifest_paths(manifest["files"]))
    on_disk = {p.name for p in pki.directory.iterdir()} - {"manifest.json"}
    assert listed == on_disk
    secrets = {p for p in pki.directory.iterdir() if p.suffix in {".key", ".b64"}}
    assert len(secrets) == 13
    assert {stat.S_IMODE(p.stat().st_mode) for p in secrets} == {0o600}
    assert stat.S_IMODE(pki.directory.stat().st_mode) == 0o700


def test_key_types_match_their_roles(pki: DevPki) -> None:
    assert isinstance(load_private_key(pki.intake.key), rsa.RSAPrivateKey)
    seal = load_private_key(pki.seal.key)  # signs a receipt per submission: cheap ECDSA
    assert isinstance(seal, ec.EllipticCurvePrivateKey)
    assert isinstance(seal.curve, ec.SECP256R1)
    assert isinstance(load_private_key(pki.audit_key), ed25519.Ed25519PrivateKey)
    assert isinstance(load_private_key(pki.magistrates["ec"].key), ec.EllipticCurvePrivateKey)
    authority_b = load_certificate(pki.authorities["authority-b"]["encryption"].cert)
    assert isinstance(authority_b.public_key(), ec.EllipticCurvePublicKey)
    assert FileKek.from_file(pki.kek).key_id.startswith("file:")


def test_crl_revokes_exactly_the_revoked_magistrate(pki: DevPki) -> None:
    crl = load_crl(pki.crl)
    ca = load_certificate(pki.ca.cert)
    assert crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
    revoked = {entry.serial_number for entry in crl}
    serials = {n: load_certificate(p.cert).serial_number for n, p in pki.magistrates.items()}
    assert revoked == {serials["revoked"]}


def test_expiring_certificates_reports_expired_and_soon_expiring(pki: DevPki) -> None:
    certs = [load_certificate(p.cert) for p in pki.magistrates.values()]
    now = datetime.now(UTC)
    assert [c.subject for c in expiring_certificates(certs, now)] == [
        load_certificate(pki.magistrates["expired"].cert).subject
    ]
    later = now + timedelta(days=340)
    assert len(expiring_certificates(certs, later)) == 4
    assert expiring_certificates(certs, later, within=timedelta(0)) == [
        c for c in certs if c.not_valid_after_utc <= later
    ]


def test_cli_dev_pki_then_check_reports_expiry(tmp_path: Path) -> None:
    runner = CliRunner()
    target = tmp_path / "keys"
    created = runner.invoke(keys, ["dev-pki", str(target)])
    assert created.exit_code == 0, created.output
    assert (target / "manifest.json").exists()
    checked = runner.invoke(keys, ["check", str(target)])
    assert checked.exit_code == 1
    assert "magistrate-expired" in checked.output
    assert "EXPIRED" in checked.output
    assert "magistrate-rsa" not in checked.output
    assert "BEGIN" not in checked.output  # never prints key material


def test_cli_check_is_quiet_and_succeeds_without_alerts(pki: DevPki, tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_bytes(pki.ca.cert.read_bytes())
    result = CliRunner().invoke(keys, ["check", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "no certificate expires" in result.output
    assert isinstance(load_certificate(tmp_path / "ca.pem"), x509.Certificate)
