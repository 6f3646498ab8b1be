"""At-rest encryption: per-object data keys, chunked AES-256-GCM, KEK wrapping.

Stream format v1 (all integers big-endian)::

    header  = b"RGAR" | version u8 (=1) | chunk_size u32 | nonce_prefix 8 bytes
    chunk_i = AES-256-GCM(data_key, nonce = nonce_prefix | i u32,
                          aad = header | final u8 | caller aad) -> ciphertext | tag16

Every chunk but the last holds exactly ``chunk_size`` plaintext bytes; the last
holds 0..chunk_size and is the only one sealed with final=1. Reordering breaks the
counter nonce, truncation (even at a chunk boundary) breaks the final flag, and any
header change breaks every tag.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Final, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from gateway.crypto import _primitives
from gateway.crypto.errors import InvalidEnvelope
from gateway.crypto.keyfiles import check_private_file_mode

MAGIC: Final = b"RGAR"
FORMAT_VERSION: Final = 1
DEFAULT_CHUNK_SIZE: Final = 1024 * 1024
MAX_CHUNK_SIZE: Final = 16 * 1024 * 1024
DATA_KEY_SIZE: Final = 32
TAG_SIZE: Final = 16
_HEADER: Final = struct.Struct(">4sBI8s")
_MAX_CHUNKS: Final = 2**32
_WRAP_VERSION: Final = b"\x01"


def new_data_key() -> bytes:
    """A fresh random AES-256 key for one stored object."""
    return os.urandom(DATA_KEY_SIZE)


def _chunk_aad(header: bytes, final: bool, aad: bytes) -> bytes:
    return header + (b"\x01" if final else b"\x00") + aad


class StreamEncryptor:
    """Incremental writer of the v1 format: ``write()`` plaintext, then ``finish()`` once."""

    def __init__(
        self, dst: BinaryIO, data_key: bytes, *, aad: bytes, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> None:
        if len(data_key) != DATA_KEY_SIZE:
            raise ValueError("data key must be 32 bytes")
        if not 0 < chunk_size <= MAX_CHUNK_SIZE:
            raise ValueError("chunk size out of range")
        self._dst = dst
        self._data_key = data_key
        self._aad = aad
        self._chunk_size = chunk_size
        self._prefix = os.urandom(8)
        self._header = _HEADER.pack(MAGIC, FORMAT_VERSION, chunk_size, self._prefix)
        self._parts: list[memoryview] = []
        self._pending = 0
        self._counter = 0
        self.plaintext_size = 0
        dst.write(self._header)

    def _seal(self, parts: list[memoryview], final: bool) -> None:
        """Encrypt one chunk given as consecutive parts (no join: GCM is fed part by part;
        the record is the same as ``AESGCM.encrypt`` of the joined plaintext)."""
        if self._counter >= _MAX_CHUNKS:
            raise ValueError("object too large for one data key")
        nonce = self._prefix + self._counter.to_bytes(4, "big")
        encryptor = _primitives.gcm_stream_encryptor(self._data_key, nonce)
        encryptor.authenticate_additional_data(_chunk_aad(self._header, final, self._aad))
        for part in parts:
            self._dst.write(encryptor.update(part))
        encryptor.finalize()
        self._dst.write(encryptor.tag)
        self._counter += 1

    def _take(self, size: int) -> list[memoryview]:
        """The next ``size`` pending bytes, as views of the queued parts (zero-copy)."""
        taken, needed = [], size
        while needed:
            part = self._parts[0]
            taken.append(part[:needed])
            if len(part) > needed:
                self._parts[0] = part[needed:]
            else:
                self._parts.pop(0)
            needed -= len(taken[-1])
        self._pending -= size
        return taken

    def write(self, data: bytes) -> None:
        """Queue plaintext; the caller must not modify ``data`` afterwards."""
        if not data:
            return
        self.plaintext_size += len(data)
        self._parts.append(memoryview(data if isinstance(data, bytes) else bytes(data)))
        self._pending += len(data)
        # Keep at least one byte back: only finish() knows which chunk is the last.
        while self._pending > self._chunk_size:
            self._seal(self._take(self._chunk_size), final=False)

    def finish(self) -> int:
        self._seal(self._parts, final=True)
        self._parts = []
        self._pending = 0
        return self.plaintext_size


def encrypt_stream(
    src: BinaryIO,
    dst: BinaryIO,
    data_key: bytes,
    *,
    aad: bytes,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> int:
    """Encrypt all of ``src`` into ``dst``; returns the plaintext size."""
    encryptor = StreamEncryptor(dst, data_key, aad=aad, chunk_size=chunk_size)
    while block := src.read(chunk_size):
        encryptor.write(block)
    return encryptor.finish()


def _read_exact(src: BinaryIO, n: int) -> bytes:
    parts: list[bytes] = []
    while n > 0:
        part = src.read(n)
        if not part:
            break
        parts.append(part)
        n -= len(part)
    return b"".join(parts)


def decrypt_stream(src: BinaryIO, dst: BinaryIO, data_key: bytes, *, aad: bytes) -> int:
    """Decrypt a v1 stream into ``dst``; returns the plaintext size.

    Raises ``InvalidEnvelope`` on any tampering, truncation, reordering or wrong key.
    ``dst`` may have received earlier, authentic chunks when that happens.
    """
    total = 0
    for plaintext in decrypt_chunks(src, data_key, aad=aad):
        dst.write(plaintext)
        total += len(plaintext)
    return total


def decrypt_chunks(src: BinaryIO, data_key: bytes, *, aad: bytes) -> Iterator[bytes]:
    """The plaintext of a v1 stream, one authenticated chunk at a time.

    Raises ``InvalidEnvelope`` (at the chunk where it is found) on any tampering,
    truncation, reordering or wrong key; the chunks yielded before it are authentic.
    """
    if len(data_key) != DATA_KEY_SIZE:
        raise ValueError("data key must be 32 bytes")
    header = _read_exact(src, _HEADER.size)
    if len(header) != _HEADER.size:
        raise InvalidEnvelope("at-rest header truncated")
    magic, version, chunk_size, prefix = _HEADER.unpack(header)
    if magic != MAGIC or version != FORMAT_VERSION or not 0 < chunk_size <= MAX_CHUNK_SIZE:
        raise InvalidEnvelope("not an at-rest v1 stream")
    aead = AESGCM(data_key)
    record = chunk_size + TAG_SIZE
    counter = 0
    current = _read_exact(src, record)
    while True:
        following = _read_exact(src, record) if len(current) == record else b""
        final = not following
        if len(current) < TAG_SIZE or counter >= _MAX_CHUNKS:
            raise InvalidEnvelope("at-rest stream truncated")
        nonce = prefix + counter.to_bytes(4, "big")
        try:
            plaintext = aead.decrypt(nonce, current, _chunk_aad(header, final, aad))
        except InvalidTag:
            raise InvalidEnvelope(f"at-rest chunk {counter} failed authentication") from None
        yield plaintext
        counter += 1
        if final:
            return
        current = following


def encrypt_bytes(plaintext: bytes, data_key: bytes, *, aad: bytes) -> bytes:
    out = io.BytesIO()
    encrypt_stream(io.BytesIO(plaintext), out, data_key, aad=aad)
    return out.getvalue()


def decrypt_bytes(ciphertext: bytes, data_key: bytes, *, aad: bytes) -> bytes:
    out = io.BytesIO()
    decrypt_stream(io.BytesIO(ciphertext), out, data_key, aad=aad)
    return out.getvalue()


class Kek(Protocol):
    """A key-encryption key: wraps per-object data keys. PKCS#11/KMS backends fit here."""

    @property
    def key_id(self) -> str: ...

    def wrap(self, dek: bytes) -> bytes: ...

    def unwrap(self, blob: bytes) -> bytes: ...


class FileKek:
    """A 32-byte AES key-wrap (RFC 3394) KEK read from a 0600 file or an env var (base64)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("KEK must be 32 bytes")
        self._key = key
        self._key_id = "file:" + hashlib.sha256(b"rogatory kek id v1" + key).hexdigest()[:16]

    @classmethod
    def from_file(cls, path: Path) -> FileKek:
        check_private_file_mode(path)
        return cls(_decode_b64_key(path.read_bytes(), str(path)))

    @classmethod
    def from_env(
        cls, variable: str = "ROGATORY_KEK", environ: dict[str, str] | None = None
    ) -> FileKek:
        value = (os.environ if environ is None else environ).get(variable)
        if not value:
            raise ValueError(f"{variable} is not set")
        return cls(_decode_b64_key(value.encode(), variable))

    @property
    def key_id(self) -> str:
        return self._key_id

    def wrap(self, dek: bytes) -> bytes:
        return _WRAP_VERSION + aes_key_wrap(self._key, dek)

    def unwrap(self, blob: bytes) -> bytes:
        if blob[:1] != _WRAP_VERSION:
            raise InvalidEnvelope("unknown wrapped-key version")
        try:
            return aes_key_unwrap(self._key, blob[1:])
        except (InvalidUnwrap, ValueError):
            raise InvalidEnvelope(f"data key does not unwrap under {self._key_id}") from None

    def __repr__(self) -> str:
        return f"FileKek({self._key_id})"


def _decode_b64_key(raw: bytes, source: str) -> bytes:
    try:
        key = base64.b64decode(raw.strip(), validate=True)
    except binascii.Error:
        raise ValueError(f"{source}: KEK is not valid base64") from None
    if len(key) != 32:
        raise ValueError(f"{source}: KEK must decode to 32 bytes")
    return key


def rewrap_data_keys(
    wrapped: Iterable[tuple[str, bytes]], old: Kek, new: Kek
) -> Iterator[tuple[str, bytes]]:
    """Yield (object id, data key wrapped under ``new``) for each key wrapped under ``old``."""
    for object_id, blob in wrapped:
        yield object_id, new.wrap(old.unwrap(blob))
