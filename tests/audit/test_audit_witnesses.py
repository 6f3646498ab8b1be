"""Counterparts as witnesses: a registered witness cosigns a served checkpoint over HTTP;
forged, foreign and unknown cosignatures are refused; `rogatory audit verify` shows them."""

from __future__ import annotations

import base64
import time
from pathlib import Path

from audit_http_support import BERLIN, MADRID, LogGateway
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import update

from gateway.audit.checkpoint import cosign, parse_note, verify_cosignature
from gateway.persistence.audit_tables import audit_cosignature
from gateway.persistence.db import transaction
from gateway.services import audit_checkpoints

WITNESS = "madrid-witness"


def _register(gateway: LogGateway, tmp_path: Path, authority: str, name: str) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    pem = tmp_path / f"{name}.pub"
    pem.write_bytes(key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    added = gateway.rogatory("audit", "add-witness", authority, name, str(pem))
    assert (added.returncode, added.stdout.strip()) == (
        0,
        f"witness {name} registered for {authority}",
    )
    return key


def _checkpoint(gateway: LogGateway) -> str:
    gateway.submit_request()
    origin = audit_checkpoints.log_origin(gateway.settings)
    audit_checkpoints.checkpoint_if_grown(
        gateway.runtime.engine, gateway.runtime.keys.log_key, origin
    )
    return gateway.http().get("/api/v1/log/checkpoint").text


def _forge(line: str) -> str:
    """Flip one bit of the Ed25519 signature, keeping name, key id and timestamp."""
    prefix, blob = line.rstrip("\n").rsplit(" ", 1)
    raw = bytearray(base64.b64decode(blob))
    raw[-1] ^= 0x01
    return f"{prefix} {base64.b64encode(bytes(raw)).decode()}\n"


def test_witness_cosignature_is_accepted_and_a_forged_one_refused(
    log_gateway: LogGateway, tmp_path: Path
) -> None:
    witness_key = _register(log_gateway, tmp_path, MADRID, WITNESS)
    note = _checkpoint(log_gateway)
    line = cosign(note, witness_key, WITNESS, int(time.time()))
    madrid, berlin = log_gateway.http(MADRID), log_gateway.http(BERLIN)

    forged = madrid.post(
        "/api/v1/log/cosignatures", json={"checkpoint": note, "cosignature": _forge(line)}
    )
    assert (forged.status_code, forged.json()["code"]) == (422, "bad-cosignature")
    stranger = Ed25519PrivateKey.generate()
    impostor = cosign(note, stranger, WITNESS, int(time.time()))
    wrong_key = madrid.post(
        "/api/v1/log/cosignatures", json={"checkpoint": note, "cosignature": impostor}
    )
    assert (wrong_key.status_code, wrong_key.json()["code"]) == (422, "unknown-cosigner")
    foreign = berlin.post(
        "/api/v1/log/cosignatures", json={"checkpoint": note, "cosignature": line}
    )
    assert (foreign.status_code, foreign.json()["code"]) == (403, "unknown-witness")
    made_up = note.replace(f"\n{parse_note(note).body.split(chr(10))[1]}\n", "\n1\n", 1)
    never_issued = madrid.post(
        "/api/v1/log/cosignatures",
        json={"checkpoint": made_up, "cosignature": cosign(made_up, witness_key, WITNESS, 1)},
    )
    assert (never_issued.status_code, never_issued.json()["code"]) == (422, "unknown-checkpoint")
    unauthenticated = log_gateway.http().post(
        "/api/v1/log/cosignatures", json={"checkpoint": note, "cosignature": line}
    )
    assert unauthenticated.status_code == 401
    assert madrid.post("/api/v1/log/cosignatures", content=b"x").status_code == 415

    accepted = madrid.post(
        "/api/v1/log/cosignatures", json={"checkpoint": note, "cosignature": line}
    )
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["witness"] == WITNESS
    again = madrid.post("/api/v1/log/cosignatures", json={"checkpoint": note, "cosignature": line})
    assert again.status_code == 201  # idempotent: stored once

    served = log_gateway.http().get("/api/v1/log/checkpoint").text
    witness_lines = [s for s in served.splitlines() if s.startswith(f"\u2014 {WITNESS} ")]
    assert len(witness_lines) == 1
    verify_cosignature(served, witness_lines[0], WITNESS, witness_key.public_key())

    verified = log_gateway.rogatory("audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"checkpoint 3: cosigned by {WITNESS} ({MADRID}) at " in verified.stdout

    with transaction(log_gateway.runtime.engine) as conn:
        conn.execute(update(audit_cosignature).values(line=_forge(line)))
    tampered = log_gateway.rogatory("audit", "verify")
    assert tampered.returncode == 1
    assert "cosignature_invalid" in tampered.stdout


def test_add_witness_refuses_unknown_authorities_and_duplicate_names(
    log_gateway: LogGateway, tmp_path: Path
) -> None:
    _register(log_gateway, tmp_path, MADRID, WITNESS)
    pem = tmp_path / f"{WITNESS}.pub"
    duplicate = log_gateway.rogatory("audit", "add-witness", BERLIN, WITNESS, str(pem))
    assert (duplicate.returncode, duplicate.stderr.strip()) == (
        2,
        f"error: witness-exists: witness '{WITNESS}' is already registered",
    )
    unknown = log_gateway.rogatory("audit", "add-witness", "xx-nowhere", "w2", str(pem))
    assert unknown.returncode == 2
    assert "unknown authority 'xx-nowhere'" in unknown.stderr
