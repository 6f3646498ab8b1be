"""``PlaintextStream``: an AuthEnvelopedData (openssl ``cms -encrypt``, streamed BER or
DER) read as a stream of plaintext on the caller's thread; the tag decides at the end."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from crypto_support import OAEP_SHA256, flip_byte, load_recipient, openssl_encrypt

from gateway.crypto import CryptoError, InvalidEnvelope, RecipientKey
from gateway.crypto.devpki import DevPki
from gateway.crypto.plaintext_stream import PlaintextStream

CONTENT = bytes(range(256)) * 9000 + b"tail"  # about 2.2 MiB: several decrypt batches


@pytest.fixture(scope="module")
def attachment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("plaintext") / "attachment.bin"
    path.write_bytes(CONTENT)
    return path


@pytest.fixture(scope="module")
def streamed(attachment: Path, pki: DevPki) -> bytes:
    return openssl_encrypt(
        attachment, pki.intake.cert, attachment.with_suffix(".cms"), keyopts=OAEP_SHA256,
        stream=True,
    )  # fmt: skip


def _read_all(stream: PlaintextStream, size: int) -> bytes:
    out = bytearray()
    while piece := stream.read(size):
        assert len(piece) <= size
        out += piece
    return bytes(out)


@pytest.mark.parametrize("size", [1, 4096, 1024 * 1024, 8 * 1024 * 1024])
def test_a_streamed_envelope_reads_as_its_plaintext_in_pieces_of_any_size(
    streamed: bytes, intake_keys: list[RecipientKey], size: int
) -> None:
    if size == 1:
        head_size = 70_000  # byte by byte over the whole content would take long
        stream = PlaintextStream(io.BytesIO(streamed), intake_keys)
        head = b"".join(stream.read(1) for _ in range(head_size))
        assert head == CONTENT[:head_size]
        assert _read_all(stream, 65536) == CONTENT[head_size:]
    else:
        stream = PlaintextStream(io.BytesIO(streamed), intake_keys)
        assert _read_all(stream, size) == CONTENT
    assert stream.size == len(CONTENT)
    assert stream.read(10) == b""  # the end stays the end
    stream.drain()  # a sound envelope drains quietly


def test_a_der_envelope_reads_as_its_plaintext(
    attachment: Path, pki: DevPki, intake_keys: list[RecipientKey], tmp_path: Path
) -> None:
    der = openssl_encrypt(attachment, pki.intake.cert, tmp_path / "d.cms", keyopts=OAEP_SHA256)
    assert _read_all(PlaintextStream(io.BytesIO(der), intake_keys), 1 << 20) == CONTENT


def test_a_flipped_ciphertext_byte_fails_at_the_end_and_again_on_drain(
    streamed: bytes, intake_keys: list[RecipientKey]
) -> None:
    stream = PlaintextStream(io.BytesIO(flip_byte(streamed, len(streamed) // 2)), intake_keys)
    assert stream.read(1024)  # unauthenticated bytes come out before the tag is reached
    with pytest.raises(InvalidEnvelope):
        _read_all(stream, 1 << 20)
    with pytest.raises(InvalidEnvelope):
        stream.drain()


def test_a_reader_that_stops_early_learns_the_envelope_failure_from_drain(
    streamed: bytes, pki: DevPki
) -> None:
    enc = pki.authorities["authority-a"]["encryption"]
    stream = PlaintextStream(io.BytesIO(streamed), [load_recipient(enc.cert, enc.key)])
    assert stream.read(100)  # garbage: the content key did not unwrap (told only at the end)
    with pytest.raises(InvalidEnvelope):
        stream.drain()


@pytest.mark.parametrize("cut", [10, 400, 5000, -30, -1])
def test_a_truncated_envelope_is_refused(
    streamed: bytes, intake_keys: list[RecipientKey], cut: int
) -> None:
    with pytest.raises(CryptoError) as refused:
        _read_all(PlaintextStream(io.BytesIO(streamed[:cut]), intake_keys), 1 << 20)
    assert refused.value.code in {"malformed", "undecryptable"}


def test_plaintext_beyond_the_limit_is_refused(
    streamed: bytes, intake_keys: list[RecipientKey]
) -> None:
    stream = PlaintextStream(io.BytesIO(streamed), intake_keys, max_size=1_000_000)
    with pytest.raises(CryptoError) as refused:
        _read_all(stream, 1 << 20)
    assert refused.value.code == "malformed"


def test_trailing_bytes_after_the_envelope_are_refused(
    streamed: bytes, intake_keys: list[RecipientKey]
) -> None:
    with pytest.raises(CryptoError) as refused:
        _read_all(PlaintextStream(io.BytesIO(streamed + b"\x00"), intake_keys), 1 << 20)
    assert refused.value.code == "malformed"
