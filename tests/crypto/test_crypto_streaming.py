"""Large attachments: openssl ``cms -encrypt -stream`` output decrypted without buffering."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from crypto_support import OAEP_SHA256, flip_byte, openssl_encrypt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.crypto import CryptoError, InvalidEnvelope, RecipientKey, open_attachment_stream
from gateway.crypto.devpki import DevPki

WORKER = Path(__file__).with_name("stream_worker.py")
REPO = Path(__file__).resolve().parents[2]
LARGE_SIZE = 256 * 1024 * 1024
RSS_LIMIT = 100 * 1024 * 1024


@pytest.fixture(scope="module")
def attachment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("stream") / "attachment.bin"
    path.write_bytes(bytes(range(256)) * 300 + b"tail")
    return path


@pytest.fixture(scope="module")
def streamed(attachment: Path, pki: DevPki) -> bytes:
    return openssl_encrypt(
        attachment,
        pki.intake.cert,
        attachment.with_suffix(".cms"),
        keyopts=OAEP_SHA256,
        stream=True,
    )


def _collect(data: bytes, keys: list[RecipientKey], **kwargs: int) -> tuple[object, bytes]:
    out = bytearray()
    result = open_attachment_stream(io.BytesIO(data), keys, out.extend, **kwargs)
    return result, bytes(out)


def test_streamed_rsa_envelope_yields_plaintext_and_digest(
    attachment: Path, streamed: bytes, intake_keys: list[RecipientKey]
) -> None:
    assert streamed[1] == 0x80  # indefinite-length BER, as openssl streams it
    result, plaintext = _collect(streamed, intake_keys)
    expected = attachment.read_bytes()
    assert plaintext == expected
    assert result.sha256_hex == hashlib.sha256(expected).hexdigest()  # type: ignore[attr-defined]
    assert result.size == len(expected)  # type: ignore[attr-defined]


def test_streamed_ecdh_envelope_opens(attachment: Path, pki: DevPki, tmp_path: Path) -> None:
    from crypto_support import load_recipient

    enc = pki.authorities["authority-b"]["encryption"]
    streamed = openssl_encrypt(
        attachment,
        enc.cert,
        tmp_path / "ec.cms",
        keyopts=["-keyopt", "ecdh_kdf_md:sha256"],
        stream=True,
    )
    _, plaintext = _collect(streamed, [load_recipient(enc.cert, enc.key)])
    assert plaintext == attachment.read_bytes()


def test_definite_length_envelope_also_streams(
    attachment: Path, pki: DevPki, intake_keys: list[RecipientKey], tmp_path: Path
) -> None:
    der = openssl_encrypt(attachment, pki.intake.cert, tmp_path / "d.cms", keyopts=OAEP_SHA256)
    _, plaintext = _collect(der, intake_keys)
    assert plaintext == attachment.read_bytes()


def test_tampered_stream_is_undecryptable(streamed: bytes, intake_keys: list[RecipientKey]) -> None:
    with pytest.raises(InvalidEnvelope):
        _collect(flip_byte(streamed, len(streamed) // 2), intake_keys)


@pytest.mark.parametrize("cut", [10, 400, 5000, -30, -1])
def test_truncated_stream_is_refused(
    streamed: bytes, intake_keys: list[RecipientKey], cut: int
) -> None:
    with pytest.raises(CryptoError) as refused:
        _collect(streamed[:cut], intake_keys)
    assert refused.value.code in {"malformed", "undecryptable"}


def test_stream_larger_than_limit_is_refused(
    streamed: bytes, intake_keys: list[RecipientKey]
) -> None:
    with pytest.raises(CryptoError) as refused:
        _collect(streamed, intake_keys, max_size=10_000)
    assert refused.value.code == "malformed"


def test_stream_for_someone_else_is_undecryptable(streamed: bytes, pki: DevPki) -> None:
    from crypto_support import load_recipient

    enc = pki.authorities["authority-a"]["encryption"]
    with pytest.raises(InvalidEnvelope):
        _collect(streamed, [load_recipient(enc.cert, enc.key)])


@pytest.mark.slow
def test_256_mib_attachment_streams_with_bounded_memory(pki: DevPki, tmp_path: Path) -> None:
    source = tmp_path / "large.bin"
    block = hashlib.sha512(b"block").digest() * (1024 * 1024 // 64)
    expected = hashlib.sha256()
    with source.open("wb") as out:
        for index in range(LARGE_SIZE // len(block)):
            chunk = index.to_bytes(8, "big") + block[8:]
            expected.update(chunk)
            out.write(chunk)
    envelope = tmp_path / "large.cms"
    openssl_encrypt(source, pki.intake.cert, envelope, keyopts=OAEP_SHA256, stream=True)
    source.unlink()
    worker = psutil.Popen(
        [
            sys.executable,
            str(WORKER),
            str(envelope),
            str(pki.intake.cert),
            str(pki.intake.key),
            str(tmp_path / "staging.rgar"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    stdout, stderr = worker.communicate(timeout=300)
    assert worker.returncode == 0, stderr.decode()[-2000:]
    report = json.loads(stdout)
    assert report["size"] == LARGE_SIZE
    assert report["sha256"] == expected.hexdigest()
    assert report["at_rest_sha256"] == expected.hexdigest()
    assert report["peak_rss_bytes"] < RSS_LIMIT
    assert (tmp_path / "staging.rgar").stat().st_size > LARGE_SIZE  # re-encrypted at rest


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    position=st.integers(min_value=0),
    value=st.integers(min_value=1, max_value=255),
    cut=st.integers(min_value=0),
)
def test_mutated_stream_raises_only_crypto_errors(
    attachment: Path,
    streamed: bytes,
    intake_keys: list[RecipientKey],
    position: int,
    value: int,
    cut: int,
) -> None:
    original = attachment.read_bytes()
    at = position % len(streamed)
    mutated = streamed[:at] + bytes([streamed[at] ^ value]) + streamed[at + 1 :]
    mutated = mutated[: len(mutated) - cut % 64]
    try:
        _, plaintext = _collect(mutated, intake_keys)
    except CryptoError:
        return
    # Only unauthenticated header bits that do not matter (e.g. data -> signedData) survive.
    assert plaintext == original
