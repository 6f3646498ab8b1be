"""`rogatory client pull` unpacks the package ZIP while it is decrypted: files land in
place only once the signature and every manifest hash verified; any refusal (bad
signature, a file that does not match its manifest entry, a package for another request,
a damaged archive) leaves nothing behind and says why."""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from durability_support import record_fsyncs_and_renames
from package_support import recipient_and_trust, sealed_for_b

from gateway.config import Settings
from gateway.crypto import encrypt_envelope
from gateway.crypto.keyfiles import load_certificate
from gateway.services.packaging import PackageMember, write_package_zip
from gateway.services.reference_client import ClientRefusal, open_and_unpack, unpack_package

MIB = 1024 * 1024


class _Unseekable(io.RawIOBase):
    """The packager's sink: write-only, like the sealing stream it writes into."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        self.data += data
        return len(data)


def _package_zip(files: dict[str, bytes], *, request_id: str = "r-1", lie: str = "") -> bytes:
    """The ZIP the packager writes (manifest first, streamed members); `lie` names a file
    whose manifest hash is wrong."""
    members = [
        PackageMember(
            name,
            len(data),
            hashlib.sha256(data + (b"!" if name == lie else b"")).hexdigest(),
            iter([data[: len(data) // 2], data[len(data) // 2 :]]),
        )
        for name, data in files.items()
    ]
    out = _Unseekable()
    write_package_zip(out, request_id, members, {"message_sha256": "0" * 64})  # type: ignore[arg-type]
    return bytes(out.data)


def _files() -> dict[str, bytes]:
    return {
        "request.p7s": os.urandom(5000),
        "form.json": b'{"a": 1}',
        "attachments/evidence.bin": os.urandom(3 * MIB + 5),
    }


def _open(settings: Settings, sealed: bytes, target: Path, request_id: str = "r-1") -> dict:
    recipient, trust = recipient_and_trust(settings)
    return open_and_unpack(io.BytesIO(sealed), recipient, trust, target, request_id=request_id)


def test_a_package_is_unpacked_as_it_is_decrypted_into_private_files(make_settings, tmp_path):
    settings = make_settings()
    files = _files()
    target = tmp_path / "inbox" / "r-1"
    manifest = _open(settings, sealed_for_b(settings, _package_zip(files)), target)
    assert [entry["name"] for entry in manifest["files"]] == list(files)
    for name, data in files.items():
        assert (target / name).read_bytes() == data
        assert stat.S_IMODE((target / name).stat().st_mode) == 0o600
    assert stat.S_IMODE((target / "attachments").stat().st_mode) == 0o700
    written = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
    assert written == sorted([*files, "manifest.json"])  # no partial file left over


def _refused(
    settings: Settings, tmp_path: Path, sealed: bytes, match: str, *, request_id: str = "r-1"
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with pytest.raises(ClientRefusal, match=match):
        _open(settings, sealed, inbox / request_id, request_id)
    assert list(inbox.rglob("*")) == []


def test_a_flipped_signature_byte_leaves_no_files_and_gives_its_code(make_settings, tmp_path):
    settings = make_settings()
    sealed = sealed_for_b(settings, _package_zip(_files()))
    pki = settings.keys_dir / "dev-pki"
    signed = subprocess.run(
        ["openssl", "cms", "-decrypt", "-binary", "-inform", "DER",
         "-inkey", pki / "authority-b-enc.key", "-recip", pki / "authority-b-enc.pem"],
        input=sealed, capture_output=True, check=True,
    ).stdout  # fmt: skip
    at = len(signed) - 6 - 10  # in the signature, before three end-of-contents markers
    flipped = signed[:at] + bytes([signed[at] ^ 1]) + signed[at + 1 :]
    resealed = encrypt_envelope(flipped, [load_certificate(pki / "authority-b-enc.pem")])
    _refused(settings, tmp_path, resealed, r"r-1: package refused \(signature-invalid\)")


def test_a_flipped_ciphertext_byte_leaves_no_files(make_settings, tmp_path):
    settings = make_settings()
    sealed = bytearray(sealed_for_b(settings, _package_zip(_files())))
    sealed[len(sealed) // 2] ^= 1  # inside the attachment's bytes: GCM refuses at the end
    _refused(settings, tmp_path, bytes(sealed), r"r-1: package refused \(undecryptable\)")


def test_a_signed_file_that_differs_from_its_manifest_entry_leaves_no_files(
    make_settings, tmp_path
):
    settings = make_settings()
    zipped = _package_zip(_files(), lie="attachments/evidence.bin")
    _refused(settings, tmp_path, sealed_for_b(settings, zipped), "does not match the manifest")


def test_a_package_for_another_request_leaves_no_files(make_settings, tmp_path):
    settings = make_settings()
    sealed = sealed_for_b(settings, _package_zip(_files(), request_id="r-2"))
    _refused(settings, tmp_path, sealed, "r-1: package is for another request")


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda z: z[: len(z) - 200], id="central-directory-cut"),
        pytest.param(lambda z: z[: len(z) // 2], id="member-cut"),
        pytest.param(lambda z: z.replace(b"form.json", b"form.jsox", 1), id="member-renamed"),
        pytest.param(lambda z: b"PK\x03\x04" + b"\x00" * 60, id="garbage"),
    ],
)
def test_a_damaged_archive_in_a_valid_signature_leaves_no_files(
    make_settings, tmp_path, damage: Callable[[bytes], bytes]
):
    settings = make_settings()
    zipped = damage(_package_zip(_files()))
    _refused(settings, tmp_path, sealed_for_b(settings, zipped), "damaged|does not match|missing")


def test_the_packagers_zip_is_read_by_unzip_and_by_unpack_package(tmp_path):
    files = _files()
    archive = tmp_path / "package.zip"
    archive.write_bytes(_package_zip(files))
    subprocess.run(["unzip", "-tq", archive], check=True, capture_output=True)
    manifest = unpack_package(archive, tmp_path / "out")
    assert len(manifest["files"]) == len(files)
    for name, data in files.items():
        assert (tmp_path / "out" / name).read_bytes() == data


def test_zip64_members_with_and_without_data_descriptors_are_unpacked(tmp_path):
    """Members over 2 GiB are written with ZIP64 sizes (in the local header or in the
    data descriptor): forced here on small ones, with a streamed and a seekable writer."""
    data = os.urandom(70_000)
    manifest = {
        "request_id": "r",
        "files": [
            {"name": "big.bin", "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        ],
    }
    for out in (_Unseekable(), io.BytesIO()):
        with zipfile.ZipFile(out, "w") as archive:
            archive.writestr("manifest.json", json.dumps(manifest))
            with archive.open("big.bin", "w", force_zip64=True) as member:
                member.write(data)
        zipped = bytes(out.data) if isinstance(out, _Unseekable) else out.getvalue()
        target = tmp_path / type(out).__name__
        assert unpack_package(zipped, target)["files"] == manifest["files"]
        assert (target / "big.bin").read_bytes() == data


def test_files_are_on_disk_before_the_pull_reports_them(tmp_path, monkeypatch):
    """commit fsyncs each file before its rename, then every folder holding a new name
    (the target's parent too, which holds the new target folder): a crash after the pull
    said 'written' (or acknowledged) cannot lose them."""
    events = record_fsyncs_and_renames(monkeypatch)
    files = _files()
    target = tmp_path / "inbox" / "r-1"
    (tmp_path / "inbox").mkdir()
    unpack_package(_package_zip(files), target)

    renames = {path: i for i, (op, path) in enumerate(events) if op == "rename"}
    finals = [str((target / name).resolve()) for name in ("manifest.json", *files)]
    assert sorted(renames) == sorted(finals)
    synced = [(i, path) for i, (op, path) in enumerate(events) if op == "fsync"]
    for final in finals:
        name = Path(final).name
        partial_syncs = [i for i, path in synced if Path(path).name.startswith(f".{name}.")]
        assert partial_syncs, f"{name} was never fsynced"
        assert max(partial_syncs) < renames[final], f"{name} renamed before it was fsynced"
    last_rename = max(renames.values())
    synced_after = {path for i, path in synced if i > last_rename}
    for folder in {str(Path(final).parent) for final in finals} | {str(tmp_path / "inbox")}:
        assert folder in synced_after, f"{folder} not fsynced after the renames"
