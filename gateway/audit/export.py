"""Log export (JSON lines) and end-to-end verification of the database or an export.

Export lines, in order::

    {"type": "head", "format": "rogatory-audit-export/v1", "size": n, "root": hex}
    {"type": "leaf", "index": i, "entry": "<canonical entry>", "leaf_hash": hex}   (n lines)
    {"type": "checkpoint", "note": "<signed note with cosignatures>"}

``leaf_hash`` is the stored tree's level-0 node, independent of the entry text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, and_, or_, select

from gateway.audit import ledger, merkle
from gateway.audit.checkpoint import Checkpoint, open_checkpoint
from gateway.audit.errors import VerificationError
from gateway.audit.verify import Report, StoredLeaf, verify_log
from gateway.persistence.audit_tables import audit_head, audit_leaf, audit_node

EXPORT_FORMAT = "rogatory-audit-export/v1"
_PAGE = 20_000
_MAX_DISPUTES = 16


def _leaves(conn: Connection) -> Iterator[StoredLeaf]:
    last = -1
    while True:
        rows = conn.execute(
            select(audit_leaf.c.idx, audit_leaf.c.entry, audit_leaf.c.leaf_hash)
            .where(audit_leaf.c.idx > last)
            .order_by(audit_leaf.c.idx)
            .limit(_PAGE)
        ).all()
        if not rows:
            return
        for row in rows:
            yield StoredLeaf(int(row.idx), bytes(row.entry), bytes(row.leaf_hash))
        last = int(rows[-1].idx)


def _nodes(conn: Connection, *, level0: bool) -> Iterator[tuple[int, int, bytes]]:
    condition = audit_node.c.level == 0 if level0 else audit_node.c.level > 0
    last = (-1, -1)
    while True:
        rows = conn.execute(
            select(audit_node.c.level, audit_node.c.idx, audit_node.c.hash)
            .where(condition)
            .where(
                or_(
                    audit_node.c.level > last[0],
                    and_(audit_node.c.level == last[0], audit_node.c.idx > last[1]),
                )
            )
            .order_by(audit_node.c.level, audit_node.c.idx)
            .limit(_PAGE)
        ).all()
        if not rows:
            return
        for row in rows:
            yield int(row.level), int(row.idx), bytes(row.hash)
        last = (int(rows[-1].level), int(rows[-1].idx))


def _head(conn: Connection) -> tuple[int, bytes | None]:
    row = conn.execute(select(audit_head.c.size, audit_head.c.root)).first()
    return (0, None) if row is None else (int(row.size), bytes(row.root))


def _reference(size: int, pairs: Iterator[tuple[int, bytes]]) -> list[bytes | None]:
    reference: list[bytes | None] = [None] * size
    for index, value in pairs:
        if 0 <= index < size and reference[index] is None:
            reference[index] = value
    return reference


def _checkpoint_votes(leaves: list[StoredLeaf], dropped: set[int], signed: list[Checkpoint]) -> int:
    """How many signed checkpoints the log matches if the ``dropped`` lines are forgeries."""
    kept = [merkle.leaf_hash(leaf.entry) for i, leaf in enumerate(leaves) if i not in dropped]
    return sum(
        c.size <= len(kept) and merkle.root_from_leaf_hashes(kept[: c.size]) == c.root
        for c in signed
    )


def _export_reference(
    size: int, leaves: list[StoredLeaf], notes: list[str], log_public_key: Ed25519PublicKey
) -> list[bytes | None]:
    """Per-index reference from the lines' own claims; when two lines claim one
    index, the signed checkpoints decide which claimant is genuine."""
    claims: dict[int, list[int]] = {}
    for position, leaf in enumerate(leaves):
        claims.setdefault(leaf.claimed_index, []).append(position)
    disputed = [positions for positions in claims.values() if len(positions) > 1]
    dropped: set[int] = set()
    if disputed and len(disputed) <= _MAX_DISPUTES:
        signed = []
        for note in notes:
            try:
                signed.append(open_checkpoint(note, log_public_key))
            except VerificationError:
                continue
        for positions in disputed:
            best = max(
                positions,
                key=lambda keep: (
                    _checkpoint_votes(leaves, dropped | (set(positions) - {keep}), signed),
                    -keep,
                ),
            )
            dropped |= set(positions) - {best}
    pairs = (
        (leaf.claimed_index, leaf.stored_leaf_hash)
        for position, leaf in enumerate(leaves)
        if position not in dropped
    )
    return _reference(size, pairs)


def export(conn: Connection, fh: IO[str]) -> int:
    """Write the whole log as JSON lines; returns the number of leaves written."""
    size, root = _head(conn)
    level0 = {idx: value for _, idx, value in _nodes(conn, level0=True)}
    header = {"type": "head", "format": EXPORT_FORMAT, "size": size, "root": (root or b"").hex()}
    fh.write(json.dumps(header, sort_keys=True) + "\n")
    count = 0
    for leaf in _leaves(conn):
        reference = level0.get(leaf.claimed_index, b"")
        line = {
            "type": "leaf",
            "index": leaf.claimed_index,
            "entry": leaf.entry.decode("utf-8", errors="replace"),
            "leaf_hash": reference.hex(),
        }
        fh.write(json.dumps(line, sort_keys=True, ensure_ascii=False) + "\n")
        count += 1
    for note in ledger.checkpoints(conn):
        fh.write(json.dumps({"type": "checkpoint", "note": note}, sort_keys=True) + "\n")
    return count


def verify_database(conn: Connection, log_public_key: Ed25519PublicKey) -> Report:
    size, root = _head(conn)
    reference = _reference(size, ((idx, value) for _, idx, value in _nodes(conn, level0=True)))
    return verify_log(
        _leaves(conn),
        reference,
        ledger.checkpoints(conn),
        log_public_key,
        recorded_root=root,
        stored_nodes=list(_nodes(conn, level0=False)),
    )


def _parse_line(number: int, text: str) -> dict[str, Any]:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise VerificationError("malformed-export", f"line {number} is not JSON") from exc
    if not isinstance(obj, dict) or "type" not in obj:
        raise VerificationError("malformed-export", f"line {number} has no type")
    return obj


def verify_export(fh: IO[str], log_public_key: Ed25519PublicKey) -> Report:
    size: int | None = None
    leaves: list[StoredLeaf] = []
    notes: list[str] = []
    root: bytes | None = None
    try:
        for number, text in enumerate(fh, start=1):
            obj = _parse_line(number, text)
            if obj["type"] == "head" and obj.get("format") == EXPORT_FORMAT and size is None:
                size, root = int(obj["size"]), bytes.fromhex(obj["root"])
            elif obj["type"] == "leaf":
                entry = str(obj["entry"]).encode("utf-8")
                leaves.append(StoredLeaf(int(obj["index"]), entry, bytes.fromhex(obj["leaf_hash"])))
            elif obj["type"] == "checkpoint":
                notes.append(str(obj["note"]))
            else:
                raise VerificationError("malformed-export", f"line {number}: unexpected record")
    except (KeyError, TypeError, ValueError) as exc:
        raise VerificationError("malformed-export", f"bad record: {exc}") from exc
    if size is None:
        raise VerificationError("malformed-export", f"no {EXPORT_FORMAT} head line")
    reference = _export_reference(size, leaves, notes, log_public_key)
    return verify_log(leaves, reference, notes, log_public_key, recorded_root=root)
