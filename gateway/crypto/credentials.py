"""A magistrate's signing key and certificate from the files she has: a PKCS#12 (.p12/.pfx)
or a PEM key (plain or encrypted) with its PEM certificate.

Every problem is one ``CredentialError`` with a sentence saying what to do, never a
traceback. The POSIX mode check (no group/other access) applies where POSIX modes exist;
on Windows, file ACLs decide and there is nothing to check.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from gateway.crypto.keyfiles import check_private_file_mode
from gateway.domain.errors import DomainError

PKCS12_SUFFIXES = (".p12", ".pfx")


class CredentialError(DomainError):
    """A key or certificate file that cannot be used, with the reason in one sentence."""

    code = "key-file"
    status = 400


@dataclass(frozen=True)
class SigningCredentials:
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]


def posix_modes() -> bool:
    return os.name == "posix"


def _check_mode(path: Path) -> None:
    if not posix_modes():
        return
    try:
        check_private_file_mode(path)
    except PermissionError:
        mode = path.stat().st_mode & 0o777
        raise CredentialError(
            f"{path.name} can be read by other users (mode {mode:o}); run: chmod 600 {path}"
        ) from None


def _usable(key: object, name: str) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise CredentialError(f"{name}: an RSA or EC key is needed to sign")
    return key


def _from_pkcs12(path: Path, data: bytes, password: bytes | None) -> SigningCredentials:
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, password)
    except ValueError:
        if password is None:
            raise CredentialError(
                f"{path.name} is protected by a password: give it with --password-file "
                "or the ROGATORY_KEY_PASSWORD environment variable"
            ) from None
        raise CredentialError(
            f"the password does not open {path.name} (or it is not a .p12/.pfx file)"
        ) from None
    if key is None:
        raise CredentialError(f"{path.name} holds no private key")
    if cert is None:
        raise CredentialError(f"{path.name} holds no certificate for its key")
    return SigningCredentials(_usable(key, path.name), cert, tuple(extra))


def _from_pem(
    path: Path, data: bytes, password: bytes | None, cert_path: Path | None
) -> SigningCredentials:
    if cert_path is None:
        raise CredentialError(f"{path.name} is a key file: give its certificate with --cert")
    encrypted = b"ENCRYPTED" in data[:200]
    if encrypted and password is None:
        raise CredentialError(
            f"{path.name} is encrypted: give its password with --password-file "
            "or the ROGATORY_KEY_PASSWORD environment variable"
        )
    try:
        key = serialization.load_pem_private_key(data, password if encrypted else None)
    except ValueError:
        what = "the password does not open" if encrypted else "no private key found in"
        raise CredentialError(f"{what} {path.name}") from None
    except TypeError:
        raise CredentialError(f"{path.name}: the key could not be read") from None
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except ValueError:
        raise CredentialError(f"{cert_path.name} is not a PEM certificate") from None
    return SigningCredentials(_usable(key, path.name), cert, ())


def load_signing_credentials(
    key_path: Path, *, cert_path: Path | None = None, password: bytes | None = None
) -> SigningCredentials:
    """The signing key, its certificate and any chain certificates, or a CredentialError."""
    try:
        data = key_path.read_bytes()
    except OSError as exc:
        raise CredentialError(f"{key_path.name} cannot be read ({exc.strerror})") from None
    _check_mode(key_path)
    if key_path.suffix.lower() in PKCS12_SUFFIXES or not data.lstrip().startswith(b"-----"):
        found = _from_pkcs12(key_path, data, password)
        if cert_path is not None:
            try:
                cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            except ValueError:
                raise CredentialError(f"{cert_path.name} is not a PEM certificate") from None
            return SigningCredentials(found.key, cert, found.chain)
        return found
    return _from_pem(key_path, data, password, cert_path)
