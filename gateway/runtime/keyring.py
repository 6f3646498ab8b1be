"""The gateway's own keys, listed in `<keys_dir>/keyring.json` (see keys/README.md).

`load_keyring` checks the whole keyring, not only that it parses: every file exists,
private keys are owner-only, keys match their certificates, every certificate of a
trust-anchor bundle is a CA, intermediates chain to an anchor, CRLs (PEM or DER) are
signed by an anchor or intermediate. A bad keyring raises `KeyringError` naming the
file and the problem, so `serve` and `worker` refuse to start instead of failing the
first submission.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from gateway.config import ConfigError
from gateway.crypto import RecipientKey, TrustConfig
from gateway.crypto.keyfiles import check_private_file_mode, load_crl

KEYRING_FORMAT = "rogatory-keyring/1"
KEYRING_FILE = "keyring.json"
SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class KeyringError(ConfigError):
    """The keyring cannot work; the message names the file and what is wrong with it."""

    code = "bad-keyring"


@dataclass(frozen=True)
class KeyRing:
    intake: list[RecipientKey]
    seal_key: SigningKey
    seal_cert: x509.Certificate
    log_key: ed25519.Ed25519PrivateKey
    anchors: list[x509.Certificate]
    crl_paths: list[Path]
    intermediates: tuple[x509.Certificate, ...] = ()
    seal_chain: tuple[x509.Certificate, ...] = ()

    def trust(self, *, allow_stale_crl: bool, max_skew_seconds: int) -> TrustConfig:
        return TrustConfig(
            anchors=self.anchors,
            intermediates=list(self.intermediates),
            crls=self.crls(),
            allow_stale_crl=allow_stale_crl,
            max_skew=timedelta(seconds=max_skew_seconds),
        )

    def crls(self) -> list[x509.CertificateRevocationList]:
        """The cached CRL files as they are now (the refresh job replaces them)."""
        return [_current_crl(path) for path in self.crl_paths]

    @property
    def issuers(self) -> list[x509.Certificate]:
        """Every CA certificate the gateway knows: anchors, then intermediates."""
        return [*self.anchors, *self.intermediates]

    def certificates(self) -> dict[str, x509.Certificate]:
        """Every certificate of the keyring, labelled (for expiry checks)."""
        labelled = {"gateway:seal": self.seal_cert}
        labelled.update({f"gateway:intake:{i}": k.certificate for i, k in enumerate(self.intake)})
        labelled.update({f"anchor:{i}": cert for i, cert in enumerate(self.anchors)})
        labelled.update({f"intermediate:{i}": c for i, c in enumerate(self.intermediates)})
        labelled.update({f"seal-chain:{i}": cert for i, cert in enumerate(self.seal_chain)})
        return labelled


_parsed_crls: dict[Path, tuple[tuple[int, int, int], x509.CertificateRevocationList]] = {}


def _current_crl(path: Path) -> x509.CertificateRevocationList:
    """The CRL file parsed once per version: every submission checks revocation, and the
    refresh job replaces the file (rename: a new inode), which a stat notices."""
    info = path.stat()
    version = (info.st_ino, info.st_mtime_ns, info.st_size)
    cached = _parsed_crls.get(path)
    if cached is not None and cached[0] == version:
        return cached[1]
    crl = load_crl(path)
    _parsed_crls[path] = (version, crl)  # one dict store: safe across request threads
    return crl


def keyring_path(keys_dir: Path) -> Path:
    return keys_dir / KEYRING_FILE


def read_description(keys_dir: Path) -> dict[str, Any]:
    """keyring.json as a dict ({} when there is none yet); KeyringError when unreadable."""
    path = keyring_path(keys_dir)
    if not path.exists():
        return {}
    try:
        spec = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise KeyringError(f"{path} is not readable JSON: {exc}") from None
    if not isinstance(spec, dict) or spec.get("format") != KEYRING_FORMAT:
        raise KeyringError(f"{path} is not a {KEYRING_FORMAT} file")
    return spec


def write_keyring(keys_dir: Path, description: dict[str, Any]) -> Path:
    """Write keyring.json atomically (a reader sees the old or the new file, never half)."""
    path = keyring_path(keys_dir)
    body = {"format": KEYRING_FORMAT, **{k: v for k, v in description.items() if k != "format"}}
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    staging.write_text(json.dumps(body, indent=2) + "\n")
    staging.chmod(0o644)  # whatever the umask: start-up refuses a keyring others may change
    staging.replace(path)
    return path


def load_keyring(keys_dir: Path, *, now: datetime | None = None) -> KeyRing:
    """Load and check the whole keyring; raise KeyringError naming the first problem."""
    now = now or datetime.now(UTC)
    path = keyring_path(keys_dir)
    spec = read_description(keys_dir)
    if not spec:
        raise KeyringError(
            f"no keyring at {path}: import the gateway's keys first "
            "(rogatory keys import ..., see keys/README.md) or run 'rogatory init --dev-pki'"
        )
    files = _Files(keys_dir)
    anchors = [cert for name in _list(spec, "trust_anchors") for cert in files.certs(name)]
    for cert in anchors:
        require_ca(cert, "trust anchor")
    intermediates = [cert for name in spec.get("intermediates", []) for cert in files.certs(name)]
    for cert in intermediates:
        require_ca(cert, "intermediate")
    require_chained(intermediates, anchors)
    issuers = [*anchors, *intermediates]
    crl_paths = [files.path(name) for name in spec.get("crls", [])]
    for crl_path in crl_paths:
        require_crl(crl_path, issuers)
    intake = [_intake_pair(files, pair) for pair in _list(spec, "intake")]
    if all(key.certificate.not_valid_after_utc < now for key in intake):
        raise KeyringError("every intake certificate has expired: import a current one")
    seal = spec.get("seal")
    if not isinstance(seal, dict) or "key" not in seal or "cert" not in seal:
        raise KeyringError(f"{path}: no 'seal' key and certificate (rogatory keys import seal)")
    seal_key = _signing_key(files, seal["key"])
    seal_cert = files.cert(seal["cert"])
    require_match(seal_key, seal_cert, seal["cert"])
    if seal_cert.not_valid_after_utc < now:
        expired = f"{seal_cert.not_valid_after_utc:%Y-%m-%d}"
        raise KeyringError(f"{seal['cert']}: the seal certificate expired on {expired}")
    seal_chain = tuple(cert for name in seal.get("chain", []) for cert in files.certs(name))
    if "audit_key" not in spec:
        raise KeyringError(f"{path}: no 'audit_key' (rogatory keys import audit-key)")
    log_key = files.private_key(spec["audit_key"])
    if not isinstance(log_key, ed25519.Ed25519PrivateKey):
        raise KeyringError(f"{spec['audit_key']}: the audit log key must be Ed25519")
    return KeyRing(
        intake=intake,
        seal_key=seal_key,
        seal_cert=seal_cert,
        log_key=log_key,
        anchors=anchors,
        crl_paths=crl_paths,
        intermediates=tuple(intermediates),
        seal_chain=seal_chain,
    )


def stale_crls(keys: KeyRing, *, now: datetime, within: timedelta) -> list[tuple[Path, int]]:
    """CRL files past or within ``within`` of their nextUpdate, with hours left (<0: stale)."""
    due = []
    for crl_path in keys.crl_paths:
        next_update = load_crl(crl_path).next_update_utc
        if next_update is None or next_update - now <= within:
            hours = -1 if next_update is None else int((next_update - now).total_seconds() // 3600)
            due.append((crl_path, hours))
    return due


def issuers_without_crl(keys: KeyRing) -> list[x509.Certificate]:
    """CA certificates with no CRL: signers under them are refused (fail closed)."""
    subjects = {crl.issuer for crl in keys.crls()}
    return [cert for cert in keys.issuers if cert.subject not in subjects]


class _Files:
    """Files named by keyring.json, relative to the keys directory (or absolute)."""

    def __init__(self, keys_dir: Path) -> None:
        self.keys_dir = keys_dir

    def path(self, name: object) -> Path:
        if not isinstance(name, str) or not name:
            raise KeyringError(f"keyring.json names a file as {name!r}")
        path = self.keys_dir / name
        if not path.is_file():
            raise KeyringError(f"{path}: named in keyring.json but missing")
        return path

    def certs(self, name: object) -> list[x509.Certificate]:
        path = self.path(name)
        try:
            certs = x509.load_pem_x509_certificates(path.read_bytes())
        except ValueError:
            raise KeyringError(f"{path}: not a PEM certificate file") from None
        return certs

    def cert(self, name: object) -> x509.Certificate:
        return self.certs(name)[0]

    def private_key(self, name: object) -> Any:
        path = self.path(name)
        try:
            check_private_file_mode(path)
        except PermissionError as exc:
            raise KeyringError(f"{exc} (chmod 600 {path})") from None
        try:
            return serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (ValueError, TypeError) as exc:
            raise KeyringError(
                f"{path}: not an unencrypted PKCS#8/PEM private key ({exc})"
            ) from None


def _list(spec: dict[str, Any], name: str) -> list[Any]:
    value = spec.get(name)
    if not isinstance(value, list) or not value:
        hint = {"trust_anchors": "anchors", "intake": "intake"}.get(name, name)
        raise KeyringError(f"keyring.json: no '{name}' (rogatory keys import {hint})")
    return value


def _signing_key(files: _Files, name: object) -> SigningKey:
    key = files.private_key(name)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise KeyringError(f"{files.path(name)}: must be an RSA or EC private key")
    return key


def _intake_pair(files: _Files, pair: object) -> RecipientKey:
    if not isinstance(pair, dict) or "key" not in pair or "cert" not in pair:
        raise KeyringError("keyring.json: each 'intake' entry needs 'key' and 'cert'")
    key = _signing_key(files, pair["key"])
    cert = files.cert(pair["cert"])
    require_match(key, cert, pair["cert"])
    return RecipientKey(key, cert)


def _public_der(key: Any) -> bytes:
    der: bytes = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return der


def require_match(key: SigningKey, cert: x509.Certificate, name: str) -> None:
    if _public_der(key.public_key()) != _public_der(cert.public_key()):
        raise KeyringError(f"{name}: the certificate does not belong to its private key")


def require_ca(cert: x509.Certificate, role: str) -> None:
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is None or not constraints.ca:
        raise KeyringError(f"{role} {cert.subject.rfc4514_string()} is not a CA certificate")


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def require_chained(intermediates: list[x509.Certificate], anchors: list[x509.Certificate]) -> None:
    """Every intermediate is issued by an anchor or by an intermediate that is (no loops)."""
    reached = list(anchors)
    pending = list(intermediates)
    while pending:
        linked = [c for c in pending if any(_signed_by(c, issuer) for issuer in reached)]
        if not linked:
            names = ", ".join(c.subject.rfc4514_string() for c in pending)
            raise KeyringError(f"intermediate CA not issued by any trust anchor: {names}")
        reached += linked
        pending = [c for c in pending if c not in linked]


def require_crl(path: Path, issuers: list[x509.Certificate]) -> None:
    try:
        crl = load_crl(path)
    except ValueError:
        raise KeyringError(f"{path}: not a CRL (PEM or DER)") from None
    for issuer in issuers:
        key = issuer.public_key()
        if (
            issuer.subject == crl.issuer
            and isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey)
            and crl.is_signature_valid(key)
        ):
            return
    raise KeyringError(
        f"{path}: CRL of {crl.issuer.rfc4514_string()} is not signed by a trust anchor "
        "or intermediate in the keyring"
    )
