"""The audit log API over real HTTP, on SQLite and PostgreSQL: checkpoints, proofs,
per-authority disclosure, receipts that `rogatory audit verify-receipt` accepts."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from audit_http_support import BERLIN, MADRID, ROTTERDAM, LogGateway, write_json
from audit_rewrite import rewrite_log_with_key

from gateway.audit import merkle
from gateway.audit.bundle import verify_proof_bundle
from gateway.audit.checkpoint import open_checkpoint
from gateway.audit.errors import VerificationError
from gateway.persistence.db import transaction
from gateway.services import audit_checkpoints
from gateway.services.lifecycle import record


def _sign_periodic(gateway: LogGateway) -> audit_checkpoints.CheckpointOutcome:
    origin = audit_checkpoints.log_origin(gateway.settings)
    return audit_checkpoints.checkpoint_if_grown(
        gateway.runtime.engine, gateway.runtime.keys.log_key, origin
    )


def _admin_entry(gateway: LogGateway) -> int:
    """An entry of no request (no parties): nobody's to read in full."""
    with transaction(gateway.runtime.engine) as conn:
        return record(conn, None, "admin_action", actor="admin:ops", detail={"op": "rotate"})


def _b64(values: list[str]) -> list[bytes]:
    return [base64.b64decode(value) for value in values]


def test_receipts_carry_proofs_once_checkpointed_and_verify_receipt_accepts_them(
    log_gateway: LogGateway, tmp_path: Path
) -> None:
    request_id = log_gateway.submit_request()
    madrid = log_gateway.http(MADRID)

    assert log_gateway.http().get("/api/v1/log/checkpoint").json()["code"] == "no-checkpoint"
    pending = madrid.get(f"/api/v1/requests/{request_id}/receipts").json()
    [acceptance] = pending["items"]
    assert acceptance["audit"]["proof"] is None
    assert acceptance["audit"]["index"] == acceptance["content"]["audit_index"]
    not_yet = log_gateway.rogatory(
        "audit", "verify-receipt", str(write_json(tmp_path / "pending.json", pending))
    )
    assert not_yet.returncode == 1
    assert "not-yet-checkpointed" in not_yet.stderr

    signed = _sign_periodic(log_gateway)
    assert (signed.signed, signed.size) == (True, 3)  # received, verified, evidence_issued
    assert not _sign_periodic(log_gateway).signed  # the tree did not grow

    served = log_gateway.http().get("/api/v1/log/checkpoint")
    assert served.headers["Content-Type"] == "text/plain; charset=utf-8"
    checkpoint = open_checkpoint(served.text, log_gateway.log_public_key)
    assert (checkpoint.origin, checkpoint.size) == (f"{log_gateway.settings.gateway_id}/log", 3)

    answer = madrid.get(f"/api/v1/requests/{request_id}/receipts").json()
    [item] = answer["items"]
    receipt = item["audit"]
    assert receipt["format"] == "rogatory-audit-receipt/v1"
    verify_proof_bundle(receipt["proof"], receipt["entry"].encode(), log_gateway.log_public_key)
    assert json.loads(receipt["entry"])["event"] == "received"

    whole = write_json(tmp_path / "receipts.json", answer)
    checked = log_gateway.rogatory("audit", "verify-receipt", str(whole))  # keyring's key
    assert (checked.returncode, checked.stdout.strip()) == (
        0,
        f"OK: entry {receipt['index']} (SubmissionAcceptance) is included in the signed log",
    )
    public_pem = log_gateway.settings.keys_dir / "dev-pki" / "audit-ed25519.pub"
    one = write_json(tmp_path / "one.json", item)
    with_key = log_gateway.rogatory(
        "audit", "verify-receipt", str(one), "--log-key", str(public_pem)
    )
    assert with_key.returncode == 0, with_key.stderr

    forged = json.loads(json.dumps(item))
    forged["audit"]["entry"] = forged["audit"]["entry"].replace('"received"', '"rejected"')
    refused = log_gateway.rogatory(
        "audit", "verify-receipt", str(write_json(tmp_path / "forged.json", forged))
    )
    assert refused.returncode == 1
    assert "inclusion-mismatch" in refused.stderr
    swapped = json.loads(json.dumps(item))
    swapped["content"]["audit_index"] = 1  # the evidence claims another entry
    mismatch = log_gateway.rogatory(
        "audit", "verify-receipt", str(write_json(tmp_path / "swapped.json", swapped))
    )
    assert mismatch.returncode == 1
    assert "receipt-mismatch" in mismatch.stderr


def test_inclusion_proofs_and_entries_are_limited_to_the_callers_requests(
    log_gateway: LogGateway,
) -> None:
    request_id = log_gateway.submit_request()
    admin_index = _admin_entry(log_gateway)
    _sign_periodic(log_gateway)
    checkpoint = open_checkpoint(
        log_gateway.http().get("/api/v1/log/checkpoint").text, log_gateway.log_public_key
    )
    madrid, rotterdam, berlin = (log_gateway.http(a) for a in (MADRID, ROTTERDAM, BERLIN))

    for party in (madrid, rotterdam):
        proof = party.get("/api/v1/log/proof/inclusion", params={"index": 1}).json()
        assert json.loads(proof["entry"])["request_id"] == request_id
        assert proof["tree_size"] == checkpoint.size
        merkle.verify_inclusion(
            1,
            checkpoint.size,
            merkle.leaf_hash(proof["entry"].encode()),
            _b64(proof["inclusion_path"]),
            checkpoint.root,
        )
        verify_proof_bundle(
            proof["proof_bundle"], proof["entry"].encode(), log_gateway.log_public_key
        )
    at_size_two = madrid.get("/api/v1/log/proof/inclusion", params={"index": 1, "size": 2})
    assert at_size_two.json()["checkpoint"] is None  # no checkpoint of that size was signed

    missing = madrid.get("/api/v1/log/proof/inclusion", params={"index": 10_000})
    foreign = berlin.get("/api/v1/log/proof/inclusion", params={"index": 1})
    nobodys = madrid.get("/api/v1/log/proof/inclusion", params={"index": admin_index})
    assert missing.status_code == foreign.status_code == nobodys.status_code == 404
    assert foreign.json()["detail"] == missing.json()["detail"] == nobodys.json()["detail"]
    assert log_gateway.http().get("/api/v1/log/proof/inclusion?index=1").status_code == 401

    own = madrid.get("/api/v1/log/entries", params={"start": 0}).json()
    assert own["tree_size"] == checkpoint.size == len(own["items"])
    for item in own["items"]:
        if item["index"] == admin_index:
            assert "entry" not in item
        else:
            assert json.loads(item["entry"])["request_id"] == request_id
            assert merkle.leaf_hash(item["entry"].encode()).hex() == item["leaf_hash"]
    hashes_only = berlin.get("/api/v1/log/entries", params={"start": 0}).json()["items"]
    assert [i["leaf_hash"] for i in hashes_only] == [i["leaf_hash"] for i in own["items"]]
    assert all("entry" not in i for i in hashes_only)
    assert merkle.root_from_leaf_hashes([bytes.fromhex(i["leaf_hash"]) for i in hashes_only]) == (
        checkpoint.root
    )
    assert log_gateway.http().get("/api/v1/log/entries?start=0").status_code == 401
    bad = madrid.get("/api/v1/log/entries", params={"start": 5, "end": 2})
    assert (bad.status_code, bad.json()["code"]) == (422, "bad-range")
    huge = madrid.get("/api/v1/log/entries", params={"start": "99999999999999999999"})
    assert (huge.status_code, huge.json()["code"]) == (422, "bad-parameter")


def test_counterpart_detects_a_rewritten_log_through_the_consistency_endpoint_and_cli(
    log_gateway: LogGateway, tmp_path: Path
) -> None:
    log_gateway.submit_request()
    _sign_periodic(log_gateway)
    public = log_gateway.http()
    kept_text = public.get("/api/v1/log/checkpoint").text  # the counterpart keeps this
    kept = open_checkpoint(kept_text, log_gateway.log_public_key)
    kept_file = tmp_path / "kept.checkpoint"
    kept_file.write_text(kept_text, encoding="utf-8")

    _admin_entry(log_gateway)
    _admin_entry(log_gateway)
    _sign_periodic(log_gateway)
    newer = open_checkpoint(public.get("/api/v1/log/checkpoint").text, log_gateway.log_public_key)
    proof = public.get("/api/v1/log/proof/consistency", params={"old": kept.size}).json()
    assert (proof["old"], proof["new"]) == (kept.size, newer.size)
    merkle.verify_consistency(
        kept.size, newer.size, kept.root, newer.root, _b64(proof["consistency_path"])
    )
    honest = log_gateway.rogatory("audit", "consistency", str(kept_file))
    assert honest.returncode == 0, honest.stderr

    # an insider with the log key rewrites entry 1 and re-signs a fresh checkpoint
    rewrite_log_with_key(log_gateway, 1)
    rewritten = open_checkpoint(
        public.get("/api/v1/log/checkpoint").text, log_gateway.log_public_key
    )
    assert rewritten.size == newer.size + 1
    proof = public.get("/api/v1/log/proof/consistency", params={"old": kept.size}).json()
    with pytest.raises(VerificationError) as refused:
        merkle.verify_consistency(
            kept.size, rewritten.size, kept.root, rewritten.root, _b64(proof["consistency_path"])
        )
    assert refused.value.code == "consistency-mismatch"

    cli = log_gateway.rogatory("audit", "consistency", str(kept_file))
    assert cli.returncode == 1
    assert cli.stderr.startswith("INCONSISTENT: consistency-mismatch")
    verify = log_gateway.rogatory("audit", "verify")
    assert verify.returncode == 1
    assert "checkpoint_mismatch" in verify.stdout


def test_consistency_endpoint_refuses_bad_sizes(log_gateway: LogGateway) -> None:
    public = log_gateway.http()
    assert public.get("/api/v1/log/proof/consistency?old=0").json()["code"] == "no-checkpoint"
    log_gateway.submit_request()
    _sign_periodic(log_gateway)
    beyond = public.get("/api/v1/log/proof/consistency", params={"old": 2, "new": 99})
    assert (beyond.status_code, beyond.json()["code"]) == (422, "bad-size")
    missing = public.get("/api/v1/log/proof/consistency")
    assert (missing.status_code, missing.json()["code"]) == (422, "bad-parameter")
    same = public.get("/api/v1/log/proof/consistency", params={"old": 3, "new": 3}).json()
    assert same["consistency_path"] == []
