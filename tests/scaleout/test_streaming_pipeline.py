"""Packaging and `rogatory client pull` stream a large attachment in bounded memory, and the
streaming client refuses a tampered package without leaving files behind."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from foundation_support import accept, sealed_submission
from joserfc.jwk import ECKey
from package_support import recipient_and_trust, sealed_for_b
from process_support import settings_env
from server_support import MIB, GatewayProcess

from gateway.config import Settings
from gateway.crypto import SealingWriter, encrypt_envelope
from gateway.crypto.keyfiles import load_certificate, load_private_key
from gateway.domain.states import Event, State
from gateway.persistence import exchange_store, requests_store
from gateway.persistence.db import transaction
from gateway.persistence.tables import stored_objects
from gateway.runtime.container import Runtime, build_runtime
from gateway.services.lifecycle import advance
from gateway.services.packaging import (
    PackageIntegrityError,
    PackageMember,
    run_packaging,
    seal_package,
)
from gateway.services.reference_client import ClientRefusal, open_package

ATTACHMENT_SIZE = 96 * MIB  # the memory used is constant (~15 MiB): the bound is size/4
CLIENT_ID = "madrid-streaming-pull"
pytestmark = pytest.mark.slow

_HWM = (
    "def hwm():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            return int(line.split()[1]) * 1024\n"
)
# Packaging exactly as the worker's task runs it, in a process of its own whose peak
# resident memory is read before (everything imported, runtime built) and after.
_PACKAGE_CHILD = _HWM + (
    "import json, sys\n"
    "from gateway.config import load_settings\n"
    "from gateway.runtime.container import build_runtime\n"
    "from gateway.services.packaging import run_packaging\n"
    "rt = build_runtime(load_settings())\n"
    "keys = rt.keys\n"
    "before = hwm()\n"
    "state = run_packaging(rt.engine, rt.blobs, sys.argv[1], seal_key=keys.seal_key,\n"
    "                      seal_cert=keys.seal_cert)\n"
    "print(json.dumps({'state': state.value, 'before': before, 'after': hwm()}))\n"
)
# `rogatory client pull` with its peak resident memory reported on exit.
_PULL_CHILD = _HWM + (
    "import atexit, sys\n"
    "from gateway.web.cli import main\n"
    "atexit.register(lambda: sys.stderr.write(f'HWM {hwm()}\\n'))\n"
    "main()\n"
)


def _pattern(index: int) -> bytes:
    return hashlib.sha256(str(index).encode()).digest() * (MIB // 32)


def _rendered_with_attachment(rt: Runtime, settings: Settings, size: int) -> tuple[str, str]:
    """A RENDERED request with a `size`-byte attachment (stored piece by piece)."""
    request_id = accept(rt, sealed_submission(settings), flush=False)
    staged = rt.blobs.stage(
        request_id=request_id, kind="attachment", name="evidence.bin",
        media_type="application/octet-stream",
    )  # fmt: skip
    digest = hashlib.sha256()
    for index in range(size // MIB):
        digest.update(_pattern(index))
        staged.write(_pattern(index))
    staged.finish()
    with transaction(rt.engine) as conn:
        staged.commit(conn, sha256=digest.hexdigest())
        for event in (Event.START_TRANSLATION, Event.FINISH_TRANSLATION, Event.RENDER):
            advance(conn, requests_store.get(conn, request_id), event, actor="test:fixture")
    return request_id, digest.hexdigest()


def _package(rt: Runtime, request_id: str) -> None:
    keys = rt.keys
    state = run_packaging(
        rt.engine, rt.blobs, request_id, seal_key=keys.seal_key, seal_cert=keys.seal_cert
    )
    assert state is State.AVAILABLE


def _client_key(rt: Runtime, tmp_path: Path) -> Path:
    key = ECKey.generate_key("P-256")
    with transaction(rt.engine) as conn:
        exchange_store.add_client(conn, CLIENT_ID, "es-fiscalia-madrid", key.as_dict(private=False))
    path = tmp_path / "client.jwk"
    path.write_text(json.dumps(key.as_dict(private=True)))
    path.chmod(0o600)
    return path


def _pull(
    settings: Settings, url: str, client_key: Path, out: Path
) -> subprocess.CompletedProcess[str]:
    pki = settings.keys_dir / "dev-pki"
    return subprocess.run(
        [sys.executable, "-c", _PULL_CHILD, "client", "pull", "--url", url,
         "--client-id", CLIENT_ID, "--client-key", client_key,
         "--key", pki / "authority-b-enc.key", "--cert", pki / "authority-b-enc.pem",
         "--ca", pki / "ca.pem", "--crl", pki / "ca.crl.pem", "--out", out],
        capture_output=True, text=True, env=settings_env(settings), timeout=600, check=False,
    )  # fmt: skip


def _peak(stderr: str) -> int:
    found = re.search(r"HWM (\d+)", stderr)
    assert found, stderr
    return int(found[1])


def test_packaging_a_large_attachment_keeps_the_worker_memory_bounded(make_settings):
    settings = make_settings()
    rt = build_runtime(settings)
    try:
        request_id, _ = _rendered_with_attachment(rt, settings, ATTACHMENT_SIZE)
    finally:
        rt.close()
    child = subprocess.run(
        [sys.executable, "-c", _PACKAGE_CHILD, request_id],
        capture_output=True, text=True, env=settings_env(settings), timeout=600, check=False,
    )  # fmt: skip
    assert child.returncode == 0, child.stderr
    report = json.loads(child.stdout.strip().splitlines()[-1])
    growth = report["after"] - report["before"]
    print(f"\npackaging {ATTACHMENT_SIZE // MIB} MiB: peak RSS grew {growth / MIB:.1f} MiB")
    assert report["state"] == "available"
    assert growth < ATTACHMENT_SIZE / 4, f"peak RSS grew by {growth / MIB:.1f} MiB"
    rt = build_runtime(settings)
    try:
        with transaction(rt.engine) as conn:
            package = rt.blobs.find(conn, request_id, "package")
        assert package is not None
        assert package.size > ATTACHMENT_SIZE
    finally:
        rt.close()


def test_client_pull_of_a_large_package_is_bounded_and_the_files_are_intact(
    make_settings, tmp_path
):
    settings = make_settings()
    rt = build_runtime(settings)
    server = GatewayProcess(settings, tmp_path / "serve.log", env={"ROGATORY_HTTP_WORKERS": "1"})
    try:
        client_key = _client_key(rt, tmp_path)
        peaks, pulled = {}, {}
        # baseline: the same command pulling a small package; then the large one
        for size in (MIB, ATTACHMENT_SIZE):
            request_id, expected = _rendered_with_attachment(rt, settings, size)
            _package(rt, request_id)
            result = _pull(settings, server.url, client_key, tmp_path / "inbox")
            assert result.returncode == 0, result.stderr
            assert f"{request_id}: 3 file(s) written" in result.stdout
            peaks[size], pulled[size] = _peak(result.stderr), (request_id, expected)
    finally:
        server.stop()
        rt.close()
    growth = peaks[ATTACHMENT_SIZE] - peaks[MIB]
    peak = peaks[ATTACHMENT_SIZE] / MIB
    print(f"\nclient pull, {ATTACHMENT_SIZE // MIB} MiB attachment: peak RSS {peak:.0f} MiB, "
          f"{growth / MIB:.1f} MiB above a 1 MiB pull")  # fmt: skip
    request_id, expected = pulled[ATTACHMENT_SIZE]
    attachment = tmp_path / "inbox" / request_id / "attachments" / "evidence.bin"
    digest = hashlib.sha256()
    with attachment.open("rb") as handle:
        while block := handle.read(MIB):
            digest.update(block)
    assert digest.hexdigest() == expected
    assert growth < ATTACHMENT_SIZE / 4, f"client peak RSS grew by {growth / MIB:.1f} MiB"
    leftovers = {p.name for p in (tmp_path / "inbox").iterdir()}
    assert leftovers == {pulled[MIB][0], request_id}  # no staging folder left behind


def _replace_package(rt: Runtime, request_id: str, tamper) -> None:
    """Swap the stored package for `tamper(package)` (same kind and name)."""
    with transaction(rt.engine) as conn:
        stored = rt.blobs.find(conn, request_id, "package")
        assert stored is not None
        package = rt.blobs.read(conn, stored.id)
        rt.blobs.shred(conn, stored.id)
        conn.execute(stored_objects.delete().where(stored_objects.c.id == stored.id))
        rt.blobs.put(
            conn, request_id=request_id, kind="package", name="package.p7m",
            media_type="application/pkcs7-mime", data=tamper(package),
        )  # fmt: skip


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def test_client_pull_refuses_a_tampered_package_and_leaves_no_files(make_settings, tmp_path):
    settings = make_settings()
    rt = build_runtime(settings)
    try:
        request_id, _ = _rendered_with_attachment(rt, settings, 4 * MIB)
        _package(rt, request_id)
        _replace_package(rt, request_id, lambda package: _flip(package, len(package) // 2))
        client_key = _client_key(rt, tmp_path)
    finally:
        rt.close()
    server = GatewayProcess(settings, tmp_path / "serve.log", env={"ROGATORY_HTTP_WORKERS": "1"})
    try:
        pulled = _pull(settings, server.url, client_key, tmp_path / "inbox")
    finally:
        server.stop()
    assert pulled.returncode == 1, pulled.stdout
    assert f"Error: {request_id}: package refused (undecryptable)" in pulled.stderr
    assert list((tmp_path / "inbox").rglob("*")) == []


def test_streaming_client_refuses_a_flipped_signature_byte_with_its_code(make_settings, tmp_path):
    settings = make_settings()
    recipient, trust = recipient_and_trust(settings)
    sealed = tmp_path / "sealed.p7m"
    sealed.write_bytes(sealed_for_b(settings, os.urandom(3 * MIB)))
    archive = tmp_path / "package.zip"
    open_package(sealed, recipient, trust, archive, request_id="r-1")  # untampered: opens
    assert archive.stat().st_size == 3 * MIB
    pki = settings.keys_dir / "dev-pki"
    decrypted = subprocess.run(
        ["openssl", "cms", "-decrypt", "-binary", "-inform", "DER", "-in", sealed,
         "-inkey", pki / "authority-b-enc.key", "-recip", pki / "authority-b-enc.pem"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    # the SignedData ends with its signature, then three end-of-contents markers
    resealed = encrypt_envelope(_flip(decrypted, len(decrypted) - 6 - 10), [recipient.certificate])
    sealed.write_bytes(resealed)
    with pytest.raises(ClientRefusal, match=r"r-1: package refused \(signature-invalid\)"):
        open_package(sealed, recipient, trust, archive, request_id="r-1")
    assert not archive.exists()


@pytest.mark.parametrize("hash_on_thread", [True, False], ids=["hashed-aside", "hashed-inline"])
def test_sealing_writes_of_any_size_open_with_openssl_and_the_streaming_reader(
    make_settings, tmp_path, hash_on_thread
):
    """Small writes are gathered, large ones cut into segments without a copy: the
    segment layout varies, the sealed content must not; nor does it where it is hashed
    (a helper thread, or the caller's as packaging does)."""
    settings = make_settings()
    pki = settings.keys_dir / "dev-pki"
    writes: list[bytes | bytearray | memoryview] = [
        b"header",
        memoryview(os.urandom(3 * MIB + 17)),  # a large write that is no segment multiple
        *[os.urandom(1000) for _ in range(80)],  # small writes gathered into one segment
        bytearray(os.urandom(70_000)),
        b"",
        os.urandom(MIB),
        b"trailer",
    ]
    content = b"".join(bytes(w) for w in writes)
    pieces: list[bytes] = []
    writer = SealingWriter(
        pieces.append,
        load_private_key(pki / "gateway-seal.key"),  # type: ignore[arg-type]
        load_certificate(pki / "gateway-seal.pem"),
        [load_certificate(pki / "authority-b-enc.pem")],
        hash_on_thread=hash_on_thread,
    )
    for data in writes:
        assert writer.write(data) == len(data)
        if isinstance(data, bytearray):
            data[:] = bytes(len(data))  # the caller may reuse its buffer once write returns
    writer.finish()
    sealed = tmp_path / "sealed.p7m"
    sealed.write_bytes(b"".join(pieces))
    recipient, trust = recipient_and_trust(settings)
    archive = tmp_path / "content.bin"
    open_package(sealed, recipient, trust, archive, request_id="r-1")
    assert archive.read_bytes() == content
    subprocess.run(
        ["openssl", "cms", "-decrypt", "-binary", "-inform", "DER", "-in", sealed,
         "-inkey", pki / "authority-b-enc.key", "-recip", pki / "authority-b-enc.pem",
         "-out", tmp_path / "signed.der"],
        capture_output=True, check=True,
    )  # fmt: skip
    subprocess.run(
        ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", tmp_path / "signed.der",
         "-CAfile", pki / "ca.pem", "-purpose", "any", "-out", tmp_path / "verified.bin"],
        capture_output=True, check=True,
    )  # fmt: skip
    assert (tmp_path / "verified.bin").read_bytes() == content


class _CutOff(io.RawIOBase):
    """A download whose connection drops after ``limit`` bytes."""

    def __init__(self, data: bytes, limit: int) -> None:
        self._data, self._limit, self._at = data, limit, 0

    def read(self, size: int = -1) -> bytes:
        if self._at >= self._limit:
            raise ConnectionResetError("connection reset by peer")
        piece = self._data[self._at : min(self._at + max(size, 1), self._limit)]
        self._at += len(piece)
        return piece


def test_a_package_streamed_in_and_cut_off_leaves_no_archive(make_settings, tmp_path):
    """The client decrypts the body as it arrives: an ending or dropped connection must
    leave nothing behind, like a tampered package."""
    settings = make_settings()
    recipient, trust = recipient_and_trust(settings)
    sealed = sealed_for_b(settings, os.urandom(3 * MIB))
    archive = tmp_path / "package.zip"
    with pytest.raises(ClientRefusal, match=r"r-1: package refused \(malformed\)"):
        open_package(io.BytesIO(sealed[: 2 * MIB]), recipient, trust, archive, request_id="r-1")
    assert not archive.exists()
    with pytest.raises(ConnectionResetError):
        open_package(_CutOff(sealed, 2 * MIB), recipient, trust, archive, request_id="r-1")
    assert not archive.exists()
    open_package(io.BytesIO(sealed), recipient, trust, archive, request_id="r-1")
    assert archive.stat().st_size == 3 * MIB


def test_a_member_short_of_its_size_fails_the_package_and_leaves_no_thread_or_file(
    make_settings,
):
    """The sealing writer hashes on a thread of its own: a package that fails half-way
    must end it (and the store's) and leave no staging file behind."""
    settings = make_settings()
    rt = build_runtime(settings)
    try:
        member = PackageMember(
            "attachments/short.bin", 3 * MIB, "0" * 64, iter([os.urandom(MIB), os.urandom(MIB)])
        )
        before = set(threading.enumerate())
        with pytest.raises(PackageIntegrityError, match=r"short\.bin"):
            seal_package(
                rt.blobs, "r-short", [member], {}, kind="package", name="package.p7m",
                seal_key=rt.keys.seal_key, seal_cert=rt.keys.seal_cert,
                recipients=[load_certificate(settings.keys_dir / "dev-pki/authority-b-enc.pem")],
            )  # fmt: skip
        assert [t.name for t in set(threading.enumerate()) - before] == []
        staging = settings.data_dir / "objects" / "staging"
        assert not staging.exists() or list(staging.iterdir()) == []
    finally:
        rt.close()
