"""The audit log as the API shows it: checkpoints, proofs, entries and cosignatures.

Checkpoints and consistency proofs are public (anyone may check the log only grows).
Entries and inclusion proofs are per authority: an authority sees its own requests'
entries in full and every other entry as its leaf hash only; an inclusion proof of
another authority's entry answers NotFound, exactly like a missing one.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Connection, Engine

from gateway.audit import ledger, witnesses
from gateway.audit.bundle import encode_proof_bundle
from gateway.audit.checkpoint import parse_checkpoint_body, parse_note
from gateway.audit.disclosure import entries_for_authority, entry_parties
from gateway.audit.errors import AuditError
from gateway.domain.errors import DomainError, NotFound
from gateway.persistence.db import transaction
from gateway.services.tokens import Caller

MAX_ENTRIES_PAGE = 1000
MAX_TREE_SIZE = 1 << 62  # bounds every size/index before it reaches a BIGINT column
NO_SUCH_ENTRY = "no such entry"


class AuditRefused(DomainError):
    """A proof or cosignature the log cannot give or accept; ``code`` from the audit error."""

    def __init__(self, code: str, message: str, status: int = 422) -> None:
        super().__init__(message, code=code)
        self.status = status


@contextmanager
def _refusals() -> Iterator[None]:
    try:
        yield
    except AuditError as exc:
        status = 403 if exc.code == "unknown-witness" else 422
        raise AuditRefused(exc.code, exc.detail, status) from None


def _b64(values: list[bytes]) -> list[str]:
    return [base64.b64encode(value).decode("ascii") for value in values]


def _checked(name: str, value: int) -> int:
    if not 0 <= value < MAX_TREE_SIZE:
        raise AuditRefused("bad-parameter", f"{name} must be 0..2^62")
    return value


def _checkpointed_size(conn: Connection) -> int:
    note = ledger.latest_checkpoint(conn, with_cosignatures=False)
    if note is None:
        raise NotFound("no checkpoint signed yet", code="no-checkpoint")
    return parse_checkpoint_body(parse_note(note).body).size


def latest_checkpoint(engine: Engine) -> str:
    """The newest signed checkpoint note, with the witness cosignatures it gathered."""
    with transaction(engine) as conn:
        note = ledger.latest_checkpoint(conn)
    if note is None:
        raise NotFound("no checkpoint signed yet", code="no-checkpoint")
    return note


def inclusion_proof(engine: Engine, caller: Caller, index: int, size: int | None) -> dict[str, Any]:
    """Inclusion of the caller's own entry ``index`` in the tree of ``size`` (default: the
    newest checkpoint), with that checkpoint and a tlog-proof bundle when one was signed."""
    _checked("index", index)
    with transaction(engine) as conn:
        records = ledger.entries(conn, index, index + 1)
        if not records or caller.authority_id not in entry_parties(records[0].entry):
            raise NotFound(NO_SUCH_ENTRY)
        size = _checkpointed_size(conn) if size is None else _checked("size", size)
        with _refusals():
            hashes = ledger.inclusion_proof(conn, index, size)
        checkpoint = ledger.checkpoint_of_size(conn, size)
    return {
        "index": index,
        "tree_size": size,
        "leaf_hash": records[0].leaf_hash.hex(),
        "entry": records[0].entry.decode("utf-8"),
        "inclusion_path": _b64(hashes),
        "checkpoint": checkpoint,
        "proof_bundle": None
        if checkpoint is None
        else encode_proof_bundle(index, hashes, checkpoint),
    }


def consistency_proof(engine: Engine, old: int, new: int | None) -> dict[str, Any]:
    """RFC 9162 consistency proof from tree size ``old`` to ``new`` (default: newest checkpoint)."""
    _checked("old", old)
    with transaction(engine) as conn:
        new = _checkpointed_size(conn) if new is None else _checked("new", new)
        with _refusals():
            hashes = ledger.consistency_proof(conn, old, new)
    return {"old": old, "new": new, "consistency_path": _b64(hashes)}


def entries(engine: Engine, caller: Caller, start: int, end: int | None) -> dict[str, Any]:
    """Entries [start, end): the caller's own requests in full, the others as leaf hashes."""
    _checked("start", start)
    with transaction(engine) as conn:
        size = ledger.tree_size(conn)
        end = min(size, start + MAX_ENTRIES_PAGE) if end is None else _checked("end", end)
        if end < start or end - start > MAX_ENTRIES_PAGE:
            raise AuditRefused("bad-range", f"need start <= end <= start + {MAX_ENTRIES_PAGE}")
        records = ledger.entries(conn, start, min(end, size))
    return {
        "start": start,
        "end": min(end, size),
        "tree_size": size,
        "items": entries_for_authority(records, caller.authority_id),
    }


def submit_cosignature(
    engine: Engine, caller: Caller, checkpoint_text: str, line: str
) -> dict[str, Any]:
    """Store a witness cosignature of one of the caller authority's registered witnesses."""
    with _refusals(), transaction(engine) as conn:
        cosignature = witnesses.accept_cosignature(conn, caller.authority_id, checkpoint_text, line)
    return {
        "witness": cosignature.name,
        "timestamp": cosignature.timestamp,
        "checkpoint_size": parse_checkpoint_body(parse_note(checkpoint_text).body).size,
    }
