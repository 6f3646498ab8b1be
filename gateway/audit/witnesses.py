"""Witnesses: counterpart authorities' Ed25519 keys that cosign our checkpoints.

A witness is registered once per name for one authority (``audit_witnesses``). A
cosignature line it submits is verified against that key and against a checkpoint
this log really issued before it is stored (``ledger.add_cosignature``). ``review``
re-checks every stored cosignature for ``rogatory audit verify``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import Connection, insert, select

from gateway.audit import ledger
from gateway.audit.checkpoint import Cosignature, parse_note, verify_cosignature
from gateway.audit.errors import LedgerError, VerificationError
from gateway.persistence.audit_tables import (
    audit_checkpoint,
    audit_cosignature,
    audit_witnesses,
)

MAX_WITNESS_NAME = 255


@dataclass(frozen=True)
class Witness:
    name: str
    authority_id: str
    public_key: Ed25519PublicKey


@dataclass(frozen=True)
class CosignatureCheck:
    """One stored cosignature, re-verified: ``ok`` False means it no longer verifies."""

    checkpoint_size: int
    witness_name: str
    authority_id: str | None
    timestamp: int
    ok: bool
    detail: str


def _valid_name(name: str) -> bool:
    return 0 < len(name) <= MAX_WITNESS_NAME and not any(c.isspace() or c == "+" for c in name)


def register(
    conn: Connection, authority_id: str, name: str, public_key: Ed25519PublicKey
) -> Witness:
    """Register witness ``name`` of ``authority_id``; a name is registered once."""
    if not _valid_name(name):
        raise LedgerError("bad-witness-name", "witness names have no spaces or '+'")
    if find(conn, name) is not None:
        raise LedgerError("witness-exists", f"witness {name!r} is already registered")
    conn.execute(
        insert(audit_witnesses).values(
            name=name,
            authority_id=authority_id,
            public_key=public_key.public_bytes(Encoding.Raw, PublicFormat.Raw),
            created_at=datetime.now(UTC),
        )
    )
    return Witness(name, authority_id, public_key)


def find(conn: Connection, name: str) -> Witness | None:
    row = conn.execute(select(audit_witnesses).where(audit_witnesses.c.name == name)).first()
    if row is None:
        return None
    key = Ed25519PublicKey.from_public_bytes(bytes(row.public_key))
    return Witness(str(row.name), str(row.authority_id), key)


def witness_name_of(line: str) -> str:
    """The signer name of one signature line (``— <name> <base64>``), unverified."""
    text = line.rstrip("\n")
    if not text.startswith("\u2014 ") or "\n" in text:
        raise VerificationError("malformed-cosignature", "send one '\u2014 name signature' line")
    name = text[2:].partition(" ")[0]
    if not _valid_name(name):
        raise VerificationError("malformed-cosignature", "bad witness name in the line")
    return name


def accept_cosignature(
    conn: Connection, authority_id: str, checkpoint_text: str, line: str
) -> Cosignature:
    """Verify a cosignature sent by ``authority_id`` and store it (idempotent per witness)."""
    name = witness_name_of(line)
    witness = find(conn, name)
    if witness is None or witness.authority_id != authority_id:
        # the same answer for an unknown name and another authority's witness
        raise VerificationError("unknown-witness", f"no witness {name!r} for this authority")
    cosignature = verify_cosignature(checkpoint_text, line, witness.name, witness.public_key)
    if _already_stored(conn, checkpoint_text, cosignature):
        return cosignature
    return ledger.add_cosignature(conn, checkpoint_text, line, witness.name, witness.public_key)


def _already_stored(conn: Connection, checkpoint_text: str, cosignature: Cosignature) -> bool:
    body = parse_note(checkpoint_text).body
    rows = conn.execute(
        select(audit_checkpoint.c.note)
        .join(audit_cosignature, audit_cosignature.c.checkpoint_id == audit_checkpoint.c.id)
        .where(
            audit_cosignature.c.witness_name == cosignature.name,
            audit_cosignature.c.key_id == cosignature.key_id,
        )
    ).scalars()
    return any(parse_note(note).body == body for note in rows)


def review(conn: Connection) -> list[CosignatureCheck]:
    """Every stored cosignature re-verified against its checkpoint and registered key."""
    rows = conn.execute(
        select(
            audit_checkpoint.c.size,
            audit_checkpoint.c.note,
            audit_cosignature.c.witness_name,
            audit_cosignature.c.timestamp,
            audit_cosignature.c.line,
        )
        .join(audit_checkpoint, audit_cosignature.c.checkpoint_id == audit_checkpoint.c.id)
        .order_by(audit_checkpoint.c.id, audit_cosignature.c.id)
    ).all()
    checks = []
    for row in rows:
        witness = find(conn, row.witness_name)
        authority = None if witness is None else witness.authority_id
        ok, detail = False, "witness is not registered"
        if witness is not None:
            try:
                verify_cosignature(row.note, row.line, witness.name, witness.public_key)
                ok, detail = True, "verified"
            except VerificationError as exc:
                detail = f"{exc.code}: {exc.detail}"
        checks.append(
            CosignatureCheck(
                int(row.size), str(row.witness_name), authority, int(row.timestamp), ok, detail
            )
        )
    return checks
