"""The ledger on SQLite and PostgreSQL: append in the caller's transaction, proofs, checkpoints."""

from __future__ import annotations

import threading

import pytest
from audit_support import ORIGIN, make_entry
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError

from gateway.audit import checkpoint as cp
from gateway.audit import ledger, merkle
from gateway.audit.bundle import verify_proof_bundle
from gateway.audit.errors import LedgerError, VerificationError
from gateway.persistence.audit_tables import audit_leaf


def fill(engine: Engine, count: int, start: int = 0) -> None:
    with engine.begin() as conn:
        ledger.append_many(conn, [make_entry(i) for i in range(start, start + count)])


def test_append_returns_index_and_rfc9162_leaf_hash(engine: Engine) -> None:
    with engine.begin() as conn:
        first = ledger.append(conn, make_entry(0))
        second = ledger.append(conn, make_entry(1))
    assert (first.index, second.index) == (0, 1)
    assert first.leaf_hash == merkle.leaf_hash(make_entry(0).encode())
    with engine.connect() as conn:
        assert ledger.tree_size(conn) == 2


def test_rolled_back_state_change_leaves_no_entry(engine: Engine) -> None:
    fill(engine, 3)

    class StateChangeFailed(Exception):
        pass

    def change_state_then_fail() -> None:
        with engine.begin() as conn:
            ledger.append(conn, make_entry(3))
            raise StateChangeFailed

    with pytest.raises(StateChangeFailed):
        change_state_then_fail()
    with engine.connect() as conn:
        assert ledger.tree_size(conn) == 3
        assert len(ledger.entries(conn, 0, 10)) == 3


def test_roots_and_proofs_from_storage_match_in_memory_tree(engine: Engine) -> None:
    count = 37
    fill(engine, count)
    hashes = [merkle.leaf_hash(make_entry(i).encode()) for i in range(count)]
    with engine.connect() as conn:
        for size in (1, 2, 5, 16, 31, 37):
            assert ledger.root(conn, size) == merkle.root_from_leaf_hashes(hashes[:size])
        full_root = ledger.root(conn)
        assert full_root == merkle.root_from_leaf_hashes(hashes)
        for index in (0, 13, 36):
            proof = ledger.inclusion_proof(conn, index, count)
            merkle.verify_inclusion(index, count, hashes[index], proof, full_root)
        for old in (1, 8, 20, 36):
            proof = ledger.consistency_proof(conn, old, count)
            old_root = merkle.root_from_leaf_hashes(hashes[:old])
            merkle.verify_consistency(old, count, old_root, full_root, proof)
        with pytest.raises(LedgerError) as caught:
            ledger.inclusion_proof(conn, 37, 37)
        assert caught.value.code == "bad-index"
        with pytest.raises(LedgerError):
            ledger.consistency_proof(conn, 3, 38)


def test_checkpoint_receipt_verifies_with_only_the_public_key(
    engine: Engine, log_key: Ed25519PrivateKey
) -> None:
    fill(engine, 10)
    with engine.begin() as conn:
        note = ledger.sign_checkpoint(conn, log_key, ORIGIN)
        assert ledger.latest_checkpoint(conn) == note
        receipt = ledger.receipt(conn, 4, log_key.public_key())
    assert cp.open_checkpoint(note, log_key.public_key()).size == 10
    verify_proof_bundle(str(receipt["proof"]), str(receipt["entry"]).encode(), log_key.public_key())


def test_entry_newer_than_latest_checkpoint_has_no_bundle_yet(
    engine: Engine, log_key: Ed25519PrivateKey
) -> None:
    fill(engine, 2)
    with engine.begin() as conn:
        ledger.sign_checkpoint(conn, log_key, ORIGIN)
        ledger.append(conn, make_entry(2))
        with pytest.raises(LedgerError) as caught:
            ledger.proof_bundle(conn, 2, log_key.public_key())
    assert caught.value.code == "not-yet-checkpointed"


def test_witness_cosignatures_are_verified_stored_and_served(
    engine: Engine, log_key: Ed25519PrivateKey
) -> None:
    fill(engine, 4)
    witness = Ed25519PrivateKey.generate()
    with engine.begin() as conn:
        note = ledger.sign_checkpoint(conn, log_key, ORIGIN)
        line = cp.cosign(note, witness, "witness.example/w1", 1_700_000_000)
        ledger.add_cosignature(conn, note, line, "witness.example/w1", witness.public_key())
        served = ledger.latest_checkpoint(conn)
        assert served is not None
        assert served.endswith(line)
        cp.verify_cosignature(served, line, "witness.example/w1", witness.public_key())
        foreign = cp.sign_checkpoint(cp.Checkpoint(ORIGIN, 4, merkle.leaf_hash(b"?")), log_key)
        with pytest.raises(VerificationError) as caught:
            ledger.add_cosignature(
                conn,
                foreign,
                cp.cosign(foreign, witness, "witness.example/w1", 1),
                "witness.example/w1",
                witness.public_key(),
            )
        assert caught.value.code == "unknown-checkpoint"
        bad = line.replace(line.split(" ")[2][:8], "AAAAAAAA")
        with pytest.raises(VerificationError):
            ledger.add_cosignature(conn, note, bad, "witness.example/w1", witness.public_key())


def test_authority_range_filter_uses_recorded_parties(engine: Engine) -> None:
    from gateway.audit.disclosure import entries_for_authority

    with engine.begin() as conn:
        ledger.append(conn, make_entry(0, "AUTH-FR-1", "AUTH-DE-7"))
        ledger.append(conn, make_entry(1, "AUTH-IT-2", "AUTH-ES-3"))
        view = entries_for_authority(ledger.entries(conn, 0, 2), "AUTH-ES-3")
    assert "entry" not in view[0]
    assert view[1]["entry"] == make_entry(1, "AUTH-IT-2", "AUTH-ES-3").encode().decode()


def test_concurrent_writers_each_get_a_distinct_index(engine: Engine) -> None:
    with engine.begin() as conn:
        ledger.initialise(conn)
    writers, per_writer = 4, 15
    failures: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for n in range(per_writer):
                while True:
                    try:
                        with engine.begin() as conn:
                            ledger.append(conn, make_entry(worker * 1000 + n))
                        break
                    except (LedgerError, OperationalError):
                        continue  # lost the race for the head (SQLite busy / CAS); retry
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with engine.connect() as conn:
        indices = conn.execute(select(audit_leaf.c.idx).order_by(audit_leaf.c.idx)).scalars().all()
        assert indices == list(range(writers * per_writer))
        assert ledger.tree_size(conn) == writers * per_writer
        assert ledger.verify_database(conn, Ed25519PrivateKey.generate().public_key()).ok
