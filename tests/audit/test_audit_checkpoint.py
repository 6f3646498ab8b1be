"""Signed notes, checkpoints, witness cosignatures, proof bundles and entry encoding."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone

import pytest
from audit_support import ORIGIN, make_entry
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gateway.audit import checkpoint as cp
from gateway.audit import merkle
from gateway.audit.bundle import encode_proof_bundle, parse_proof_bundle, verify_proof_bundle
from gateway.audit.disclosure import LedgerRecord, entries_for_authority
from gateway.audit.entries import AuditEntry, decode_entry
from gateway.audit.errors import LedgerError, VerificationError

# Example from golang.org/x/mod/sumdb/note (the C2SP signed-note reference implementation).
NEUMANN_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
NEUMANN_NOTE = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
    "\n"
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZ"
    "SNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def neumann_key() -> Ed25519PublicKey:
    raw = base64.b64decode(NEUMANN_VKEY.split("+")[2])
    return Ed25519PublicKey.from_public_bytes(raw[1:])


def test_key_id_and_vkey_match_the_signed_note_reference_example() -> None:
    key = neumann_key()
    assert cp.key_id("PeterNeumann", key).hex() == "c74f20a3"
    assert cp.verifier_key("PeterNeumann", key) == NEUMANN_VKEY


def test_reference_note_parses_and_its_signature_verifies() -> None:
    note = cp.parse_note(NEUMANN_NOTE)
    assert note.signatures[0].key_id.hex() == "c74f20a3"
    neumann_key().verify(note.signatures[0].signature, note.body.encode())
    assert note.render() == NEUMANN_NOTE


def signed(key: Ed25519PrivateKey, size: int = 5) -> str:
    return cp.sign_checkpoint(cp.Checkpoint(ORIGIN, size, merkle.leaf_hash(b"x")), key)


def test_checkpoint_is_origin_size_base64_root_then_signature(log_key: Ed25519PrivateKey) -> None:
    text = signed(log_key)
    lines = text.split("\n")
    assert lines[:4] == [ORIGIN, "5", base64.b64encode(merkle.leaf_hash(b"x")).decode(), ""]
    assert lines[4].startswith(f"\u2014 {ORIGIN} ")
    opened = cp.open_checkpoint(text, log_key.public_key())
    assert (opened.origin, opened.size, opened.root) == (ORIGIN, 5, merkle.leaf_hash(b"x"))


def test_checkpoint_signed_by_another_key_is_rejected(log_key: Ed25519PrivateKey) -> None:
    forged = signed(Ed25519PrivateKey.generate())
    with pytest.raises(VerificationError) as caught:
        cp.open_checkpoint(forged, log_key.public_key())
    assert caught.value.code == "no-log-signature"


def test_checkpoint_with_edited_size_is_rejected(log_key: Ed25519PrivateKey) -> None:
    tampered = signed(log_key).replace("\n5\n", "\n6\n", 1)
    with pytest.raises(VerificationError) as caught:
        cp.open_checkpoint(tampered, log_key.public_key())
    assert caught.value.code == "bad-checkpoint-signature"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "origin\n5\n",
        "origin\nfive\nAAAA\n\n\u2014 origin AAAAAAA=\n",
        "o\n5\nAAAA\n\n- o AAAAAAAA\n",
    ],
)
def test_malformed_notes_are_rejected(text: str, log_key: Ed25519PrivateKey) -> None:
    with pytest.raises(VerificationError):
        cp.open_checkpoint(text, log_key.public_key())


def test_witness_cosignature_round_trips_and_binds_the_checkpoint(
    log_key: Ed25519PrivateKey,
) -> None:
    witness = Ed25519PrivateKey.generate()
    text = signed(log_key)
    line = cp.cosign(text, witness, "witness.example/w1", 1_700_000_000)
    blob = base64.b64decode(line.split(" ")[2])
    assert blob[:4] == cp.key_id("witness.example/w1", witness.public_key(), 0x04)
    assert int.from_bytes(blob[4:12], "big") == 1_700_000_000
    cosig = cp.verify_cosignature(text, line, "witness.example/w1", witness.public_key())
    assert cosig.timestamp == 1_700_000_000
    with_witness = cp.add_signature_lines(text, [line])
    assert cp.open_checkpoint(with_witness, log_key.public_key()).size == 5
    other = signed(log_key, size=6)
    with pytest.raises(VerificationError):
        cp.verify_cosignature(other, line, "witness.example/w1", witness.public_key())
    with pytest.raises(VerificationError) as caught:
        cp.verify_cosignature(
            text, line, "witness.example/w1", Ed25519PrivateKey.generate().public_key()
        )
    assert caught.value.code == "unknown-cosigner"


def test_proof_bundle_verifies_with_only_the_log_key(log_key: Ed25519PrivateKey) -> None:
    entries = [make_entry(i).encode() for i in range(11)]
    levels = [[merkle.leaf_hash(e) for e in entries]]
    while len(levels[-1]) > 1:
        b = levels[-1]
        levels.append([merkle.node_hash(b[i], b[i + 1]) for i in range(0, len(b) - 1, 2)])

    def get(level: int, index: int) -> bytes:
        return levels[level][index]

    note = cp.sign_checkpoint(cp.Checkpoint(ORIGIN, 11, merkle.root_hash(get, 11)), log_key)
    bundle = encode_proof_bundle(7, merkle.inclusion_proof(get, 7, 11), note)
    assert bundle.startswith("c2sp.org/tlog-proof@v1\nindex 7\n")
    assert parse_proof_bundle(bundle.encode()).index == 7
    verify_proof_bundle(bundle, entries[7], log_key.public_key(), ORIGIN)
    with pytest.raises(VerificationError):
        verify_proof_bundle(bundle, entries[6], log_key.public_key())
    with pytest.raises(VerificationError):
        verify_proof_bundle(bundle, entries[7], Ed25519PrivateKey.generate().public_key())
    with pytest.raises(VerificationError):
        verify_proof_bundle(bundle.replace("index 7", "index 6"), entries[7], log_key.public_key())
    with pytest.raises(VerificationError):
        verify_proof_bundle(bundle, entries[7], log_key.public_key(), "other.origin/log")


def test_entry_encoding_is_canonical_sorted_compact_utf8() -> None:
    entry = make_entry(4)
    data = entry.encode()
    assert data.startswith(b'{"actor":"user-4","artefacts":{"document":')
    assert b" " not in data
    assert b'"time":"2025-01-01T00:00:04.000000Z"' in data
    assert b'"v":1' in data
    assert decode_entry(data) == entry


def test_entry_time_is_normalised_to_utc() -> None:
    cet = timezone(timedelta(hours=1))
    moment = datetime(2025, 1, 1, 1, 0, tzinfo=cet)
    entry = AuditEntry("REQ-1", "received", "gateway", moment)
    assert b'"time":"2025-01-01T00:00:00.000000Z"' in entry.encode()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"event": "document_text"},
        {"detail": {"text": "x" * 65}},
        {"detail": {"body": {"nested": 1}}},
        {"artefacts": {"doc": "not-a-digest"}},
        {"actor": "has spaces in it"},
        {"parties": ("A", "B", "C")},
    ],
)
def test_entries_refuse_anything_but_small_codes(kwargs: dict[str, object]) -> None:
    base: dict[str, object] = {
        "request_id": "REQ-1",
        "event": "received",
        "actor": "gateway",
        "time": datetime(2025, 1, 1, tzinfo=UTC),
    }
    with pytest.raises(LedgerError) as caught:
        AuditEntry(**{**base, **kwargs})  # type: ignore[arg-type]
    assert caught.value.code == "invalid-entry"


def test_non_canonical_entry_bytes_are_refused() -> None:
    data = make_entry(1).encode().replace(b'"v":1', b'"v": 1')
    with pytest.raises(LedgerError):
        decode_entry(data)


def test_authority_sees_its_own_entries_in_full_and_others_as_hashes() -> None:
    mine = make_entry(1, issuing="AUTH-FR-1", executing="AUTH-DE-7").encode()
    theirs = make_entry(2, issuing="AUTH-IT-2", executing="AUTH-ES-3").encode()
    records = [
        LedgerRecord(0, mine, merkle.leaf_hash(mine)),
        LedgerRecord(1, theirs, merkle.leaf_hash(theirs)),
    ]
    view = entries_for_authority(records, "AUTH-DE-7")
    assert view[0]["entry"] == mine.decode()
    assert view[1] == {"index": 1, "leaf_hash": merkle.leaf_hash(theirs).hex()}
