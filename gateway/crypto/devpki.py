"""A complete throwaway PKI for development and tests (never for production keys).

One CA signs everything: the gateway's intake (RSA) and seal (EC P-256) certificates,
two counterpart authorities (encryption + signing) and four magistrates (RSA, EC P-256,
expired, revoked). The CA's CRL lists the revoked magistrate. ``manifest.json`` says what is where.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from gateway.crypto.keyfiles import (
    load_certificate,
    load_private_key,
    write_certificate,
    write_private_file,
    write_private_key,
)

RSA_BITS: Final = 3072
_SIGNING: Final = "signing"
_RSA_ENCRYPTION: Final = "rsa-encryption"
_EC_ENCRYPTION: Final = "ec-encryption"

IssuedKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class KeyPair:
    """Paths of one certificate and its private key."""

    cert: Path
    key: Path


@dataclass(frozen=True)
class DevPki:
    """Where ``make_dev_pki`` put everything."""

    directory: Path
    ca: KeyPair
    crl: Path
    intake: KeyPair
    seal: KeyPair
    audit_key: Path
    audit_public_key: Path
    kek: Path
    authorities: dict[str, dict[str, KeyPair]]
    magistrates: dict[str, KeyPair]
    manifest: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "EU"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Rogatory development PKI"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_usage(profile: str) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=profile == _SIGNING,
        content_commitment=profile == _SIGNING,
        key_encipherment=profile == _RSA_ENCRYPTION,
        data_encipherment=False,
        key_agreement=profile == _EC_ENCRYPTION,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


class _Issuer:
    def __init__(self, now: datetime, ca: tuple[rsa.RSAPrivateKey, x509.Certificate] | None = None):
        self.now = now
        if ca is not None:  # the CA of a dev PKI written before
            self.key, self.cert = ca
            return
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
        name = _name("Rogatory Dev Root CA")
        ski = x509.SubjectKeyIdentifier.from_public_key(self.key.public_key())
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=730))
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(ski, critical=False)
            .sign(self.key, hashes.SHA256())
        )

    def issue(
        self, common_name: str, key: IssuedKey, profile: str, *, days_from: int, days_to: int
    ) -> x509.Certificate:
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key())
        return (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self.now + timedelta(days=days_from))
            .not_valid_after(self.now + timedelta(days=days_to))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(profile), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .add_extension(aki, critical=False)
            .sign(self.key, hashes.SHA256())
        )

    def crl(self, revoked: list[x509.Certificate]) -> x509.CertificateRevocationList:
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.cert.subject)
            .last_update(self.now - timedelta(hours=1))
            .next_update(self.now + timedelta(days=7))
            .add_extension(x509.CRLNumber(1), critical=False)
        )
        for cert in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(cert.serial_number)
                .revocation_date(self.now - timedelta(days=1))
                .build()
            )
        return builder.sign(self.key, hashes.SHA256())


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)


def _save(directory: Path, stem: str, key: IssuedKey, cert: x509.Certificate) -> KeyPair:
    pair = KeyPair(cert=directory / f"{stem}.pem", key=directory / f"{stem}.key")
    write_certificate(pair.cert, cert)
    write_private_key(pair.key, key)
    return pair


def _issue_and_save(
    issuer: _Issuer,
    directory: Path,
    stem: str,
    key: IssuedKey,
    profile: str,
    *,
    days_from: int = -1,
    days_to: int = 365,
) -> tuple[KeyPair, x509.Certificate]:
    cert = issuer.issue(stem, key, profile, days_from=days_from, days_to=days_to)
    return _save(directory, stem, key, cert), cert


def make_dev_pki(directory: Path, *, now: datetime | None = None) -> DevPki:
    """Write a fresh development PKI into ``directory`` (created 0700) and describe it."""
    now = now or datetime.now(UTC)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    issuer = _Issuer(now)
    ca = _save(directory, "ca", issuer.key, issuer.cert)
    intake, _ = _issue_and_save(issuer, directory, "gateway-intake", _rsa_key(), _RSA_ENCRYPTION)
    # EC P-256: the seal signs a receipt per submission inside the group commit, and
    # ECDSA P-256 costs ~0.04 ms a signature against ~0.8 ms for RSA-3072 (keys/README.md)
    seal_key = ec.generate_private_key(ec.SECP256R1())
    seal, _ = _issue_and_save(issuer, directory, "gateway-seal", seal_key, _SIGNING)

    audit_key = ed25519.Ed25519PrivateKey.generate()
    audit_path, audit_pub_path = directory / "audit-ed25519.key", directory / "audit-ed25519.pub"
    write_private_key(audit_path, audit_key)
    audit_pub_path.write_bytes(
        audit_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    kek_path = directory / "kek.b64"
    write_private_file(kek_path, base64.b64encode(os.urandom(32)) + b"\n")

    authorities: dict[str, dict[str, KeyPair]] = {}
    for label, enc_key, enc_profile in (
        ("authority-a", _rsa_key(), _RSA_ENCRYPTION),
        ("authority-b", ec.generate_private_key(ec.SECP256R1()), _EC_ENCRYPTION),
    ):
        enc, _ = _issue_and_save(issuer, directory, f"{label}-enc", enc_key, enc_profile)
        sig, _ = _issue_and_save(issuer, directory, f"{label}-sign", _rsa_key(), _SIGNING)
        authorities[label] = {"encryption": enc, "signing": sig}

    magistrates: dict[str, KeyPair] = {}
    magistrates["rsa"], _ = _issue_and_save(
        issuer, directory, "magistrate-rsa", _rsa_key(), _SIGNING
    )
    magistrates["ec"], _ = _issue_and_save(
        issuer, directory, "magistrate-ec", ec.generate_private_key(ec.SECP256R1()), _SIGNING
    )
    magistrates["expired"], _ = _issue_and_save(
        issuer, directory, "magistrate-expired", _rsa_key(), _SIGNING, days_from=-400, days_to=-35
    )
    magistrates["revoked"], revoked_cert = _issue_and_save(
        issuer, directory, "magistrate-revoked", _rsa_key(), _SIGNING
    )
    crl_path = directory / "ca.crl.pem"
    crl_path.write_bytes(issuer.crl([revoked_cert]).public_bytes(serialization.Encoding.PEM))

    pki = DevPki(
        directory=directory,
        ca=ca,
        crl=crl_path,
        intake=intake,
        seal=seal,
        audit_key=audit_path,
        audit_public_key=audit_pub_path,
        kek=kek_path,
        authorities=authorities,
        magistrates=magistrates,
        manifest=directory / "manifest.json",
    )
    _write_manifest(pki, now)
    return pki


def add_ec_intake_key(directory: Path, *, now: datetime | None = None) -> KeyPair:
    """An EC P-256 intake certificate (ECDH key agreement) from the CA of the dev PKI in
    ``directory``, written as ``gateway-intake-ec.{key,pem}``; import it with ``rogatory
    keys import intake`` beside the RSA one (the browser page encrypts with RSA-OAEP only).

    Opening an envelope made to it costs one ECDH (~0.05 ms) instead of one RSA-3072 OAEP
    decryption (~0.8 ms): ``bench/bench_exchange.py`` submits to it by default.
    """
    ca_key = load_private_key(directory / "ca.key")
    if not isinstance(ca_key, rsa.RSAPrivateKey):
        raise TypeError(f"{directory / 'ca.key'}: not the dev PKI's RSA CA key")
    issuer = _Issuer(now or datetime.now(UTC), (ca_key, load_certificate(directory / "ca.pem")))
    pair, _ = _issue_and_save(
        issuer, directory, "gateway-intake-ec", ec.generate_private_key(ec.SECP256R1()),
        _EC_ENCRYPTION,
    )  # fmt: skip
    return pair


def _write_manifest(pki: DevPki, now: datetime) -> None:
    def relative(value: object) -> object:
        if isinstance(value, Path):
            return value.name
        if isinstance(value, dict):
            return {key: relative(item) for key, item in value.items()}
        return value

    entries = {k: relative(v) for k, v in asdict(pki).items() if k not in ("directory", "manifest")}
    manifest = {"format": "rogatory-dev-pki/1", "created": now.isoformat(), "files": entries}
    pki.manifest.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
