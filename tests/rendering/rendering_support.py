"""Helpers for rendering tests: rendered PDFs, poppler text extraction, a throwaway seal PKI."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from workers.rendering import CoverInfo

LANGUAGE_PAIRS = [("en", "es"), ("nl", "fr")]
REQUEST_TYPES = ["mla", "witness-examination", "extradition"]


@dataclass
class Rendered:
    request_type: str
    source: str
    target: str
    form: dict[str, Any]
    translation: dict[str, Any]
    cover: CoverInfo
    message: bytes
    pdf: bytes
    path: Path

    def pages(self) -> int:
        return page_count(self.path)

    def text(self, first: int | None = None, last: int | None = None) -> str:
        return pdf_text(self.path, first, last)


def page_count(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    match = re.search(r"^Pages:\s+(\d+)$", info.stdout, re.MULTILINE)
    assert match is not None
    return int(match.group(1))


def pdf_text(path: Path, first: int | None = None, last: int | None = None) -> str:
    """Text of the PDF (or a page range) with all runs of whitespace folded to one space."""
    args = ["pdftotext", "-enc", "UTF-8"]
    if first is not None:
        args += ["-f", str(first), "-l", str(last if last is not None else first)]
    out = subprocess.run([*args, str(path), "-"], capture_output=True, check=True).stdout
    return " ".join(out.decode("utf-8").split())


def folded(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class SealPki:
    ca_cert: x509.Certificate
    ca_pem: bytes
    key_pem: bytes
    cert_pem: bytes


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "NL"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Rogatory test"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def make_pki(ca_name: str = "Rogatory Test Root CA") -> SealPki:
    """A throwaway root CA and a gateway seal certificate it issued (EC P-256)."""
    now = datetime.now(UTC) - timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name(ca_name))
        .issuer_name(_name(ca_name))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    seal_key = ec.generate_private_key(ec.SECP256R1())
    seal_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Rogatory Gateway Seal"))
        .issuer_name(ca_cert.subject)
        .public_key(seal_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return SealPki(
        ca_cert=ca_cert,
        ca_pem=ca_cert.public_bytes(serialization.Encoding.PEM),
        key_pem=seal_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        cert_pem=seal_cert.public_bytes(serialization.Encoding.PEM),
    )
