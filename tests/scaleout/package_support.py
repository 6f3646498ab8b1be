"""Sealed packages for authority B, made in process, and the keys to open them."""

from __future__ import annotations

from gateway.config import Settings
from gateway.crypto import RecipientKey, SealingWriter, TrustConfig
from gateway.crypto.keyfiles import load_certificate, load_crl, load_private_key


def recipient_and_trust(settings: Settings) -> tuple[RecipientKey, TrustConfig]:
    """Authority B's decryption key and the dev CA with its CRL."""
    pki = settings.keys_dir / "dev-pki"
    recipient = RecipientKey(
        load_private_key(pki / "authority-b-enc.key"),  # type: ignore[arg-type]
        load_certificate(pki / "authority-b-enc.pem"),
    )
    trust = TrustConfig(
        anchors=[load_certificate(pki / "ca.pem")], crls=[load_crl(pki / "ca.crl.pem")]
    )
    return recipient, trust


def sealed_for_b(settings: Settings, content: bytes) -> bytes:
    """``content`` signed by the gateway seal and encrypted to authority B, as packages are."""
    pki = settings.keys_dir / "dev-pki"
    pieces: list[bytes] = []
    writer = SealingWriter(
        pieces.append,
        load_private_key(pki / "gateway-seal.key"),  # type: ignore[arg-type]
        load_certificate(pki / "gateway-seal.pem"),
        [load_certificate(pki / "authority-b-enc.pem")],
    )
    writer.write(content)
    writer.finish()
    return b"".join(pieces)
