"""Key-encryption-key rotation: every data key re-wrapped in one transaction, audited."""

from __future__ import annotations

import logging

from sqlalchemy.engine import Engine

from gateway.crypto.at_rest import Kek
from gateway.domain.errors import DomainError
from gateway.persistence import memory_store, review_store
from gateway.persistence.blobs import BlobStore
from gateway.persistence.db import transaction
from gateway.services import totp_secrets
from gateway.services.lifecycle import record

log = logging.getLogger(__name__)


class RotationRefused(DomainError):
    code = "rotation-refused"
    status = 409


def rotate_kek(engine: Engine, blobs: BlobStore, new_kek: Kek, *, actor: str) -> int:
    """Re-wrap every data key from ``blobs.kek`` to ``new_kek``; all or nothing.

    Object files are untouched (their data keys do not change). Returns how many keys
    were re-wrapped. Processes still holding the old KEK must be restarted afterwards.
    """
    old_kek = blobs.kek
    if old_kek.key_id == new_kek.key_id:
        raise RotationRefused("the new KEK is the current one")
    with transaction(engine) as conn:
        tm_entries = memory_store.rewrap(conn, old_kek, new_kek)  # issue 19: TM data keys too
        tm_entries += review_store.rewrap(conn, old_kek, new_kek)
        count = blobs.rewrap(conn, new_kek)
        users = totp_secrets.rewrap(conn, old_kek, new_kek)
        record(
            conn,
            None,
            "key_rotation",
            actor=actor,
            detail={
                "key": "kek",
                "from": old_kek.key_id,
                "to": new_kek.key_id,
                "objects": count,
                "totp_secrets": users,
                "tm_entries": tm_entries,
            },
        )
    log.info("kek rotated", extra={"objects": count, "kek_id": new_kek.key_id})
    return count
