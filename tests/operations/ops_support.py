"""A small external PKI (root, intermediate, leaves, CRLs) as an operator would receive it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from gateway.config import Settings, load_settings
from gateway.web.cli import main

NOW = datetime.now(UTC)
REPO = Path(__file__).resolve().parents[2]
ROGATORY = REPO / ".venv" / "bin" / "rogatory"


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Justice PKI"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _usage(**allowed: bool) -> x509.KeyUsage:
    names = [
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
        "encipher_only",
        "decipher_only",
    ]
    return x509.KeyUsage(**{name: allowed.get(name, False) for name in names})


@dataclass
class Ca:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    issued: list[x509.Certificate] = field(default_factory=list)

    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def crl(
        self,
        revoked: list[x509.Certificate] = (),  # type: ignore[assignment]
        *,
        next_update: datetime | None = None,
        number: int = 1,
        last_update: datetime | None = None,
    ) -> x509.CertificateRevocationList:
        last = last_update or NOW - timedelta(minutes=5)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.cert.subject)
            .last_update(last)
            .next_update(next_update or NOW + timedelta(days=7))
            .add_extension(x509.CRLNumber(number), critical=False)
        )
        for cert in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(cert.serial_number)
                .revocation_date(last)
                .build()
            )
        return builder.sign(self.key, hashes.SHA256())

    def issue_ca(self, common_name: str) -> Ca:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _build(common_name, key.public_key(), self, ca=True)
        return Ca(key, cert)

    def issue(
        self,
        common_name: str,
        key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
        *,
        usage: x509.KeyUsage,
        days: int = 365,
    ) -> x509.Certificate:
        cert = _build(common_name, key.public_key(), self, usage=usage, days=days)
        self.issued.append(cert)
        return cert


def _build(
    common_name: str,
    public_key: object,
    issuer: Ca | None,
    *,
    ca: bool = False,
    usage: x509.KeyUsage | None = None,
    days: int = 365,
    signer: ec.EllipticCurvePrivateKey | None = None,
) -> x509.Certificate:
    name = _name(common_name)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.cert.subject if issuer else name)
        .public_key(public_key)  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=days))
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(public_key),  # type: ignore[arg-type]
            critical=False,
        )
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    if ca:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=None if issuer is None else 0), critical=True
        ).add_extension(_usage(key_cert_sign=True, crl_sign=True), critical=True)
    else:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=False, path_length=None), critical=True
        ).add_extension(usage or _usage(digital_signature=True), critical=True)
    key = signer or (issuer.key if issuer else None)
    assert key is not None
    return builder.sign(key, hashes.SHA256())


def root_ca(common_name: str = "Test Root CA") -> Ca:
    key = ec.generate_private_key(ec.SECP256R1())
    return Ca(key, _build(common_name, key.public_key(), None, ca=True, signer=key))


SIGNING = _usage(digital_signature=True, content_commitment=True)
RSA_ENCRYPTION = _usage(key_encipherment=True)
EC_ENCRYPTION = _usage(key_agreement=True)


def write_key(path: Path, key: object, mode: int = 0o600) -> Path:
    pem = key.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.write_bytes(pem)
    os.chmod(path, mode)
    return path


def write_cert(path: Path, *certs: x509.Certificate) -> Path:
    path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs))
    return path


@dataclass
class OperatorPki:
    """Files as a national PKI hands them to the operator, in ``directory``."""

    directory: Path
    root: Ca
    intermediate: Ca
    magistrate_key: ec.EllipticCurvePrivateKey
    magistrate: x509.Certificate

    def path(self, name: str) -> Path:
        return self.directory / name


def operator_pki(directory: Path) -> OperatorPki:
    """Root -> intermediate -> (intake RSA, intake EC, seal, magistrate); CRLs; audit key."""
    directory.mkdir(parents=True, exist_ok=True)
    root = root_ca()
    intermediate = root.issue_ca("Test Issuing CA")
    write_cert(directory / "root.pem", root.cert)
    write_cert(directory / "intermediate.pem", intermediate.cert)
    (directory / "root.crl").write_bytes(root.crl().public_bytes(serialization.Encoding.DER))
    (directory / "intermediate.crl.pem").write_bytes(
        intermediate.crl().public_bytes(serialization.Encoding.PEM)
    )
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    write_key(directory / "intake-rsa.key", rsa_key, 0o644)  # as handed over: not yet 0600
    write_cert(
        directory / "intake-rsa.pem",
        intermediate.issue("intake rsa", rsa_key, usage=RSA_ENCRYPTION),
    )
    ec_key = ec.generate_private_key(ec.SECP256R1())
    write_key(directory / "intake-ec.key", ec_key)
    write_cert(
        directory / "intake-ec.pem", intermediate.issue("intake ec", ec_key, usage=EC_ENCRYPTION)
    )
    seal_key = ec.generate_private_key(ec.SECP256R1())
    write_key(directory / "seal.key", seal_key)
    write_cert(directory / "seal.pem", intermediate.issue("gateway seal", seal_key, usage=SIGNING))
    write_key(directory / "audit.key", ed25519.Ed25519PrivateKey.generate())
    magistrate_key = ec.generate_private_key(ec.SECP256R1())
    magistrate = intermediate.issue("magistrate", magistrate_key, usage=SIGNING)
    write_cert(directory / "magistrate.pem", magistrate)
    write_key(directory / "magistrate.key", magistrate_key)
    return OperatorPki(directory, root, intermediate, magistrate_key, magistrate)


IMPORT_COMMANDS = (
    ["anchors", "root.pem"],
    ["intermediates", "intermediate.pem"],
    ["crl", "root.crl", "intermediate.crl.pem"],
    ["intake", "--key", "intake-rsa.key", "--cert", "intake-rsa.pem",
     "--key", "intake-ec.key", "--cert", "intake-ec.pem"],
    ["seal", "--key", "seal.key", "--cert", "seal.pem", "--chain", "intermediate.pem"],
    ["audit-key", "--key", "audit.key"],
)  # fmt: skip


def audit_events(database_url: str) -> list[str]:
    """The events of the audit log, oldest first."""
    import sqlalchemy as sa

    from gateway.audit.entries import decode_entry
    from gateway.persistence.audit_tables import audit_leaf
    from gateway.persistence.db import make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(audit_leaf.c.entry).order_by(audit_leaf.c.idx)).all()
    finally:
        engine.dispose()
    return [decode_entry(bytes(row[0])).event for row in rows]


def dev_submission(settings: object, *, magistrate: str = "magistrate-rsa") -> bytes:
    """A sealed MLA request from a dev-PKI magistrate, as a client makes it."""
    import json
    import uuid

    from gateway.crypto import encrypt_envelope, sign
    from gateway.crypto.keyfiles import load_certificate, load_private_key
    from gateway.domain.submission import build_submission

    pki = settings.keys_dir / "dev-pki"  # type: ignore[attr-defined]
    content = build_submission(
        gateway=settings.gateway_id,  # type: ignore[attr-defined]
        message_id=f"ops-{uuid.uuid4().hex}",
        created=NOW.now(UTC),
        request=json.loads((REPO / "tests" / "fixtures" / "mla_request.json").read_text()),
        attachments=[],
    )
    key = load_private_key(pki / f"{magistrate}.key")
    signed = sign(content, key, load_certificate(pki / f"{magistrate}.pem"))  # type: ignore[arg-type]
    return encrypt_envelope(signed, [load_certificate(pki / "gateway-intake.pem")])


@dataclass
class Cli:
    """`rogatory --data-dir DATA ...` in this process: exit code, stdout, stderr."""

    data_dir: Path
    capsys: pytest.CaptureFixture[str]

    def __call__(self, *args: str | Path) -> tuple[int, str, str]:
        self.capsys.readouterr()
        try:
            main(["--data-dir", str(self.data_dir), *map(str, args)])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err

    @property
    def settings(self) -> Settings:
        return load_settings({}, overrides={"data_dir": str(self.data_dir)})

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"
