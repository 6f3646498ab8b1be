"""The gateway's own keys, listed in `<keys_dir>/keyring.json` (see keys/README.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from gateway.config import ConfigError
from gateway.crypto import RecipientKey, TrustConfig
from gateway.crypto.keyfiles import load_certificate, load_crl, load_private_key

KEYRING_FORMAT = "rogatory-keyring/1"


@dataclass(frozen=True)
class KeyRing:
    intake: list[RecipientKey]
    seal_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    seal_cert: x509.Certificate
    log_key: ed25519.Ed25519PrivateKey
    anchors: list[x509.Certificate]
    crl_paths: list[Path]

    def trust(self, *, allow_stale_crl: bool, max_skew_seconds: int) -> TrustConfig:
        return TrustConfig(
            anchors=self.anchors,
            crls=[load_crl(path) for path in self.crl_paths],
            allow_stale_crl=allow_stale_crl,
            max_skew=timedelta(seconds=max_skew_seconds),
        )


def write_keyring(keys_dir: Path, description: dict[str, Any]) -> Path:
    path = keys_dir / "keyring.json"
    path.write_text(json.dumps({"format": KEYRING_FORMAT, **description}, indent=2) + "\n")
    return path


def load_keyring(keys_dir: Path) -> KeyRing:
    path = keys_dir / "keyring.json"
    try:
        spec = json.loads(path.read_text())
    except (OSError, ValueError):
        raise ConfigError(f"setting 'keys_dir': cannot read {path} (run 'rogatory init')") from None
    if spec.get("format") != KEYRING_FORMAT:
        raise ConfigError(f"setting 'keys_dir': {path} is not a {KEYRING_FORMAT} file")

    def at(name: str) -> Path:
        return keys_dir / name

    intake = [
        RecipientKey(_typed_key(at(pair["key"])), load_certificate(at(pair["cert"])))
        for pair in spec["intake"]
    ]
    log_key = load_private_key(at(spec["audit_key"]))
    if not isinstance(log_key, ed25519.Ed25519PrivateKey):
        raise ConfigError("setting 'keys_dir': the audit log key must be Ed25519")
    return KeyRing(
        intake=intake,
        seal_key=_typed_key(at(spec["seal"]["key"])),
        seal_cert=load_certificate(at(spec["seal"]["cert"])),
        log_key=log_key,
        anchors=[load_certificate(at(name)) for name in spec["trust_anchors"]],
        crl_paths=[at(name) for name in spec.get("crls", [])],
    )


def _typed_key(path: Path) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    key = load_private_key(path)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ConfigError(f"setting 'keys_dir': {path.name} must be an RSA or EC key")
    return key
