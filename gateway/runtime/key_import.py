"""`rogatory keys import ...`: copy an operator's PKI into the keys directory, checked.

Each import checks what it is given (key matches certificate, CA certificates are CAs,
CRLs are signed by a known CA), writes the files under fixed names with their modes
(private keys 0600, certificates and CRLs 0644, directory 0700) and updates
keyring.json atomically. `next_steps` says what the keyring still lacks.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from gateway.crypto.keyfiles import load_crl, write_private_file
from gateway.runtime.container import KEK_FILE, KEK_TOKEN_FILE
from gateway.runtime.keyring import (
    KeyringError,
    read_description,
    require_ca,
    require_chained,
    require_crl,
    require_match,
    write_keyring,
)

PUBLIC_FILE_MODE = 0o644


def _fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()[:16]


def _read_key(path: Path, password: bytes | None) -> Any:
    try:
        return serialization.load_pem_private_key(path.read_bytes(), password=password)
    except OSError as exc:
        raise KeyringError(f"{path}: cannot read ({exc.strerror})") from None
    except (ValueError, TypeError) as exc:
        raise KeyringError(f"{path}: not a PEM private key or wrong password ({exc})") from None


def _read_certs(path: Path) -> list[x509.Certificate]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyringError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError:
        raise KeyringError(f"{path}: not a certificate file (PEM bundle or DER)") from None


class KeyImporter:
    """Imports into one keys directory; every method returns the lines to print."""

    def __init__(self, keys_dir: Path) -> None:
        self.keys_dir = keys_dir
        keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        keys_dir.chmod(0o700)
        self.spec: dict[str, Any] = read_description(keys_dir)

    def _save(self) -> None:
        write_keyring(self.keys_dir, self.spec)

    def _write_key(self, name: str, key: Any) -> str:
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_private_file(self.keys_dir / name, pem)
        return name

    def _write_public(self, name: str, data: bytes) -> str:
        path = self.keys_dir / name
        staging = path.with_name(f".{name}.{os.getpid()}.tmp")
        staging.write_bytes(data)
        staging.chmod(PUBLIC_FILE_MODE)
        staging.replace(path)
        return name

    def _write_certs(self, name: str, certs: Sequence[x509.Certificate]) -> str:
        pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)
        return self._write_public(name, pem)

    def intake(
        self, pairs: Sequence[tuple[Path, Path]], *, replace: bool, password: bytes | None = None
    ) -> Iterator[str]:
        """Intake decryption keys (RSA or EC); the first listed is the one senders use."""
        entries = [] if replace else list(self.spec.get("intake", []))
        for key_path, cert_path in pairs:
            key = _read_key(key_path, password)
            if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
                raise KeyringError(f"{key_path}: intake keys must be RSA or EC")
            cert = _read_certs(cert_path)[0]
            require_match(key, cert, str(cert_path))
            stem = f"intake-{_fingerprint(cert)}"
            entry = {"key": self._write_key(f"{stem}.key", key), "cert": f"{stem}.pem"}
            self._write_certs(entry["cert"], [cert])
            entries = [e for e in entries if e.get("cert") != entry["cert"]] + [entry]
            yield f"intake key imported: {stem} ({cert.subject.rfc4514_string()})"
        self.spec["intake"] = entries
        self._save()
        yield f"{len(entries)} intake key(s) configured; senders encrypt to the first"

    def seal(
        self,
        key_path: Path,
        cert_path: Path,
        chain: Sequence[Path],
        password: bytes | None = None,
    ) -> Iterator[str]:
        key = _read_key(key_path, password)
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise KeyringError(f"{key_path}: the seal key must be RSA or EC")
        certs = _read_certs(cert_path)
        require_match(key, certs[0], str(cert_path))
        chain_certs = certs[1:] + [c for path in chain for c in _read_certs(path)]
        seal: dict[str, Any] = {
            "key": self._write_key("seal.key", key),
            "cert": self._write_certs("seal.pem", certs[:1]),
        }
        if chain_certs:
            seal["chain"] = [self._write_certs("seal-chain.pem", chain_certs)]
        self.spec["seal"] = seal
        self._save()
        subject = certs[0].subject.rfc4514_string()
        yield f"seal key imported ({subject}, chain of {len(chain_certs)})"

    def audit_key(self, key_path: Path, password: bytes | None = None) -> Iterator[str]:
        key = _read_key(key_path, password)
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise KeyringError(f"{key_path}: the audit log key must be Ed25519")
        self.spec["audit_key"] = self._write_key("audit-ed25519.key", key)
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.spec["audit_public_key"] = self._write_public("audit-ed25519.pub", public)
        self._save()
        yield "audit log key imported; publish audit-ed25519.pub to the log's verifiers"

    def cas(self, bundles: Sequence[Path], *, role: str) -> Iterator[str]:
        """Every certificate of every bundle, one file each (role: anchors|intermediates)."""
        section = "trust_anchors" if role == "anchors" else "intermediates"
        names = list(self.spec.get(section, []))
        imported: list[x509.Certificate] = []
        for bundle in bundles:
            for cert in _read_certs(bundle):
                require_ca(cert, "trust anchor" if role == "anchors" else "intermediate")
                imported.append(cert)
        if role == "intermediates":
            anchors = self._loaded("trust_anchors")
            require_chained([*self._loaded("intermediates"), *imported], anchors)
        prefix = "anchor" if role == "anchors" else "intermediate"
        for cert in imported:
            name = self._write_certs(f"{prefix}-{_fingerprint(cert)}.pem", [cert])
            if name not in names:
                names.append(name)
            yield f"{prefix} imported: {cert.subject.rfc4514_string()} ({name})"
        self.spec[section] = names
        self._save()

    def crls(self, paths: Sequence[Path]) -> Iterator[str]:
        """CRLs in PEM or DER, stored as PEM, one file per issuer (a newer one replaces)."""
        names = list(self.spec.get("crls", []))
        issuers = [*self._loaded("trust_anchors"), *self._loaded("intermediates")]
        for path in paths:
            require_crl(path, issuers)
            crl = load_crl(path)
            digest = hashes.Hash(hashes.SHA256())
            digest.update(crl.issuer.public_bytes())
            name = f"crl-{digest.finalize().hex()[:16]}.pem"
            current = self.keys_dir / name
            if current.exists() and load_crl(current).last_update_utc > crl.last_update_utc:
                raise KeyringError(f"{path}: older than the CRL already imported for its issuer")
            self._write_public(name, crl.public_bytes(serialization.Encoding.PEM))
            if name not in names:
                names.append(name)
            yield f"CRL imported: {crl.issuer.rfc4514_string()}, next update {crl.next_update_utc}"
        self.spec["crls"] = names
        self._save()

    def crl_urls(self, urls: Sequence[str]) -> Iterator[str]:
        known = list(self.spec.get("crl_urls", []))
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise KeyringError(f"{url}: CRL URLs must be http:// or https://")
            if url not in known:
                known.append(url)
        self.spec["crl_urls"] = known
        self._save()
        yield f"{len(known)} extra CRL URL(s) configured"

    def kek(self, path: Path) -> Iterator[str]:
        target = self.keys_dir / KEK_FILE
        if target.exists() or (self.keys_dir / KEK_TOKEN_FILE).exists():
            raise KeyringError(f"{target} exists: use 'rogatory keys rotate-kek --new-kek {path}'")
        try:
            key = base64.b64decode(path.read_bytes().strip(), validate=True)
        except (OSError, binascii.Error):
            raise KeyringError(f"{path}: not a base64 KEK file") from None
        if len(key) != 32:
            raise KeyringError(f"{path}: the KEK must decode to 32 bytes")
        write_private_file(target, base64.b64encode(key) + b"\n")
        yield f"KEK imported as {target} (0600)"

    def _loaded(self, section: str) -> list[x509.Certificate]:
        return [
            cert
            for name in self.spec.get(section, [])
            for cert in _read_certs(self.keys_dir / name)
        ]


def new_kek(keys_dir: Path) -> Path | None:
    """Create a random file KEK (0600) when there is none, in a file or a token; returns
    its path if created."""
    target = keys_dir / KEK_FILE
    if target.exists() or (keys_dir / KEK_TOKEN_FILE).exists():
        return None
    write_private_file(target, base64.b64encode(os.urandom(32)) + b"\n")
    return target


IMPORT_STEPS = (
    ("trust_anchors", "rogatory keys import anchors ROOTS.pem  (every CA of the bundle)"),
    ("crls", "rogatory keys import crl ROOT.crl [INTERMEDIATE.crl ...]  (PEM or DER)"),
    ("intake", "rogatory keys import intake --key INTAKE.key --cert INTAKE.pem"),
    ("seal", "rogatory keys import seal --key SEAL.key --cert SEAL.pem [--chain CHAIN.pem]"),
    ("audit_key", "rogatory keys import audit-key --key AUDIT-ED25519.key"),
)


def next_steps(keys_dir: Path, *, kek_from_env: bool) -> list[str]:
    """The import commands still needed before `serve` can start, in order."""
    spec = read_description(keys_dir)
    steps = [command for section, command in IMPORT_STEPS if not spec.get(section)]
    has_kek = (keys_dir / KEK_FILE).exists() or (keys_dir / KEK_TOKEN_FILE).exists()
    if not kek_from_env and not has_kek:
        steps.append("rogatory keys import kek KEK.b64  (or set ROGATORY_KEK)")
    return steps
