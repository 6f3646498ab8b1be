"""The objects a submission writes before its transaction (BlobStore.prepare_many) are
synced together and stay exactly as durable as one `finish` each: every file is fsynced
before it is renamed into place, and after the last rename the directory holding the new
names is fsynced, once for all the objects (their ids share a directory). Small objects
(at most INLINE_LIMIT bytes) are written nowhere before the transaction: their
ciphertext is inserted with their rows, durable when that transaction commits."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from durability_support import record_fsyncs_and_renames

from gateway.crypto.at_rest import FileKek
from gateway.persistence import object_backends
from gateway.persistence.blobs import INLINE_LIMIT, BlobStore

ITEMS = [  # each larger than INLINE_LIMIT: written as files
    ("signed-request", "request.p7s", "application/pkcs7-mime", os.urandom(INLINE_LIMIT + 1)),
    ("form", "form.json", "application/json", b'{"a": 1}' * 9000),
    ("attachment", "note.txt", "text/plain", b"inline attachment" * 5000),
]


def test_files_fsynced_then_renamed_then_their_directory_fsynced_once(tmp_path, monkeypatch):
    store = BlobStore(tmp_path, FileKek(os.urandom(32)))
    events = record_fsyncs_and_renames(monkeypatch)
    prepared = store.prepare_many(request_id="r-1", items=ITEMS)

    backend = store.backend
    assert isinstance(backend, object_backends.FilesystemObjects)
    finals = [str(backend.path(item.staged.id)) for item in prepared]
    directories = {str(Path(final).parent) for final in finals}
    assert len(directories) == 1, "one request's objects share a directory"
    directory = directories.pop()
    # the last rename of each (the first one of a new directory is retried after mkdir)
    renames = [max(i for i, e in enumerate(events) if e == ("rename", final)) for final in finals]
    file_syncs = [
        index
        for index, (operation, path) in enumerate(events)
        if operation == "fsync" and path.endswith(".tmp")
    ]
    assert len(file_syncs) == len(ITEMS)
    for sync, rename in zip(file_syncs, renames, strict=True):
        assert sync < rename, "the bytes are durable before the name points at them"
    directory_syncs = [index for index, event in enumerate(events) if event == ("fsync", directory)]
    assert len(directory_syncs) == 1
    assert directory_syncs[0] > max(renames), "every new name is durable"
    assert sum(operation == "fsync" for operation, _ in events) == len(ITEMS) + 1

    events.clear()
    for item in prepared:  # already durable: finishing again writes nothing
        item.staged.finish()
    assert events == []
    with store.backend.open(prepared[1].staged.id) as stored:
        assert stored.read()  # ciphertext in place
    assert list((tmp_path / "objects" / "staging").iterdir()) == []


def test_a_failed_sync_discards_every_object_of_the_group(tmp_path, monkeypatch):
    store = BlobStore(tmp_path, FileKek(os.urandom(32)))
    real_fsync = os.fsync
    calls = []

    def failing_second(descriptor: int) -> None:
        calls.append(descriptor)
        if len(calls) == 2:
            raise OSError(errno.EIO, "disk gone")
        real_fsync(descriptor)

    monkeypatch.setattr(object_backends.os, "fsync", failing_second)
    with pytest.raises(OSError, match="disk gone"):
        store.prepare_many(request_id="r-2", items=ITEMS)
    left = [path for path in (tmp_path / "objects").rglob("*") if path.is_file()]
    assert left == []
