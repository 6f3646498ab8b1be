"""`openssl cms` as the independent client on both ends, and evidences checked with openssl."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import subprocess
import uuid
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from exchange_support import FIXTURES, MADRID, Gateway

from gateway.domain.submission import build_submission
from gateway.services import evidences, exchange
from gateway.services.evidences import Sealer


def openssl(*args: str | Path) -> bytes:
    result = subprocess.run(["openssl", *map(str, args)], capture_output=True, check=False)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout


def openssl_sign(content: Path, cert: Path, key: Path, out: Path) -> bytes:
    openssl("cms", "-sign", "-binary", "-nodetach", "-md", "sha256", "-in", content,
            "-signer", cert, "-inkey", key, "-outform", "DER", "-out", out)  # fmt: skip
    return out.read_bytes()


def verify_with_openssl(signed: Path, ca: Path, out: Path) -> bytes:
    openssl("cms", "-verify", "-binary", "-inform", "DER", "-in", signed, "-CAfile", ca,
            "-purpose", "any", "-out", out)  # fmt: skip
    return out.read_bytes()


def test_openssl_on_both_ends_of_the_exchange(gateway: Gateway, tmp_path: Path) -> None:
    pki = gateway.pki
    content = tmp_path / "submission.json"
    content.write_bytes(
        build_submission(
            gateway=gateway.settings.gateway_id,
            message_id=f"openssl-{uuid.uuid4().hex}",
            created=datetime.now(UTC),
            request=json.loads((FIXTURES / "mla_request.json").read_text()),
            attachments=[],
        )
    )
    signed = openssl_sign(
        content, pki / "magistrate-rsa.pem", pki / "magistrate-rsa.key", tmp_path / "signed.der"
    )
    openssl("cms", "-encrypt", "-binary", "-aes-256-gcm", "-recip", pki / "gateway-intake.pem",
            "-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha256",
            "-in", tmp_path / "signed.der",
            "-outform", "DER", "-out", tmp_path / "envelope.der")  # fmt: skip
    accepted = gateway.submit((tmp_path / "envelope.der").read_bytes())
    assert accepted["message_sha256"] == hashlib.sha256(signed).hexdigest()
    request_id = accepted["request_id"]
    gateway.make_available(request_id)

    with gateway.http(MADRID) as madrid:
        lease = madrid.post(f"/api/v1/inbox/{request_id}/lease").json()["lease_token"]
        package = madrid.get(
            f"/api/v1/requests/{request_id}/package", headers={"Lease-Token": lease}
        )
        assert package.status_code == 200
        (tmp_path / "package.p7m").write_bytes(package.content)
        openssl("cms", "-decrypt", "-binary", "-inform", "DER", "-in", tmp_path / "package.p7m",
                "-inkey", pki / "authority-b-enc.key", "-recip", pki / "authority-b-enc.pem",
                "-out", tmp_path / "sealed.der")  # fmt: skip
        archive = verify_with_openssl(tmp_path / "sealed.der", pki / "ca.pem", tmp_path / "p.zip")
        with zipfile.ZipFile(io.BytesIO(archive)) as package_zip:
            manifest = json.loads(package_zip.read("manifest.json"))
            assert package_zip.read("request.p7s") == signed
        assert manifest["request_id"] == request_id
        assert manifest["message_sha256"] == accepted["message_sha256"]

        ack_json = tmp_path / "ack.json"
        ack_json.write_bytes(
            exchange.acknowledgement_content(
                request_id, manifest["message_sha256"], datetime.now(UTC)
            )
        )
        ack = openssl_sign(
            ack_json, pki / "authority-b-sign.pem", pki / "authority-b-sign.key", tmp_path / "a"
        )
        response = madrid.post(
            f"/api/v1/requests/{request_id}/ack",
            content=ack,
            headers={"Content-Type": "application/pkcs7-mime"},
        )
        assert response.status_code == 200, response.text
        receipts = madrid.get(f"/api/v1/requests/{request_id}/receipts").json()["items"]

    previous = None
    for item in receipts:
        (tmp_path / "evidence.der").write_bytes(base64.b64decode(item["evidence"]))
        body = json.loads(
            verify_with_openssl(tmp_path / "evidence.der", pki / "ca.pem", tmp_path / "e.json")
        )
        assert body["evidence"] == item["kind"]
        assert body["request_id"] == request_id
        assert body["message_sha256"] == accepted["message_sha256"]
        assert body["previous_evidence_sha256"] == previous
        assert isinstance(body["audit_index"], int)
        previous = item["sha256"]
    assert [item["kind"] for item in receipts] == [
        "SubmissionAcceptance",
        "Retrieval",
        "CounterpartAcknowledgement",
    ]


def test_submission_receipt_is_the_same_for_a_duplicate(gateway: Gateway) -> None:
    data = gateway.submission()
    first = gateway.submit(data)
    keys = gateway.runtime.keys
    sealer = Sealer(keys.seal_key, keys.seal_cert, gateway.settings.gateway_id)
    receipt = evidences.submission_receipt(gateway.runtime.engine, first["request_id"], sealer)
    duplicate = gateway.submit(data)
    again = evidences.submission_receipt(gateway.runtime.engine, duplicate["request_id"], sealer)
    assert again == receipt
    trust = keys.trust(allow_stale_crl=False, max_skew_seconds=600)
    body = evidences.verify_evidence(receipt.der, trust, now=datetime.now(UTC))
    assert body["evidence"] == "SubmissionAcceptance"
    assert body["request_id"] == first["request_id"]


def test_rejection_receipt_names_the_refused_envelope(gateway: Gateway) -> None:
    keys = gateway.runtime.keys
    sealer = Sealer(keys.seal_key, keys.seal_cert, gateway.settings.gateway_id)
    receipt = evidences.rejection_receipt(sealer, envelope_sha256="ab" * 32, code="undecryptable")
    trust = keys.trust(allow_stale_crl=False, max_skew_seconds=600)
    body = evidences.verify_evidence(receipt.der, trust, now=datetime.now(UTC))
    assert (body["evidence"], body["detail"]) == ("SubmissionRejection", {"code": "undecryptable"})
    assert body["request_id"] is None
