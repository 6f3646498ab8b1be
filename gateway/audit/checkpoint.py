"""C2SP tlog-checkpoint in signed-note form, Ed25519 log signatures and
tlog-cosignature/v1 witness cosignatures (pure).

Note: ``<origin>\\n<size>\\n<base64 root>\\n`` then a blank line and signature
lines ``— <name> base64(key id[4] || signature)``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gateway.audit.errors import VerificationError
from gateway.audit.merkle import HASH_SIZE

SIGNATURE_PREFIX = "\u2014 "
ED25519_NOTE_ALGORITHM = 0x01
ED25519_COSIGNATURE_ALGORITHM = 0x04
COSIGNATURE_HEADER = b"cosignature/v1\n"
MAX_NOTE_BYTES = 1 << 20


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode("ascii")]
        return "\n".join([*lines, *self.extensions]) + "\n"


@dataclass(frozen=True)
class SignatureLine:
    name: str
    key_id: bytes
    signature: bytes

    def render(self) -> str:
        blob = base64.b64encode(self.key_id + self.signature).decode("ascii")
        return f"{SIGNATURE_PREFIX}{self.name} {blob}\n"


@dataclass(frozen=True)
class SignedNote:
    body: str
    signatures: tuple[SignatureLine, ...]

    def render(self) -> str:
        return self.body + "\n" + "".join(line.render() for line in self.signatures)


@dataclass(frozen=True)
class Cosignature:
    """A verified witness cosignature on a checkpoint."""

    name: str
    key_id: bytes
    timestamp: int
    line: str


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(
    name: str, public_key: Ed25519PublicKey, algorithm: int = ED25519_NOTE_ALGORITHM
) -> bytes:
    """First 4 bytes of SHA-256(name || 0x0A || algorithm || public key)."""
    material = name.encode("utf-8") + b"\n" + bytes([algorithm]) + _raw_public(public_key)
    return hashlib.sha256(material).digest()[:4]


def verifier_key(name: str, public_key: Ed25519PublicKey) -> str:
    """signed-note vkey: ``<name>+<hex key id>+<base64(0x01 || key)>``."""
    blob = base64.b64encode(bytes([ED25519_NOTE_ALGORITHM]) + _raw_public(public_key)).decode()
    return f"{name}+{key_id(name, public_key).hex()}+{blob}"


def _valid_name(name: str) -> bool:
    return bool(name) and not any(c.isspace() for c in name) and "+" not in name


def parse_note(text: str) -> SignedNote:
    if len(text.encode("utf-8")) > MAX_NOTE_BYTES:
        raise VerificationError("note-too-large", "signed note exceeds 1 MiB")
    body, sep, signature_block = text.rpartition("\n\n")
    if not sep or not signature_block.endswith("\n"):
        raise VerificationError("malformed-note", "no blank line before signatures")
    body += "\n"
    lines = []
    for raw in signature_block[:-1].split("\n"):
        if not raw.startswith(SIGNATURE_PREFIX):
            raise VerificationError("malformed-note", "signature line lacks the em dash prefix")
        name, _, blob = raw[len(SIGNATURE_PREFIX) :].partition(" ")
        if not _valid_name(name) or " " in blob:
            raise VerificationError("malformed-note", "bad signature line")
        try:
            decoded = base64.b64decode(blob, validate=True)
        except binascii.Error as exc:
            raise VerificationError("malformed-note", "signature is not base64") from exc
        if len(decoded) < 5:
            raise VerificationError("malformed-note", "signature too short")
        lines.append(SignatureLine(name, decoded[:4], decoded[4:]))
    if not lines:
        raise VerificationError("malformed-note", "note has no signatures")
    return SignedNote(body, tuple(lines))


def parse_checkpoint_body(body: str) -> Checkpoint:
    lines = body.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise VerificationError("malformed-checkpoint", "checkpoint needs origin, size and root")
    origin, size_text, root_text, *extensions = lines[:-1]
    if not origin or not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise VerificationError("malformed-checkpoint", "bad origin or size line")
    try:
        root = base64.b64decode(root_text, validate=True)
    except binascii.Error as exc:
        raise VerificationError("malformed-checkpoint", "root is not base64") from exc
    if len(root) != HASH_SIZE or any(not line for line in extensions):
        raise VerificationError("malformed-checkpoint", "bad root or empty extension line")
    return Checkpoint(origin, int(size_text), root, tuple(extensions))


def sign_checkpoint(
    checkpoint: Checkpoint, log_key: Ed25519PrivateKey, name: str | None = None
) -> str:
    """Signed note text for ``checkpoint``; the key name defaults to the origin."""
    key_name = name or checkpoint.origin
    body = checkpoint.body()
    signature = log_key.sign(body.encode("utf-8"))
    line = SignatureLine(key_name, key_id(key_name, log_key.public_key()), signature)
    return SignedNote(body, (line,)).render()


def open_checkpoint(
    text: str, log_public_key: Ed25519PublicKey, name: str | None = None
) -> Checkpoint:
    """Parse a checkpoint note and require a valid log signature on it."""
    note = parse_note(text)
    checkpoint = parse_checkpoint_body(note.body)
    key_name = name or checkpoint.origin
    expected_id = key_id(key_name, log_public_key)
    for line in note.signatures:
        if line.name == key_name and hmac.compare_digest(line.key_id, expected_id):
            try:
                log_public_key.verify(line.signature, note.body.encode("utf-8"))
            except InvalidSignature as exc:
                raise VerificationError(
                    "bad-checkpoint-signature", "log signature invalid"
                ) from exc
            return checkpoint
    raise VerificationError("no-log-signature", f"no signature by log key {key_name!r}")


def _cosigned_message(body: str, timestamp: int) -> bytes:
    return COSIGNATURE_HEADER + f"time {timestamp}\n".encode("ascii") + body.encode("utf-8")


def cosign(
    checkpoint_text: str, witness_key: Ed25519PrivateKey, witness_name: str, timestamp: int
) -> str:
    """A tlog-cosignature/v1 signature line (what a witness returns)."""
    if not 0 <= timestamp < 1 << 63:
        raise ValueError("timestamp out of range")
    body = parse_note(checkpoint_text).body
    signature = witness_key.sign(_cosigned_message(body, timestamp))
    blob = struct.pack(">Q", timestamp) + signature
    line = SignatureLine(
        witness_name,
        key_id(witness_name, witness_key.public_key(), ED25519_COSIGNATURE_ALGORITHM),
        blob,
    )
    return line.render()


def verify_cosignature(
    checkpoint_text: str, line: str, witness_name: str, witness_public_key: Ed25519PublicKey
) -> Cosignature:
    """Verify one cosignature line against the checkpoint it claims to cosign."""
    body = parse_note(checkpoint_text).body
    parsed = parse_note(body + "\n" + line.rstrip("\n") + "\n").signatures[0]
    expected_id = key_id(witness_name, witness_public_key, ED25519_COSIGNATURE_ALGORITHM)
    if parsed.name != witness_name or not hmac.compare_digest(parsed.key_id, expected_id):
        raise VerificationError("unknown-cosigner", f"line is not from witness {witness_name!r}")
    if len(parsed.signature) != 8 + 64:
        raise VerificationError("malformed-cosignature", "cosignature must be timestamp + 64 bytes")
    (timestamp,) = struct.unpack(">Q", parsed.signature[:8])
    if timestamp >= 1 << 63:
        raise VerificationError("malformed-cosignature", "timestamp exceeds 2^63-1")
    try:
        witness_public_key.verify(parsed.signature[8:], _cosigned_message(body, timestamp))
    except InvalidSignature as exc:
        raise VerificationError(
            "bad-cosignature", f"cosignature by {witness_name!r} invalid"
        ) from exc
    return Cosignature(witness_name, parsed.key_id, timestamp, parsed.render())


def add_signature_lines(checkpoint_text: str, lines: list[str]) -> str:
    """The checkpoint note with extra (already verified) signature lines appended."""
    note = parse_note(checkpoint_text)
    extra = tuple(
        parse_note(note.body + "\n" + line.rstrip("\n") + "\n").signatures[0] for line in lines
    )
    return SignedNote(note.body, note.signatures + extra).render()
