"""Inline attachments: any file name is accepted and never written into the audit log."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from foundation_support import accept, sealed_submission

from gateway.audit.entries import decode_entry
from gateway.config import Settings
from gateway.persistence.audit_tables import audit_leaf
from gateway.persistence.db import transaction
from gateway.runtime.container import build_runtime


def test_attachment_names_with_spaces_are_stored_and_kept_out_of_the_log(
    make_settings: Callable[..., Settings],
) -> None:
    rt = build_runtime(make_settings())
    name = "Bank statement (Jansen) 2026.txt"
    request_id = accept(
        rt,
        sealed_submission(rt.settings, attachments=[(name, "text/plain", b"Statement of account")]),
        flush=False,
    )
    with transaction(rt.engine) as conn:
        stored = rt.blobs.list(conn, request_id, "attachment")
        entries = [
            decode_entry(bytes(raw))
            for raw in conn.execute(
                sa.select(audit_leaf.c.entry).where(audit_leaf.c.request_id == request_id)
            ).scalars()
        ]
    assert [obj.name for obj in stored] == [name]
    verified = next(e for e in entries if e.event == "verified")
    assert set(verified.artefacts) == {"form", "attachment:1"}
    assert all("Jansen" not in str(e) for e in entries)
