"""One-pass streamed submissions: announcement, large attachments and the sealed
submission in one body, verified before anything is stored, all or nothing."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from live_gateway import LiveGateway, serving
from process_support import settings_env, wait_for
from server_support import GatewayProcess
from streamed_support import (
    HEADERS,
    STREAMED,
    Streamed,
    count,
    mla_form,
    object_files,
    rows,
    staging_files,
)

from gateway.config import Settings
from gateway.crypto.credentials import load_signing_credentials
from gateway.crypto.keyfiles import load_certificate
from gateway.domain.streamed_submission import TAG_ATTACHMENT, frame_header
from gateway.persistence.blobs import BlobStore
from gateway.persistence.db import make_engine, transaction
from gateway.persistence.orphan_files import sweep_orphans
from gateway.runtime.container import load_kek
from gateway.services.streamed_intake import envelope_bound
from gateway.services.streamed_send import Submitter, streamed_request

MIB = 1024 * 1024


@pytest.fixture
def gateway(make_settings: Callable[..., Settings]) -> Iterator[LiveGateway]:
    with serving(make_settings(max_attachment_bytes=64 * MIB)) as live:
        yield live


def _post(gw: LiveGateway, body: bytes | Iterator[bytes]) -> httpx.Response:
    return httpx.post(f"{gw.url}{STREAMED}", content=body, headers=HEADERS, timeout=120)


def _stored_attachments(settings: Settings, request_id: str) -> dict[str, bytes]:
    blobs = BlobStore(settings.data_dir, load_kek(settings))
    engine = make_engine(settings.database_url)
    try:
        with transaction(engine) as conn:
            return {
                o.name: blobs.read(conn, o.id) for o in blobs.list(conn, request_id, "attachment")
            }
    finally:
        engine.dispose()


def _nothing_kept(settings: Settings, files_before: set[object]) -> None:
    assert count(settings, "SELECT count(*) FROM requests") == 0
    assert object_files(settings) == files_before
    assert staging_files(settings) == []


def _audit_leaves(settings: Settings) -> int:
    return count(settings, "SELECT count(*) FROM audit_leaf")


def test_streamed_submission_stores_request_and_attachments_in_one_request(gateway):
    first, second = os.urandom(3 * MIB + 5), os.urandom(70_000)
    streamed = Streamed(gateway.settings, {"statement.pdf": first, "ledger.pdf": second})
    answer = _post(gateway, streamed.body())
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["outcome"] == "accepted"
    assert body["message_id"] == streamed.message_id
    assert "upload_token" not in body  # nothing left to upload
    assert body["receipt"]
    request_id = body["request_id"]
    assert _stored_attachments(gateway.settings, request_id) == {
        "statement.pdf": first,
        "ledger.pdf": second,
    }
    assert ("rogatory.translate", {"request_id": request_id}) in gateway.sender.sent
    assert staging_files(gateway.settings) == []
    (state,) = rows(gateway.settings, "SELECT state FROM requests")
    assert state == ("verified",)


def test_manifest_hash_differing_from_the_streamed_bytes_is_refused_and_nothing_is_kept(
    gateway,
):
    data = os.urandom(2 * MIB)
    files_before = object_files(gateway.settings)
    streamed = Streamed(gateway.settings, {"scan.pdf": data})
    streamed.manifest_sha256["scan.pdf"] = hashlib.sha256(b"other bytes").hexdigest()
    answer = _post(gateway, streamed.body())
    assert (answer.status_code, answer.json()["code"]) == (422, "attachment-refused")
    assert answer.headers["Content-Type"] == "application/problem+json"
    _nothing_kept(gateway.settings, files_before)


@pytest.mark.parametrize(
    ("signer", "code", "status"),
    [
        ("authority-b-sign", "signer-not-authorised", 403),  # trusted, not registered
        ("magistrate-revoked", "certificate-revoked", 403),
        ("magistrate-expired", "certificate-expired", 403),
    ],
)
def test_announcement_not_verified_is_refused_before_any_attachment_byte_is_stored(
    gateway, monkeypatch, signer, code, status
):
    staged: list[str] = []
    original = BlobStore.stage

    def recording_stage(self, **kwargs):
        staged.append(kwargs["name"])
        return original(self, **kwargs)

    monkeypatch.setattr(BlobStore, "stage", recording_stage)
    files_before, leaves_before = object_files(gateway.settings), _audit_leaves(gateway.settings)
    streamed = Streamed(gateway.settings, {"scan.pdf": os.urandom(MIB)})
    streamed.announcement_signer = streamed.manifest_signer = signer
    answer = _post(gateway, streamed.body())
    assert (answer.status_code, answer.json()["code"]) == (status, code)
    assert staged == []  # no staging object was even opened
    _nothing_kept(gateway.settings, files_before)
    assert _audit_leaves(gateway.settings) == leaves_before  # anonymous: no log entry
    assert rows(gateway.settings, "SELECT endpoint, code FROM rejections") == [("streamed", code)]


def test_garbage_instead_of_an_announcement_is_an_anonymous_refusal(gateway):
    files_before, leaves_before = object_files(gateway.settings), _audit_leaves(gateway.settings)
    garbage = os.urandom(4096)
    answer = _post(gateway, frame_header(b"A", len(garbage)) + garbage)
    assert answer.status_code == 400
    assert answer.json()["code"] in {"malformed", "undecryptable"}
    _nothing_kept(gateway.settings, files_before)
    assert _audit_leaves(gateway.settings) == leaves_before


@pytest.mark.parametrize("differs", ["signer", "message-id"])
def test_manifest_from_another_signer_or_message_than_announced_is_refused(gateway, differs):
    files_before = object_files(gateway.settings)
    streamed = Streamed(gateway.settings, {"scan.pdf": os.urandom(MIB)})
    if differs == "signer":
        streamed.manifest_signer = "magistrate-ec"  # registered too, but not the announcer
    else:
        streamed.manifest_message_id = f"msg-other-{os.urandom(4).hex()}"
    answer = _post(gateway, streamed.body())
    assert (answer.status_code, answer.json()["code"]) == (422, "announcement-mismatch")
    _nothing_kept(gateway.settings, files_before)


@pytest.mark.parametrize("cut", ["in-the-second-attachment", "in-the-sealed-submission"])
def test_truncated_body_is_refused_and_leaves_nothing(gateway, cut):
    files_before = object_files(gateway.settings)
    streamed = Streamed(
        gateway.settings, {"a.pdf": os.urandom(2 * MIB), "b.pdf": os.urandom(2 * MIB)}
    )
    body = streamed.body()
    end = len(body) - 200 if cut == "in-the-sealed-submission" else len(body) - MIB
    answer = _post(gateway, body[:end])
    assert (answer.status_code, answer.json()["code"]) == (400, "malformed")
    _nothing_kept(gateway.settings, files_before)


@pytest.mark.parametrize(
    ("tail", "status"),
    [(bytes(1024), 202), (bytes(1025), 400), (b"\x00\x00x", 400)],
    ids=["1-KiB-of-zeros", "more-than-1-KiB", "not-zeros"],
)
def test_only_up_to_1_kib_of_zero_padding_may_follow_the_sealed_submission(gateway, tail, status):
    files_before = object_files(gateway.settings)
    body = Streamed(gateway.settings, {"scan.pdf": os.urandom(MIB)}).body()
    answer = _post(gateway, body + tail)
    assert answer.status_code == status, answer.text
    if status != 202:
        assert answer.json()["code"] == "malformed"
        _nothing_kept(gateway.settings, files_before)


def test_connection_dropped_mid_attachment_leaves_nothing(gateway):
    files_before = object_files(gateway.settings)
    streamed = Streamed(
        gateway.settings, {"a.pdf": os.urandom(2 * MIB), "b.pdf": os.urandom(4 * MIB)}
    )
    body = streamed.body()
    port = int(gateway.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as raw:
        raw.sendall(
            f"POST {STREAMED} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
            f"{HEADERS['Content-Type']}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body[: 5 * MIB]  # the first attachment whole, the second in part
        )
        wait_for(lambda: len(staging_files(gateway.settings)) == 1, what="b.pdf being staged")
    wait_for(lambda: not staging_files(gateway.settings), what="the staging file removed")
    wait_for(lambda: object_files(gateway.settings) == files_before, what="a.pdf removed")
    _nothing_kept(gateway.settings, files_before)


def test_sealed_resend_of_an_earlier_message_after_new_attachments_keeps_none_of_them(gateway):
    first = Streamed(gateway.settings, {"scan.pdf": os.urandom(MIB)})
    first.sealed_bytes = first.sealed()
    accepted = _post(gateway, first.body())
    assert accepted.status_code == 202, accepted.text
    files_after_first = object_files(gateway.settings)
    # announced as a new message, its attachments streamed and staged, then the first
    # message's sealed bytes: the first answer, and the staged objects removed
    other = Streamed(gateway.settings, {"scan.pdf": os.urandom(MIB)})
    other.sealed_bytes = first.sealed_bytes
    answer = _post(gateway, other.body())
    assert answer.status_code == 202, answer.text
    assert answer.json()["outcome"] == "duplicate-already-accepted"
    assert answer.json()["request_id"] == accepted.json()["request_id"]
    assert object_files(gateway.settings) == files_after_first


def test_duplicate_message_id_gets_the_first_answer_and_stores_nothing_new(gateway):
    streamed = Streamed(gateway.settings, {"scan.pdf": os.urandom(MIB)})
    body = streamed.body()
    first = _post(gateway, body)
    assert first.status_code == 202, first.text
    files_after_first = object_files(gateway.settings)
    again = _post(gateway, body)
    assert again.status_code == 202, again.text
    assert again.json()["outcome"] == "duplicate-already-accepted"
    assert again.json()["request_id"] == first.json()["request_id"]
    assert object_files(gateway.settings) == files_after_first
    # the same id for another message: refused as a replay, nothing kept
    replay = Streamed(gateway.settings, {"scan.pdf": os.urandom(MIB)}, streamed.message_id)
    answer = _post(gateway, replay.body())
    assert (answer.status_code, answer.json()["code"]) == (409, "replayed")
    assert object_files(gateway.settings) == files_after_first
    assert count(gateway.settings, "SELECT count(*) FROM requests") == 1


def test_attachment_frame_longer_than_announced_is_refused_with_413_without_length(gateway):
    files_before = object_files(gateway.settings)
    streamed = Streamed(gateway.settings, {"scan.pdf": os.urandom(1000)})
    announcement = streamed.announcement()

    def chunked() -> Iterator[bytes]:  # no Content-Length: sent chunked
        yield frame_header(b"A", len(announcement)) + announcement
        yield frame_header(TAG_ATTACHMENT, envelope_bound(1000) + 1)
        yield os.urandom(64 * 1024)

    answer = _post(gateway, chunked())
    assert (answer.status_code, answer.json()["code"]) == (413, "request-entity-too-large")
    _nothing_kept(gateway.settings, files_before)


def test_announced_attachment_over_the_gateway_limit_is_refused_with_413(make_settings):
    with serving(make_settings(max_attachment_bytes=1024 * 1024)) as gw:
        files_before = object_files(gw.settings)
        answer = _post(gw, Streamed(gw.settings, {"big.pdf": os.urandom(MIB + 1)}).body())
        assert (answer.status_code, answer.json()["code"]) == (413, "attachment-too-large")
        _nothing_kept(gw.settings, files_before)
        port = int(gw.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
            raw.sendall(
                f"POST {STREAMED} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                f"{HEADERS['Content-Type']}\r\nContent-Length: {2**50}\r\n\r\n".encode()
            )
            assert raw.recv(200).startswith(b"HTTP/1.1 413")


def test_openssl_opens_the_attachment_part_the_client_writes(make_settings, tmp_path):
    settings = make_settings()
    pki = settings.keys_dir / "dev-pki"
    plain = tmp_path / "evidence.bin"
    plain.write_bytes(os.urandom(2 * MIB + 123))
    submitter = Submitter(
        load_signing_credentials(pki / "magistrate-ec.key", cert_path=pki / "magistrate-ec.pem"),
        load_certificate(pki / "gateway-intake.pem"),
        settings.gateway_id,
    )
    streamed = streamed_request(submitter, mla_form(), None, attach_large=(plain,))
    body = b"".join(streamed.pieces())
    assert len(body) == streamed.length  # the Content-Length declared up front
    offset = 9 + int.from_bytes(body[1:9], "big")
    assert body[offset : offset + 1] == TAG_ATTACHMENT
    size = int.from_bytes(body[offset + 1 : offset + 9], "big")
    (tmp_path / "part.cms").write_bytes(body[offset + 9 : offset + 9 + size])
    subprocess.run(
        ["openssl", "cms", "-decrypt", "-binary", "-inform", "DER",
         "-in", str(tmp_path / "part.cms"), "-recip", str(pki / "gateway-intake.pem"),
         "-inkey", str(pki / "gateway-intake.key"), "-out", str(tmp_path / "opened.bin")],
        check=True, capture_output=True,
    )  # fmt: skip
    assert (tmp_path / "opened.bin").read_bytes() == plain.read_bytes()


def _cli(settings: Settings, *args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *map(str, args)],
        env=settings_env(settings),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_client_send_against_rogatory_serve(make_settings, tmp_path):
    settings = make_settings()
    pki = settings.keys_dir / "dev-pki"
    large, small = tmp_path / "evidence.bin", tmp_path / "note.txt"
    large.write_bytes(os.urandom(5 * MIB + 17))
    small.write_bytes(b"inline note")
    request = tmp_path / "request.json"
    request.write_text(json.dumps(mla_form()))
    server = GatewayProcess(settings, tmp_path / "serve.log")
    try:
        sent = _cli(
            settings, "client", "send", request, "--key", pki / "magistrate-ec.key",
            "--cert", pki / "magistrate-ec.pem", "--gateway-cert", pki / "gateway-intake.pem",
            "--attach", small, "--attach-large", large, "--url", server.url,
        )  # fmt: skip
        assert sent.returncode == 0, sent.stderr
        answer = json.loads(sent.stdout)
        assert answer["outcome"] == "accepted"
        assert "upload_token" not in answer
        stored = _stored_attachments(settings, answer["request_id"])
        assert stored == {"evidence.bin": large.read_bytes(), "note.txt": b"inline note"}
        events = rows(settings, "SELECT count(*) FROM audit_leaf")
        assert events[0][0] >= 3  # received, verified, evidence_issued
        assert staging_files(settings) == []
        # a refusal reaches the client as one error line and the problem's JSON, also
        # when the gateway closed the connection long before the body's end
        big = tmp_path / "big.bin"
        with big.open("wb") as sparse:
            sparse.truncate(96 * MIB)
        refused = _cli(
            settings, "client", "send", request, "--key", pki / "authority-b-sign.key",
            "--cert", pki / "authority-b-sign.pem", "--gateway-cert", pki / "gateway-intake.pem",
            "--attach-large", big, "--url", server.url,
        )  # fmt: skip
        assert refused.returncode == 1
        assert json.loads(refused.stdout)["code"] == "signer-not-authorised"
        assert "refused (403)" in refused.stderr
        # read from the socket past gunicorn's reader: on one kept-alive connection the
        # next request is still found where it starts, after an accepted streamed body
        # and after a refusal that left part of its body unread (gunicorn drains it)
        body = Streamed(settings, {"scan.pdf": os.urandom(MIB)}).body()
        garbage = frame_header(b"A", 100) + os.urandom(100) + os.urandom(16 * 1024)
        with socket.create_connection(("127.0.0.1", server.port), timeout=60) as raw:
            stream = raw.makefile("rb")
            assert _exchange(raw, stream, "POST", STREAMED, body)[0] == 202
            assert _exchange(raw, stream, "GET", "/api/v1/health", b"")[0] == 200
            assert _exchange(raw, stream, "POST", STREAMED, garbage)[0] == 400
            assert _exchange(raw, stream, "GET", "/api/v1/health", b"")[0] == 200
    finally:
        server.stop()


def _exchange(raw: socket.socket, stream, method: str, path: str, body: bytes):
    """One HTTP/1.1 request on a kept-alive connection; (status, body)."""
    raw.sendall(
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
        f"{HEADERS['Content-Type']}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    status = int(stream.readline().split()[1])
    length = 0
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    return status, stream.read(length)


def test_staging_left_by_a_killed_gateway_is_swept(make_settings, tmp_path):
    settings = make_settings()
    body = Streamed(settings, {"scan.pdf": os.urandom(8 * MIB)}).body()
    server = GatewayProcess(settings, tmp_path / "serve.log")
    try:
        with socket.create_connection(("127.0.0.1", server.port)) as raw:
            raw.sendall(
                f"POST {STREAMED} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                f"{HEADERS['Content-Type']}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                + body[: 4 * MIB]
            )
            wait_for(lambda: staging_files(settings), what="an attachment being staged")
            server.kill()  # SIGKILL mid-stream: no discard runs
    finally:
        server.stop()
    assert staging_files(settings)
    time.sleep(0.01)
    engine = make_engine(settings.database_url)
    try:
        report = sweep_orphans(engine, settings.data_dir, grace_seconds=0)
    finally:
        engine.dispose()
    assert report.staging_files >= 1
    assert staging_files(settings) == []
    assert count(settings, "SELECT count(*) FROM requests") == 0
