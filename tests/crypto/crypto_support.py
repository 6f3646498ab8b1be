"""Helpers shared by the crypto tests: openssl invocations and small builders."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from gateway.crypto import RecipientKey
from gateway.crypto.keyfiles import load_certificate, load_private_key

OAEP_SHA256 = ["-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha256"]


def openssl(*args: str | Path, stdin: bytes | None = None, check: bool = True) -> bytes:
    """Run openssl with an argument list; return stdout, fail loudly with stderr."""
    result = subprocess.run(
        ["openssl", *map(str, args)], input=stdin, capture_output=True, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(f"openssl {args[:2]} failed: {result.stderr.decode()[-800:]}")
    return result.stdout


def openssl_sign(content: Path, cert: Path, key: Path, out: Path) -> bytes:
    openssl(
        "cms",
        "-sign",
        "-binary",
        "-nodetach",
        "-md",
        "sha256",
        "-in",
        content,
        "-signer",
        cert,
        "-inkey",
        key,
        "-outform",
        "DER",
        "-out",
        out,
    )
    return out.read_bytes()


def openssl_encrypt(
    content: Path,
    recipient: Path,
    out: Path,
    *,
    cipher: str = "-aes-256-gcm",
    keyopts: list[str] | None = None,
    stream: bool = False,
) -> bytes:
    openssl(
        "cms",
        "-encrypt",
        *(["-stream"] if stream else []),
        "-binary",
        cipher,
        "-recip",
        recipient,
        *(keyopts or []),
        "-in",
        content,
        "-outform",
        "DER",
        "-out",
        out,
    )
    return out.read_bytes()


def self_signed_ec_recipient(
    directory: Path, curve: ec.EllipticCurve, name: str
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate, Path]:
    """An EC key-agreement certificate (no chain needed to decrypt) written as PEM."""
    key = ec.generate_private_key(curve)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    path = directory / f"{name}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert, path


def flip_byte(data: bytes, index: int) -> bytes:
    mutated = bytearray(data)
    mutated[index] ^= 0x01
    return bytes(mutated)


@dataclass(frozen=True)
class Signer:
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    cert: x509.Certificate


def load_signer(cert: Path, key: Path) -> Signer:
    private_key = load_private_key(key)
    assert isinstance(private_key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
    return Signer(private_key, load_certificate(cert))


def load_recipient(cert: Path, key: Path) -> RecipientKey:
    signer = load_signer(cert, key)
    return RecipientKey(signer.key, signer.cert)
