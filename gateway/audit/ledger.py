"""The audit log in the database (SQLAlchemy Core on a caller-owned Connection).

``append`` runs inside the caller's transaction, so a state change and its
entry commit or roll back together. Appends are serialised on the single
``audit_head`` row (SELECT ... FOR UPDATE on PostgreSQL, the write lock on
SQLite) and double-checked by compare-and-set on its size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection, and_, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from gateway.audit import merkle
from gateway.audit.bundle import encode_proof_bundle
from gateway.audit.checkpoint import (
    Checkpoint,
    Cosignature,
    add_signature_lines,
    open_checkpoint,
    parse_checkpoint_body,
    parse_note,
    verify_cosignature,
)
from gateway.audit.checkpoint import sign_checkpoint as sign_checkpoint_note
from gateway.audit.disclosure import LedgerRecord
from gateway.audit.entries import AuditEntry
from gateway.audit.errors import LedgerError, VerificationError
from gateway.audit.verify import Report
from gateway.persistence.audit_tables import (
    audit_checkpoint,
    audit_cosignature,
    audit_head,
    audit_leaf,
    audit_node,
)

_HEAD_ID = 1
RECEIPT_FORMAT = "rogatory-audit-receipt/v1"


@dataclass(frozen=True)
class AppendResult:
    index: int
    leaf_hash: bytes


@dataclass(frozen=True)
class Head:
    size: int
    root: bytes
    frontier: list[bytes]


def _split_frontier(blob: bytes) -> list[bytes]:
    return [blob[i : i + merkle.HASH_SIZE] for i in range(0, len(blob), merkle.HASH_SIZE)]


def _read_head(conn: Connection, *, lock: bool = False) -> Head | None:
    query = select(audit_head.c.size, audit_head.c.root, audit_head.c.frontier).where(
        audit_head.c.id == _HEAD_ID
    )
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        return None
    return Head(int(row.size), bytes(row.root), _split_frontier(bytes(row.frontier)))


def initialise(conn: Connection) -> None:
    """Create the empty head row if absent (idempotent, and safe when first appends race)."""
    if _read_head(conn) is None:
        dialect_insert = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
        conn.execute(
            dialect_insert(audit_head)
            .values(id=_HEAD_ID, size=0, root=merkle.EMPTY_ROOT, frontier=b"")
            .on_conflict_do_nothing(index_elements=["id"])
        )


def append(conn: Connection, entry: AuditEntry) -> AppendResult:
    """Append one entry in the caller's transaction."""
    return append_many(conn, [entry])[0]


def _locked_head(conn: Connection) -> Head:
    head = _read_head(conn, lock=True)
    if head is None:
        initialise(conn)  # a concurrent first append may have created it: lock what exists
        head = _read_head(conn, lock=True)
        if head is None:
            raise LedgerError("no-head", "the log head could not be created")
    return head


def locked_head(conn: Connection) -> Head:
    """The head, locked for the caller's transaction: `size` is the leaf index the next
    append gets (for an entry whose content must name its own index, e.g. a signed
    receipt); hand it to `append_many` so the head is read once."""
    return _locked_head(conn)


def append_many(
    conn: Connection, entries: Sequence[AuditEntry], *, head: Head | None = None
) -> list[AppendResult]:
    """Append entries in order, in the caller's transaction, under one head lock.

    `head` is what `locked_head` returned earlier in this transaction, with no append
    since (the compare-and-set on its size refuses a stale one)."""
    head = head if head is not None else _locked_head(conn)
    size, frontier = head.size, head.frontier
    results: list[AppendResult] = []
    leaf_rows: list[dict[str, object]] = []
    node_rows: list[dict[str, object]] = []
    for entry in entries:
        data = entry.encode()
        value = merkle.leaf_hash(data)
        frontier, completed = merkle.compact_append(frontier, size, value)
        leaf_rows.append(
            {"idx": size, "entry": data, "leaf_hash": value, "request_id": entry.request_id}
        )
        node_rows += [{"level": lv, "idx": ix, "hash": h} for lv, ix, h in completed]
        results.append(AppendResult(size, value))
        size += 1
    if not results:
        return results
    changed = conn.execute(
        update(audit_head)
        .where(audit_head.c.id == _HEAD_ID, audit_head.c.size == head.size)
        .values(size=size, root=merkle.compact_root(frontier), frontier=b"".join(frontier))
    )
    if changed.rowcount != 1:
        raise LedgerError(
            "concurrent-append", "the log head moved during append; retry the transaction"
        )
    conn.execute(insert(audit_leaf), leaf_rows)
    conn.execute(insert(audit_node), node_rows)
    return results


def tree_size(conn: Connection) -> int:
    head = _read_head(conn)
    return 0 if head is None else head.size


def _fetch_nodes(conn: Connection, wanted: Sequence[merkle.Node]) -> dict[merkle.Node, bytes]:
    # One level per OR term so both SQLite and PostgreSQL probe the (level, idx) key.
    by_level: dict[int, list[int]] = {}
    for level, index in wanted:
        by_level.setdefault(level, []).append(index)
    found: dict[merkle.Node, bytes] = {}
    if not by_level:
        return found
    terms = [
        and_(audit_node.c.level == level, audit_node.c.idx.in_(indices))
        for level, indices in by_level.items()
    ]
    rows = conn.execute(
        select(audit_node.c.level, audit_node.c.idx, audit_node.c.hash).where(or_(*terms))
    )
    found.update({(int(r.level), int(r.idx)): bytes(r.hash) for r in rows})
    return found


def _prefetched_getter(conn: Connection, plan: Sequence[merkle.Node]) -> merkle.NodeGetter:
    """One query for every node a proof needs, then an in-memory getter."""
    nodes = _fetch_nodes(conn, plan)

    def get(level: int, index: int) -> bytes:
        try:
            return nodes[(level, index)]
        except KeyError:
            raise LedgerError("missing-node", f"tree node ({level}, {index}) is missing") from None

    return get


def _check_size(conn: Connection, size: int) -> None:
    current = tree_size(conn)
    if not 0 <= size <= current:
        raise LedgerError("bad-size", f"size {size} outside 0..{current}")


def root(conn: Connection, size: int | None = None) -> bytes:
    head = _read_head(conn)
    current = 0 if head is None else head.size
    if size is None or size == current:
        return merkle.EMPTY_ROOT if head is None else head.root
    _check_size(conn, size)
    plan = merkle.frontier_nodes(size)
    return merkle.root_hash(_prefetched_getter(conn, plan), size)


def inclusion_proof(conn: Connection, index: int, size: int) -> list[bytes]:
    _check_size(conn, size)
    if not 0 <= index < size:
        raise LedgerError("bad-index", f"leaf {index} not in a tree of size {size}")
    plan = merkle.required_nodes(lambda g: merkle.inclusion_proof(g, index, size))
    return merkle.inclusion_proof(_prefetched_getter(conn, plan), index, size)


def consistency_proof(conn: Connection, old: int, new: int) -> list[bytes]:
    _check_size(conn, new)
    if not 0 <= old <= new:
        raise LedgerError("bad-size", f"no consistency proof from {old} to {new}")
    plan = merkle.required_nodes(lambda g: merkle.consistency_proof(g, old, new))
    return merkle.consistency_proof(_prefetched_getter(conn, plan), old, new)


def sign_checkpoint(conn: Connection, log_key: Ed25519PrivateKey, origin: str) -> str:
    """Sign the current tree head, store the note and return its text."""
    head = _read_head(conn)
    size, root_value = (0, merkle.EMPTY_ROOT) if head is None else (head.size, head.root)
    note = sign_checkpoint_note(Checkpoint(origin, size, root_value), log_key)
    conn.execute(
        insert(audit_checkpoint).values(
            size=size, root=root_value, note=note, created_at=datetime.now(UTC)
        )
    )
    return note


def sign_checkpoint_if_grown(
    conn: Connection, log_key: Ed25519PrivateKey, origin: str
) -> str | None:
    """Sign a checkpoint only when the tree grew past the newest one; None otherwise.

    The head row is locked first, so two schedulers racing sign one checkpoint, not two.
    """
    head = _read_head(conn, lock=True)
    if head is None or head.size == 0:
        return None
    newest = conn.execute(select(func.max(audit_checkpoint.c.size))).scalar_one()
    if newest is not None and int(newest) >= head.size:
        return None
    return sign_checkpoint(conn, log_key, origin)


def _with_cosignatures(conn: Connection, checkpoint_id: int, note: str) -> str:
    lines = conn.execute(
        select(audit_cosignature.c.line)
        .where(audit_cosignature.c.checkpoint_id == checkpoint_id)
        .order_by(audit_cosignature.c.id)
    ).scalars()
    return add_signature_lines(note, list(lines))


def latest_checkpoint(conn: Connection, *, with_cosignatures: bool = True) -> str | None:
    """Newest stored checkpoint note (with any stored witness cosignature lines)."""
    row = conn.execute(
        select(audit_checkpoint.c.id, audit_checkpoint.c.note)
        .order_by(audit_checkpoint.c.size.desc(), audit_checkpoint.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return _with_cosignatures(conn, row.id, row.note) if with_cosignatures else str(row.note)


def checkpoint_of_size(conn: Connection, size: int) -> str | None:
    """The newest stored checkpoint of exactly ``size`` entries (with cosignatures)."""
    row = conn.execute(
        select(audit_checkpoint.c.id, audit_checkpoint.c.note)
        .where(audit_checkpoint.c.size == size)
        .order_by(audit_checkpoint.c.id.desc())
        .limit(1)
    ).first()
    return None if row is None else _with_cosignatures(conn, row.id, row.note)


def checkpoints(conn: Connection) -> list[str]:
    """Every stored checkpoint note (oldest first) with its cosignatures."""
    rows = conn.execute(
        select(audit_checkpoint.c.id, audit_checkpoint.c.note).order_by(audit_checkpoint.c.id)
    ).all()
    return [_with_cosignatures(conn, r.id, r.note) for r in rows]


def add_cosignature(
    conn: Connection,
    checkpoint_text: str,
    line: str,
    witness_name: str,
    witness_key: Ed25519PublicKey,
) -> Cosignature:
    """Verify a witness cosignature line on a stored checkpoint and store it."""
    body = parse_note(checkpoint_text).body
    cosignature = verify_cosignature(checkpoint_text, line, witness_name, witness_key)
    checkpoint = parse_checkpoint_body(body)
    candidates = conn.execute(
        select(audit_checkpoint.c.id, audit_checkpoint.c.note).where(
            audit_checkpoint.c.size == checkpoint.size, audit_checkpoint.c.root == checkpoint.root
        )
    ).all()
    matching = [r.id for r in candidates if parse_note(r.note).body == body]
    if not matching:
        raise VerificationError(
            "unknown-checkpoint", "cosigned checkpoint was never issued by this log"
        )
    conn.execute(
        insert(audit_cosignature).values(
            checkpoint_id=matching[0],
            witness_name=cosignature.name,
            key_id=cosignature.key_id,
            timestamp=cosignature.timestamp,
            line=cosignature.line,
        )
    )
    return cosignature


def entries(conn: Connection, start: int, end: int) -> list[LedgerRecord]:
    """Leaves with start <= index < end, in index order."""
    rows = conn.execute(
        select(audit_leaf.c.idx, audit_leaf.c.entry, audit_leaf.c.leaf_hash)
        .where(audit_leaf.c.idx >= start, audit_leaf.c.idx < end)
        .order_by(audit_leaf.c.idx)
    )
    return [LedgerRecord(int(r.idx), bytes(r.entry), bytes(r.leaf_hash)) for r in rows]


def entry_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(audit_leaf)).scalar_one())


def proof_bundle(conn: Connection, index: int, log_public_key: Ed25519PublicKey) -> str:
    """tlog-proof@v1 bundle for leaf ``index`` against the newest checkpoint covering it."""
    note = latest_checkpoint(conn)
    if note is None:
        raise LedgerError("no-checkpoint", "no checkpoint signed yet")
    checkpoint = open_checkpoint(note, log_public_key)
    if index >= checkpoint.size:
        raise LedgerError(
            "not-yet-checkpointed", f"leaf {index} is newer than the latest checkpoint"
        )
    return encode_proof_bundle(index, inclusion_proof(conn, index, checkpoint.size), note)


def receipt(
    conn: Connection, index: int, log_public_key: Ed25519PublicKey, *, pending_ok: bool = False
) -> dict[str, object]:
    """A self-contained receipt: entry text plus its proof bundle against the newest
    checkpoint. With ``pending_ok`` the proof is null while no checkpoint covers it yet."""
    records = entries(conn, index, index + 1)
    if not records:
        raise LedgerError("bad-index", f"no entry {index}")
    try:
        proof: str | None = proof_bundle(conn, index, log_public_key)
    except LedgerError as exc:
        if not (pending_ok and exc.code in ("no-checkpoint", "not-yet-checkpointed")):
            raise
        proof = None
    return {
        "format": RECEIPT_FORMAT,
        "index": index,
        "entry": records[0].entry.decode("utf-8"),
        "proof": proof,
    }


def export(conn: Connection, fh: IO[str]) -> int:
    """Write the log as JSON lines (see ``gateway.audit.export``)."""
    from gateway.audit.export import export as export_log  # export.py imports ledger

    return export_log(conn, fh)


def verify_database(conn: Connection, log_public_key: Ed25519PublicKey) -> Report:
    from gateway.audit.export import verify_database as verify_db

    return verify_db(conn, log_public_key)


def verify_export(fh: IO[str], log_public_key: Ed25519PublicKey) -> Report:
    from gateway.audit.export import verify_export as verify_file

    return verify_file(fh, log_public_key)


def check_consistency_with(
    conn: Connection, old_checkpoint_text: str, log_public_key: Ed25519PublicKey
) -> tuple[Checkpoint, Checkpoint]:
    """Prove the log still extends a checkpoint a counterpart kept; raises VerificationError."""
    old = open_checkpoint(old_checkpoint_text, log_public_key)
    note = latest_checkpoint(conn, with_cosignatures=False)
    if note is None:
        raise VerificationError("no-checkpoint", "the log has no checkpoint")
    new = open_checkpoint(note, log_public_key)
    if old.origin != new.origin:
        raise VerificationError("wrong-origin", f"old checkpoint is for {old.origin!r}")
    if new.size < old.size:
        raise VerificationError("log-shrunk", f"log size {new.size} is below the old {old.size}")
    if new.size > tree_size(conn) or root(conn, new.size) != new.root:
        raise VerificationError("log-rewritten", "stored tree does not match its latest checkpoint")
    try:
        proof = consistency_proof(conn, old.size, new.size)
    except LedgerError as exc:
        raise VerificationError("log-rewritten", exc.detail) from exc
    merkle.verify_consistency(old.size, new.size, old.root, new.root, proof)
    return old, new
