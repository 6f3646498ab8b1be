"""Signed checkpoints of the audit log: periodically (Celery beat) and on demand.

The gateway signs with its log key (keyring ``audit_key``); the origin line names the
log as ``<gateway_id>/log``. The periodic job signs only when the tree grew since the
newest checkpoint, so an idle gateway does not pile up identical checkpoints.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Engine

from gateway.audit import ledger
from gateway.audit.checkpoint import parse_checkpoint_body, parse_note
from gateway.config import Settings
from gateway.persistence.db import transaction

log = logging.getLogger(__name__)

CHECKPOINT_INTERVAL_SECONDS = 10.0


@dataclass(frozen=True)
class CheckpointOutcome:
    signed: bool
    size: int
    note: str | None


def log_origin(settings: Settings) -> str:
    """The checkpoint origin line of this gateway's log."""
    return f"{settings.gateway_id}/log"


def _size_of(note: str) -> int:
    return parse_checkpoint_body(parse_note(note).body).size


def checkpoint_if_grown(
    engine: Engine, log_key: Ed25519PrivateKey, origin: str
) -> CheckpointOutcome:
    """The periodic job: sign a checkpoint when entries were appended since the last one."""
    with transaction(engine) as conn:
        note = ledger.sign_checkpoint_if_grown(conn, log_key, origin)
        size = ledger.tree_size(conn)
    if note is not None:
        log.info("audit checkpoint signed", extra={"tree_size": size})
    return CheckpointOutcome(note is not None, size, note)


def checkpoint_now(engine: Engine, log_key: Ed25519PrivateKey, origin: str) -> CheckpointOutcome:
    """An administrator's checkpoint: signed whatever the tree size."""
    with transaction(engine) as conn:
        note = ledger.sign_checkpoint(conn, log_key, origin)
    return CheckpointOutcome(True, _size_of(note), note)
