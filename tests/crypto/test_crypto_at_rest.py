"""At-rest format: round trips, and every tamper, truncation or reordering is refused."""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.crypto import InvalidEnvelope
from gateway.crypto.at_rest import (
    FileKek,
    Kek,
    decrypt_bytes,
    decrypt_stream,
    encrypt_bytes,
    encrypt_stream,
    new_data_key,
    rewrap_data_keys,
)

HEADER = 17
CHUNK = 64
RECORD = CHUNK + 16
KEY = bytes(range(32))


def _encrypt(plaintext: bytes, aad: bytes = b"object-1") -> bytes:
    out = io.BytesIO()
    encrypt_stream(io.BytesIO(plaintext), out, KEY, aad=aad, chunk_size=CHUNK)
    return out.getvalue()


def _decrypt(ciphertext: bytes, aad: bytes = b"object-1", key: bytes = KEY) -> bytes:
    out = io.BytesIO()
    size = decrypt_stream(io.BytesIO(ciphertext), out, key, aad=aad)
    assert size == len(out.getvalue())
    return out.getvalue()


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 5])
def test_round_trip_at_chunk_boundaries(size: int) -> None:
    plaintext = os.urandom(size)
    ciphertext = _encrypt(plaintext)
    assert len(ciphertext) == HEADER + max(1, -(-size // CHUNK)) * 16 + size
    assert _decrypt(ciphertext) == plaintext


def test_default_chunking_round_trips_bytes() -> None:
    data_key = new_data_key()
    plaintext = os.urandom(3 * 1024 * 1024 + 7)
    assert decrypt_bytes(encrypt_bytes(plaintext, data_key, aad=b"a"), data_key, aad=b"a") == (
        plaintext
    )


def test_same_plaintext_encrypts_differently() -> None:
    assert _encrypt(b"same") != _encrypt(b"same")


PLAIN = bytes(range(200)) * 2  # 400 bytes -> 7 chunks of 64


def _drop_chunk(ciphertext: bytes, index: int) -> bytes:
    start = HEADER + index * RECORD
    return ciphertext[:start] + ciphertext[start + RECORD :]


def _swap_chunks(ciphertext: bytes) -> bytes:
    first, second = HEADER, HEADER + RECORD
    return (
        ciphertext[:first]
        + ciphertext[second : second + RECORD]
        + ciphertext[first:second]
        + ciphertext[second + RECORD :]
    )


TAMPERING = {
    "flipped-header-magic": lambda c: bytes([c[0] ^ 1]) + c[1:],
    "changed-chunk-size": lambda c: c[:5] + (128).to_bytes(4, "big") + c[9:],
    "flipped-nonce-prefix": lambda c: c[:12] + bytes([c[12] ^ 1]) + c[13:],
    "flipped-ciphertext": lambda c: c[:40] + bytes([c[40] ^ 1]) + c[41:],
    "flipped-tag": lambda c: c[:-1] + bytes([c[-1] ^ 1]),
    "truncated-at-chunk-boundary": lambda c: c[: HEADER + 3 * RECORD],
    "truncated-mid-chunk": lambda c: c[: HEADER + 3 * RECORD + 10],
    "header-only": lambda c: c[:HEADER],
    "short-header": lambda c: c[: HEADER - 1],
    "empty": lambda c: b"",
    "dropped-middle-chunk": lambda c: _drop_chunk(c, 2),
    "swapped-chunks": _swap_chunks,
    "appended-chunk": lambda c: c + c[HEADER : HEADER + RECORD],
    "appended-byte": lambda c: c + b"\x00",
}


@pytest.mark.parametrize("tamper", TAMPERING.values(), ids=TAMPERING.keys())
def test_tampered_stream_is_refused(tamper) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidEnvelope):
        _decrypt(tamper(_encrypt(PLAIN)))


def test_other_aad_or_key_is_refused() -> None:
    ciphertext = _encrypt(PLAIN)
    with pytest.raises(InvalidEnvelope):
        _decrypt(ciphertext, aad=b"object-2")
    with pytest.raises(InvalidEnvelope):
        _decrypt(ciphertext, key=new_data_key())


@settings(max_examples=60, deadline=None)
@given(plaintext=st.binary(max_size=600), position=st.integers(0), bit=st.integers(0, 7))
def test_any_single_bit_flip_is_detected(plaintext: bytes, position: int, bit: int) -> None:
    ciphertext = bytearray(_encrypt(plaintext))
    assert _decrypt(bytes(ciphertext)) == plaintext
    ciphertext[position % len(ciphertext)] ^= 1 << bit
    with pytest.raises(InvalidEnvelope):
        _decrypt(bytes(ciphertext))


def _kek_file(directory: Path, name: str, mode: int = 0o600) -> Path:
    path = directory / name
    path.write_bytes(base64.b64encode(os.urandom(32)) + b"\n")
    path.chmod(mode)
    return path


def test_file_kek_wraps_and_unwraps_data_keys(tmp_path: Path) -> None:
    kek: Kek = FileKek.from_file(_kek_file(tmp_path, "kek.b64"))
    data_key = new_data_key()
    wrapped = kek.wrap(data_key)
    assert data_key not in wrapped
    assert kek.unwrap(wrapped) == data_key
    assert kek.key_id.startswith("file:")
    assert kek.key_id not in repr(data_key)


def test_file_kek_refuses_group_readable_file(tmp_path: Path) -> None:
    with pytest.raises(PermissionError):
        FileKek.from_file(_kek_file(tmp_path, "loose.b64", mode=0o640))


def test_file_kek_from_environment_and_bad_values() -> None:
    value = base64.b64encode(bytes(32)).decode()
    assert FileKek.from_env(environ={"ROGATORY_KEK": value}).key_id == FileKek(bytes(32)).key_id
    with pytest.raises(ValueError, match="not set"):
        FileKek.from_env(environ={})
    with pytest.raises(ValueError, match="32 bytes"):
        FileKek.from_env(environ={"ROGATORY_KEK": base64.b64encode(b"short").decode()})
    with pytest.raises(ValueError, match="base64"):
        FileKek.from_env(environ={"ROGATORY_KEK": "not base64!"})


def test_data_key_wrapped_by_another_kek_is_refused(tmp_path: Path) -> None:
    first = FileKek.from_file(_kek_file(tmp_path, "a.b64"))
    second = FileKek.from_file(_kek_file(tmp_path, "b.b64"))
    with pytest.raises(InvalidEnvelope):
        second.unwrap(first.wrap(new_data_key()))
    with pytest.raises(InvalidEnvelope):
        first.unwrap(b"\x02" + first.wrap(new_data_key())[1:])


def test_rewrap_moves_every_data_key_to_the_new_kek(tmp_path: Path) -> None:
    old = FileKek.from_file(_kek_file(tmp_path, "old.b64"))
    new = FileKek.from_file(_kek_file(tmp_path, "new.b64"))
    data_keys = {f"object-{i}": new_data_key() for i in range(5)}
    rewrapped = dict(rewrap_data_keys(((k, old.wrap(v)) for k, v in data_keys.items()), old, new))
    assert {k: new.unwrap(v) for k, v in rewrapped.items()} == data_keys
    with pytest.raises(InvalidEnvelope):
        old.unwrap(rewrapped["object-0"])
