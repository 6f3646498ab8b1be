"""C2SP tlog-proof@v1 bundles: leaf index, inclusion path and signed checkpoint (pure).

c2sp.org/tlog-proof@v1
index <n>
<base64 hash>...
<blank line>
<checkpoint signed note>
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.audit.checkpoint import open_checkpoint
from gateway.audit.errors import VerificationError
from gateway.audit.merkle import HASH_SIZE, leaf_hash, verify_inclusion

BUNDLE_HEADER = "c2sp.org/tlog-proof@v1"
MAX_BUNDLE_BYTES = 1 << 20


@dataclass(frozen=True)
class ProofBundle:
    index: int
    hashes: tuple[bytes, ...]
    checkpoint: str


def encode_proof_bundle(index: int, hashes: Sequence[bytes], checkpoint_text: str) -> str:
    lines = [BUNDLE_HEADER, f"index {index}"]
    lines += [base64.b64encode(h).decode("ascii") for h in hashes]
    return "\n".join(lines) + "\n\n" + checkpoint_text


def parse_proof_bundle(bundle: str | bytes) -> ProofBundle:
    if isinstance(bundle, bytes):
        if len(bundle) > MAX_BUNDLE_BYTES:
            raise VerificationError("bundle-too-large", "proof bundle exceeds 1 MiB")
        try:
            bundle = bundle.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise VerificationError("malformed-bundle", "proof bundle is not UTF-8") from exc
    head, sep, checkpoint_text = bundle.partition("\n\n")
    lines = head.split("\n")
    if not sep or len(lines) < 2 or lines[0] != BUNDLE_HEADER:
        raise VerificationError("malformed-bundle", f"missing {BUNDLE_HEADER} header")
    if lines[1].startswith("extra "):
        lines.pop(1)
    index_text = lines[1].removeprefix("index ")
    if index_text == lines[1] or not index_text.isdigit():
        raise VerificationError("malformed-bundle", "missing index line")
    hashes = []
    for line in lines[2:]:
        try:
            value = base64.b64decode(line, validate=True)
        except binascii.Error as exc:
            raise VerificationError("malformed-bundle", "proof hash is not base64") from exc
        if len(value) != HASH_SIZE:
            raise VerificationError("malformed-bundle", "proof hash is not 32 bytes")
        hashes.append(value)
    return ProofBundle(int(index_text), tuple(hashes), checkpoint_text)


def verify_proof_bundle(
    bundle: str | bytes,
    entry_bytes: bytes,
    log_public_key: Ed25519PublicKey,
    origin: str | None = None,
) -> None:
    """Raise VerificationError unless the signed checkpoint's log includes ``entry_bytes``."""
    parsed = parse_proof_bundle(bundle)
    checkpoint = open_checkpoint(parsed.checkpoint, log_public_key)
    if origin is not None and checkpoint.origin != origin:
        raise VerificationError("wrong-origin", f"checkpoint is for log {checkpoint.origin!r}")
    verify_inclusion(
        parsed.index, checkpoint.size, leaf_hash(entry_bytes), parsed.hashes, checkpoint.root
    )
