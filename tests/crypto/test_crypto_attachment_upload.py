"""Large attachments over HTTP: streamed, bound by hash to the signed manifest, all or nothing."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest
from process_support import settings_env, wait_for
from upload_support import (
    MIB,
    audit_events,
    manifest_entry,
    mla_form,
    object_files,
    openssl_stream_envelope,
    row_counts,
    sealed_with_manifest,
    write_pattern,
)

from gateway.config import Settings
from gateway.domain.submission import AttachmentRef
from gateway.persistence.blobs import BlobStore
from gateway.persistence.db import make_engine, transaction
from gateway.runtime.container import load_kek

CMS = {"Content-Type": "application/pkcs7-mime"}


def _submit(url: str, sealed: bytes) -> dict[str, object]:
    response = httpx.post(f"{url}/api/v1/submissions", content=sealed, headers=CMS, timeout=60)
    assert response.status_code == 202, response.text
    answer: dict[str, object] = response.json()
    return answer


def _upload(
    url: str, message_id: str, name: str, body: Path | bytes, token: object
) -> httpx.Response:
    target = f"{url}/api/v1/submissions/{message_id}/attachments/{name}"
    headers = {**CMS, "Upload-Token": str(token)}
    if isinstance(body, bytes):
        return httpx.put(target, content=body, headers=headers, timeout=600)
    with body.open("rb") as stream:
        return httpx.put(target, content=stream, headers=headers, timeout=600)


def _envelope(settings: Settings, tmp_path: Path, data: bytes, stem: str) -> Path:
    plain = tmp_path / f"{stem}.bin"
    plain.write_bytes(data)
    return openssl_stream_envelope(settings, plain, tmp_path / f"{stem}.cms")


def _translate_queued(settings: Settings, request_id: str) -> bool:
    engine = make_engine(settings.database_url)
    try:
        with transaction(engine) as conn:
            rows = conn.exec_driver_sql("SELECT task, payload FROM outbox").all()
    finally:
        engine.dispose()
    return any(task == "rogatory.translate" and request_id in str(p) for task, p in rows)


def _state(settings: Settings, request_id: str) -> str:
    engine = make_engine(settings.database_url)
    try:
        with transaction(engine) as conn:
            return str(
                conn.exec_driver_sql(
                    "SELECT state FROM requests WHERE id = ?", (request_id,)
                ).scalar_one()
            )
    finally:
        engine.dispose()


def test_translation_waits_until_every_manifest_attachment_was_uploaded(live_gateway, tmp_path):
    gw = live_gateway
    first, second = os.urandom(300_000), os.urandom(70_000)
    refs = [manifest_entry("statement.pdf", first), manifest_entry("ledger.pdf", second)]
    sealed, message_id = sealed_with_manifest(gw.settings, refs)
    submitted = _submit(gw.url, sealed)
    request_id, token = str(submitted["request_id"]), submitted["upload_token"]
    assert _state(gw.settings, request_id) == "verified"
    assert not _translate_queued(gw.settings, request_id)

    answer = _upload(
        gw.url, message_id, "statement.pdf", _envelope(gw.settings, tmp_path, first, "a"), token
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["missing"] == ["ledger.pdf"]
    assert not _translate_queued(gw.settings, request_id)

    ledger = _envelope(gw.settings, tmp_path, second, "b")
    answer = _upload(gw.url, message_id, "ledger.pdf", ledger, token)
    assert answer.status_code == 201, answer.text
    assert answer.json() == {
        "request_id": request_id,
        "name": "ledger.pdf",
        "sha256": hashlib.sha256(second).hexdigest(),
        "size": len(second),
        "outcome": "accepted",
        "missing": [],
    }
    assert _translate_queued(gw.settings, request_id)
    assert ("rogatory.translate", {"request_id": request_id}) in gw.sender.sent
    events = [event for rid, event in audit_events(gw.settings) if rid == request_id]
    assert events.count("received") == 1  # the signed request
    assert events.count("attachment_received") == 2  # then each attachment

    # an already stored attachment: said so only after the body matched the manifest
    refused = _upload(gw.url, message_id, "ledger.pdf", b"not the signed bytes", token)
    assert (refused.status_code, refused.json()["code"]) == (422, "attachment-refused")
    again = _upload(gw.url, message_id, "ledger.pdf", ledger, token)
    assert again.status_code == 200
    assert again.json()["outcome"] == "duplicate-already-accepted"
    blobs = BlobStore(gw.settings.data_dir, load_kek(gw.settings))
    engine = make_engine(gw.settings.database_url)
    with transaction(engine) as conn:
        stored = {
            o.name: blobs.read(conn, o.id) for o in blobs.list(conn, request_id, "attachment")
        }
    engine.dispose()
    assert stored == {"statement.pdf": first, "ledger.pdf": second}


def _refused_upload(gw, tmp_path, body_for: object) -> tuple[httpx.Response, dict, dict]:
    genuine = os.urandom(200_000)
    sealed, message_id = sealed_with_manifest(gw.settings, [manifest_entry("scan.pdf", genuine)])
    token = _submit(gw.url, sealed)["upload_token"]
    before, files_before = row_counts(gw.settings), object_files(gw.settings)
    audit_before = audit_events(gw.settings)
    body = body_for(genuine)  # type: ignore[operator]
    response = _upload(gw.url, message_id, "scan.pdf", body, token)
    assert row_counts(gw.settings) == before
    assert object_files(gw.settings) == files_before
    # refused bytes leave the bounded rejection record, not the permanent log
    assert audit_events(gw.settings) == audit_before
    return response, before, response.json()


def test_flipped_byte_in_the_stream_is_refused_and_nothing_is_kept(live_gateway, tmp_path):
    def tampered(genuine: bytes) -> bytes:
        body = bytearray(_envelope(live_gateway.settings, tmp_path, genuine, "t").read_bytes())
        body[len(body) // 2] ^= 0x01
        return bytes(body)

    response, _, body = _refused_upload(live_gateway, tmp_path, tampered)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert body["code"] == "attachment-refused"


def test_genuine_envelope_of_other_bytes_is_refused_like_a_tampered_one(live_gateway, tmp_path):
    def other_bytes(genuine: bytes) -> bytes:
        impostor = bytes(len(genuine))  # same size, wrong hash
        return _envelope(live_gateway.settings, tmp_path, impostor, "w").read_bytes()

    def garbage(genuine: bytes) -> bytes:
        return os.urandom(5000)

    wrong_hash, _, wrong_body = _refused_upload(live_gateway, tmp_path, other_bytes)
    random_bytes, _, random_body = _refused_upload(live_gateway, tmp_path, garbage)
    assert wrong_hash.status_code == random_bytes.status_code == 422
    assert wrong_body == random_body  # one opaque answer, whatever failed


def test_longer_stream_than_signed_is_cut_off_and_refused(live_gateway, tmp_path):
    def longer(genuine: bytes) -> bytes:
        return _envelope(live_gateway.settings, tmp_path, genuine + b"x", "l").read_bytes()

    response, _, body = _refused_upload(live_gateway, tmp_path, longer)
    assert (response.status_code, body["code"]) == (422, "attachment-refused")


def test_unknown_submission_and_unlisted_name_are_not_found(live_gateway, tmp_path):
    gw = live_gateway
    data = os.urandom(1000)
    sealed, message_id = sealed_with_manifest(gw.settings, [manifest_entry("a.pdf", data)])
    token = _submit(gw.url, sealed)["upload_token"]
    envelope = _envelope(gw.settings, tmp_path, data, "n").read_bytes()
    assert _upload(gw.url, "msg-never-submitted", "a.pdf", envelope, token).status_code == 404
    assert _upload(gw.url, message_id, "b.pdf", envelope, token).status_code == 404


def test_attachment_declared_larger_than_the_limit_is_refused_before_reading(live_gateway):
    gw = live_gateway
    too_big = AttachmentRef("huge.bin", "application/octet-stream", 65 * MIB, "0" * 64)
    sealed, message_id = sealed_with_manifest(gw.settings, [too_big])
    token = _submit(gw.url, sealed)["upload_token"]
    response = _upload(gw.url, message_id, "huge.bin", b"\x30\x80", token)
    assert (response.status_code, response.json()["code"]) == (413, "attachment-too-large")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _peak_rss(pid: int) -> int:
    """The largest VmHWM of the server and its children (gunicorn's workers)."""
    pids = [pid, *(child.pid for child in psutil.Process(pid).children(recursive=True))]
    peaks = []
    for each in pids:
        for line in Path(f"/proc/{each}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) * 1024)
    if not peaks:
        raise AssertionError("no VmHWM")
    return max(peaks)


@pytest.mark.slow
def test_256_mib_attachment_streams_through_rogatory_serve_in_bounded_memory(
    make_settings, tmp_path
):
    size = 256 * MIB
    settings = make_settings(max_attachment_bytes=size)
    plain = tmp_path / "big.bin"
    digest = write_pattern(plain, size)
    envelope = openssl_stream_envelope(settings, plain, tmp_path / "big.cms")
    plain.unlink()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--port", str(port)],
        env={**settings_env(settings), "ROGATORY_HTTP_WORKERS": "1"},  # one worker to watch
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:

        def healthy() -> bool:
            try:
                return httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, timeout=60, what="rogatory serve")
        ref = AttachmentRef("evidence.bin", "application/octet-stream", size, digest)
        sealed, message_id = sealed_with_manifest(settings, [ref])
        submitted = _submit(url, sealed)
        request_id = str(submitted["request_id"])
        warm = _peak_rss(server.pid)
        started = time.monotonic()
        response = _upload(url, message_id, "evidence.bin", envelope, submitted["upload_token"])
        assert response.status_code == 201, response.text
        assert response.json()["sha256"] == digest
        assert time.monotonic() - started >= 0  # no timing assertion, only that it returned
        growth = _peak_rss(server.pid) - warm
        assert growth < 48 * MIB, f"server peak RSS grew by {growth / MIB:.1f} MiB"
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    assert _translate_queued(settings, request_id)
    blobs = BlobStore(settings.data_dir, load_kek(settings))
    engine = make_engine(settings.database_url)
    sink = _HashingSink()
    with transaction(engine) as conn:
        (stored,) = blobs.list(conn, request_id, "attachment")
        blobs.read_into(conn, stored.id, sink)  # type: ignore[arg-type]
    engine.dispose()
    assert (stored.size, stored.sha256, sink.digest.hexdigest()) == (size, digest, digest)


class _HashingSink:
    def __init__(self) -> None:
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return len(data)


def _client(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", "client", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_client_seals_with_attach_large_and_streams_the_upload(live_gateway, tmp_path):
    gw = live_gateway
    pki = gw.settings.keys_dir / "dev-pki"
    request_file, large = tmp_path / "request.json", tmp_path / "bank statements.pdf"
    request_file.write_text(json.dumps(mla_form()))
    large.write_bytes(os.urandom(3 * MIB + 17))
    sealed = tmp_path / "request.p7m"
    sealing = _client(
        "seal", request_file, "--key", pki / "magistrate-rsa.key",
        "--cert", pki / "magistrate-rsa.pem", "--gateway-cert", pki / "gateway-intake.pem",
        "--message-id", "msg-large-attachment-1", "--attach-large", large, "-o", sealed,
    )  # fmt: skip
    assert sealing.returncode == 0, sealing.stderr
    submitting = _client("submit", sealed, "--url", gw.url)
    assert submitting.returncode == 0, submitting.stderr
    submitted = json.loads(submitting.stdout)
    request_id, token = submitted["request_id"], submitted["upload_token"]
    assert not _translate_queued(gw.settings, request_id)
    uploading = _client(
        "upload", large, "--message-id", "msg-large-attachment-1",
        "--gateway-cert", pki / "gateway-intake.pem", "--url", gw.url, "--token", token,
    )  # fmt: skip
    assert uploading.returncode == 0, uploading.stderr
    answer = json.loads(uploading.stdout)
    assert answer["sha256"] == hashlib.sha256(large.read_bytes()).hexdigest()
    assert (answer["outcome"], answer["missing"]) == ("accepted", [])
    assert _translate_queued(gw.settings, request_id)


def _one_byte_segments(settings: Settings, data: bytes) -> bytes:
    """A genuine envelope of ``data`` whose ciphertext is cut into 1-byte OCTET STRINGs:
    three bytes on the wire per byte, far over the gateway's allowance for segment headers."""
    from gateway.crypto import EnvelopeWriter
    from gateway.crypto.keyfiles import load_certificate

    pieces: list[bytes] = []
    writer = EnvelopeWriter(
        pieces.append, [load_certificate(settings.keys_dir / "dev-pki" / "gateway-intake.pem")]
    )
    writer.segment(data)
    writer.finish()
    header, _, ciphertext, trailer = pieces
    return (
        header
        + b"".join(b"\x04\x01" + ciphertext[i : i + 1] for i in range(len(ciphertext)))
        + trailer
    )


@pytest.mark.parametrize("framing", ["chunked", "content-length"])
def test_a_body_over_the_size_limit_is_a_413_and_nothing_is_kept(small_limit_gateway, framing: str):
    """attack: an upload body longer than any genuine envelope of the announced size, with
    or without a Content-Length to check first"""
    gw = small_limit_gateway
    data = os.urandom(1024 * 1024)
    sealed, message_id = sealed_with_manifest(gw.settings, [manifest_entry("scan.pdf", data)])
    token = _submit(gw.url, sealed)["upload_token"]
    before, files_before = row_counts(gw.settings), object_files(gw.settings)
    body = _one_byte_segments(gw.settings, data)
    content = (
        body
        if framing == "content-length"
        else (body[at : at + 65536] for at in range(0, len(body), 65536))
    )
    response = httpx.put(
        f"{gw.url}/api/v1/submissions/{message_id}/attachments/scan.pdf",
        content=content, headers={**CMS, "Upload-Token": str(token)}, timeout=120,
    )  # fmt: skip
    assert response.status_code == 413, response.text
    assert (row_counts(gw.settings), object_files(gw.settings)) == (before, files_before)
