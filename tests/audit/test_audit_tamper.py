"""Tampering with the stored log is found, and located, by the verifier."""

from __future__ import annotations

import io
import json

import pytest
from audit_support import ORIGIN, make_entry
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, Engine, delete, insert, select, update

from gateway.audit import checkpoint as cp
from gateway.audit import ledger, merkle
from gateway.audit.errors import VerificationError
from gateway.audit.verify import Report
from gateway.persistence.audit_tables import (
    AUDIT_TABLES,
    audit_checkpoint,
    audit_head,
    audit_leaf,
    audit_node,
)

SIZE = 20


@pytest.fixture
def signed_log(engine: Engine, log_key: Ed25519PrivateKey) -> Engine:
    with engine.begin() as conn:
        ledger.append_many(conn, [make_entry(i) for i in range(12)])
        ledger.sign_checkpoint(conn, log_key, ORIGIN)
        ledger.append_many(conn, [make_entry(i) for i in range(12, SIZE)])
        ledger.sign_checkpoint(conn, log_key, ORIGIN)
    return engine


def verify(engine: Engine, log_key: Ed25519PrivateKey) -> Report:
    with engine.connect() as conn:
        return ledger.verify_database(conn, log_key.public_key())


def leaf_row(conn: Connection, index: int) -> tuple[bytes, bytes]:
    row = conn.execute(
        select(audit_leaf.c.entry, audit_leaf.c.leaf_hash).where(audit_leaf.c.idx == index)
    ).one()
    return bytes(row.entry), bytes(row.leaf_hash)


def forged_entry() -> bytes:
    return make_entry(999).encode()


def test_untouched_log_verifies(signed_log: Engine, log_key: Ed25519PrivateKey) -> None:
    report = verify(signed_log, log_key)
    assert report.ok, [p.line() for p in report.problems]
    assert (report.entries, report.checkpoints_verified) == (SIZE, 2)


def test_changed_entry_is_located(signed_log: Engine, log_key: Ed25519PrivateKey) -> None:
    with signed_log.begin() as conn:
        conn.execute(update(audit_leaf).where(audit_leaf.c.idx == 5).values(entry=forged_entry()))
    report = verify(signed_log, log_key)
    assert not report.ok
    assert {p.index for p in report.problems if p.kind == "changed"} == {5}


def test_changed_entry_with_recomputed_leaf_hash_is_located(
    signed_log: Engine, log_key: Ed25519PrivateKey
) -> None:
    data = forged_entry()
    with signed_log.begin() as conn:
        conn.execute(
            update(audit_leaf)
            .where(audit_leaf.c.idx == 15)
            .values(entry=data, leaf_hash=merkle.leaf_hash(data))
        )
    report = verify(signed_log, log_key)
    assert ("changed", 15) in report.kinds_at()
    assert not {
        p.index for p in report.problems if p.kind in {"changed", "deleted", "inserted"}
    } - {15}


def test_deleted_entry_is_located(signed_log: Engine, log_key: Ed25519PrivateKey) -> None:
    with signed_log.begin() as conn:
        conn.execute(delete(audit_leaf).where(audit_leaf.c.idx == 7))
    report = verify(signed_log, log_key)
    assert ("deleted", 7) in report.kinds_at()
    assert all(p.kind != "changed" for p in report.problems)


def test_deleted_and_renumbered_entry_is_located(
    signed_log: Engine, log_key: Ed25519PrivateKey
) -> None:
    with signed_log.begin() as conn:
        conn.execute(delete(audit_leaf).where(audit_leaf.c.idx == 9))
        for index in range(10, SIZE):
            conn.execute(update(audit_leaf).where(audit_leaf.c.idx == index).values(idx=index - 1))
    report = verify(signed_log, log_key)
    assert ("deleted", 9) in report.kinds_at()
    entry_level = {"changed", "deleted", "inserted", "reordered"}
    assert {(p.kind, p.index) for p in report.problems if p.kind in entry_level} == {
        ("deleted", 9)
    }, [p.line() for p in report.problems if p.kind in entry_level]


def test_reordered_entries_are_located(signed_log: Engine, log_key: Ed25519PrivateKey) -> None:
    with signed_log.begin() as conn:
        a, b = leaf_row(conn, 3), leaf_row(conn, 8)
        conn.execute(
            update(audit_leaf).where(audit_leaf.c.idx == 3).values(entry=b[0], leaf_hash=b[1])
        )
        conn.execute(
            update(audit_leaf).where(audit_leaf.c.idx == 8).values(entry=a[0], leaf_hash=a[1])
        )
    report = verify(signed_log, log_key)
    assert {p.index for p in report.problems if p.kind == "reordered"} == {3, 8}
    assert all(p.kind != "changed" for p in report.problems)


def test_inserted_entry_is_located(signed_log: Engine, log_key: Ed25519PrivateKey) -> None:
    data = forged_entry()
    with signed_log.begin() as conn:
        for index in reversed(range(6, SIZE)):
            conn.execute(update(audit_leaf).where(audit_leaf.c.idx == index).values(idx=index + 1))
        conn.execute(insert(audit_leaf).values(idx=6, entry=data, leaf_hash=merkle.leaf_hash(data)))
    report = verify(signed_log, log_key)
    assert {p.index for p in report.problems if p.kind == "inserted"} == {6}
    assert all(p.kind not in {"changed", "deleted"} for p in report.problems)


def test_entry_appended_behind_the_trees_back_is_located(
    signed_log: Engine, log_key: Ed25519PrivateKey
) -> None:
    data = forged_entry()
    with signed_log.begin() as conn:
        conn.execute(
            insert(audit_leaf).values(idx=SIZE, entry=data, leaf_hash=merkle.leaf_hash(data))
        )
    assert ("inserted", SIZE) in verify(signed_log, log_key).kinds_at()


def rewrite_whole_log(engine: Engine, entries: list[bytes]) -> None:
    """A DB-level attacker rebuilding leaves, nodes and head consistently (no log key)."""
    with engine.begin() as conn:
        for table in (audit_leaf, audit_node, audit_head):
            conn.execute(delete(table))
    with engine.begin() as conn:
        ledger.initialise(conn)
        frontier: list[bytes] = []
        for index, data in enumerate(entries):
            value = merkle.leaf_hash(data)
            frontier, done = merkle.compact_append(frontier, index, value)
            conn.execute(insert(audit_leaf).values(idx=index, entry=data, leaf_hash=value))
            for level, idx, h in done:
                conn.execute(insert(audit_node).values(level=level, idx=idx, hash=h))
        conn.execute(
            update(audit_head).values(
                size=len(entries), root=merkle.compact_root(frontier), frontier=b"".join(frontier)
            )
        )


def test_consistent_rewrite_is_caught_by_signed_checkpoints(
    signed_log: Engine, log_key: Ed25519PrivateKey
) -> None:
    entries = [make_entry(i).encode() for i in range(SIZE)]
    entries[14] = forged_entry()
    rewrite_whole_log(signed_log, entries)
    report = verify(signed_log, log_key)
    mismatches = [p for p in report.problems if p.kind == "checkpoint_mismatch"]
    assert [(p.index, "12..19" in p.detail) for p in mismatches] == [(12, True)]


def test_forged_checkpoint_is_rejected(signed_log: Engine, log_key: Ed25519PrivateKey) -> None:
    with signed_log.begin() as conn:
        root = ledger.root(conn)
        forged = cp.sign_checkpoint(cp.Checkpoint(ORIGIN, SIZE, root), Ed25519PrivateKey.generate())
        conn.execute(
            insert(audit_checkpoint).values(
                size=SIZE,
                root=root,
                note=forged,
                created_at=conn.execute(select(audit_checkpoint.c.created_at)).scalars().first(),
            )
        )
    report = verify(signed_log, log_key)
    assert [p.kind for p in report.problems] == ["checkpoint_forged"]


def test_old_checkpoint_proves_an_honest_log_was_only_extended(
    signed_log: Engine, log_key: Ed25519PrivateKey
) -> None:
    with signed_log.begin() as conn:
        held = ledger.checkpoints(conn)[0]
        ledger.append_many(conn, [make_entry(i) for i in range(SIZE, SIZE + 5)])
        ledger.sign_checkpoint(conn, log_key, ORIGIN)
        old, new = ledger.check_consistency_with(conn, held, log_key.public_key())
    assert (old.size, new.size) == (12, SIZE + 5)


def test_counterparts_old_checkpoint_exposes_a_rewritten_and_resigned_log(
    signed_log: Engine, log_key: Ed25519PrivateKey
) -> None:
    with signed_log.connect() as conn:
        held = ledger.checkpoints(conn)[0]
    entries = [make_entry(i).encode() for i in range(SIZE)]
    entries[3] = forged_entry()
    rewrite_whole_log(signed_log, entries)
    with signed_log.begin() as conn:
        conn.execute(delete(audit_checkpoint))
        ledger.sign_checkpoint(conn, log_key, ORIGIN)  # even the key holder cannot hide it
        with pytest.raises(VerificationError) as caught:
            ledger.check_consistency_with(conn, held, log_key.public_key())
    assert caught.value.code == "consistency-mismatch"


def exported(engine: Engine) -> list[str]:
    buffer = io.StringIO()
    with engine.connect() as conn:
        ledger.export(conn, buffer)
    return buffer.getvalue().splitlines(keepends=True)


def verify_lines(lines: list[str], log_key: Ed25519PrivateKey) -> Report:
    return ledger.verify_export(io.StringIO("".join(lines)), log_key.public_key())


def test_export_round_trips_and_verifies(signed_log: Engine, log_key: Ed25519PrivateKey) -> None:
    lines = exported(signed_log)
    assert len(lines) == 1 + SIZE + 2
    report = verify_lines(lines, log_key)
    assert report.ok
    assert report.entries == SIZE
    assert report.checkpoints_verified == 2


def test_export_tampering_is_located(signed_log: Engine, log_key: Ed25519PrivateKey) -> None:
    lines = exported(signed_log)
    changed = list(lines)
    record = json.loads(changed[1 + 4])
    record["entry"] = forged_entry().decode()
    changed[1 + 4] = json.dumps(record) + "\n"
    assert ("changed", 4) in verify_lines(changed, log_key).kinds_at()

    deleted = lines[: 1 + 10] + lines[1 + 11 :]
    assert ("deleted", 10) in verify_lines(deleted, log_key).kinds_at()

    swapped = list(lines)
    swapped[1 + 2], swapped[1 + 17] = swapped[1 + 17], swapped[1 + 2]
    kinds = verify_lines(swapped, log_key).kinds_at()
    assert {("reordered", 2), ("reordered", 17)} <= kinds

    data = forged_entry()
    extra = json.dumps(
        {
            "type": "leaf",
            "index": 13,
            "entry": data.decode(),
            "leaf_hash": merkle.leaf_hash(data).hex(),
        }
    )
    inserted = [*lines[: 1 + 13], extra + "\n", *lines[1 + 13 :]]
    assert ("inserted", 13) in verify_lines(inserted, log_key).kinds_at()


def test_tables_are_the_audit_ones() -> None:
    assert {t.name for t in AUDIT_TABLES} == {
        "audit_leaf",
        "audit_node",
        "audit_head",
        "audit_checkpoint",
        "audit_cosignature",
    }
