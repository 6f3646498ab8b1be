"""Issue 19: XLIFF over the exchange API; the import arrives CMS-signed by the uploader."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime

from exchange_support import BERLIN, FIXTURES, MADRID, ROTTERDAM, Gateway

from gateway.crypto import encrypt_envelope, sign
from gateway.crypto.keyfiles import load_certificate, load_private_key
from gateway.domain.submission import build_submission
from gateway.services import pipeline
from gateway.services import translation_review as review
from gateway.services.review_api import api_reviewer
from gateway.services.tokens import Caller
from workers.extraction.extract import extract_document
from workers.translation.apertium_engine import ApertiumEngine


def translated_request(gateway: Gateway) -> str:
    form = json.loads((FIXTURES / "mla_request.json").read_text())
    form["sections"]["G"]["facts"] = "The suspect sold false invoices on 12 January 2026."
    content = build_submission(
        gateway=gateway.settings.gateway_id,
        message_id=f"msg-{uuid.uuid4().hex}",
        created=datetime.now(UTC),
        request=form,
        attachments=[],
    )
    submission = encrypt_envelope(
        signed(gateway, content, "magistrate-rsa", suffix=""),
        [load_certificate(gateway.pki / "gateway-intake.pem")],
    )
    request_id = str(gateway.submit(submission)["request_id"])
    rt = gateway.runtime
    pipeline.run_translation(
        rt.engine, rt.blobs, request_id, translator=ApertiumEngine(), extract=extract_document
    )
    return request_id


def signed(gateway: Gateway, data: bytes, who: str, suffix: str = "-sign") -> bytes:
    key = load_private_key(gateway.pki / f"{who}{suffix}.key")
    return sign(data, key, load_certificate(gateway.pki / f"{who}{suffix}.pem"))  # type: ignore[arg-type]


def test_signed_xliff_import_flags_the_segment_that_lost_a_protected_item(
    gateway: Gateway,
) -> None:
    request_id = translated_request(gateway)
    with gateway.http(BERLIN) as berlin:
        assert berlin.get(f"/api/v1/requests/{request_id}/xliff").status_code == 404
    with gateway.http(MADRID) as madrid:
        exported = madrid.get(f"/api/v1/requests/{request_id}/xliff")
        assert exported.status_code == 200, exported.text
        text = exported.text
        facts = re.search(
            r'<unit id="(s\d+)" name="sections\.G\.facts">.*?<target>([^<]*)</target>', text, re.S
        )
        assert facts is not None
        facts_id, facts_target = facts.group(1), facts.group(2)
        assert "12 January 2026" in facts_target  # a protected date travels verbatim
        edited = text.replace(
            f"<target>{facts_target}</target>",
            f"<target>{facts_target.replace('12 January 2026', 'enero')}</target>",
            1,
        ).encode("utf-8")

        unsigned = madrid.post(
            f"/api/v1/requests/{request_id}/xliff",
            content=edited,
            headers={"Content-Type": "application/xliff+xml"},
        )
        assert unsigned.status_code == 415
        wrong_signer = madrid.post(
            f"/api/v1/requests/{request_id}/xliff",
            content=signed(gateway, edited, "authority-a"),
            headers={"Content-Type": "application/pkcs7-mime"},
        )
        assert wrong_signer.status_code == 400
        assert wrong_signer.json()["type"].endswith("signer-not-authorised")
        imported = madrid.post(
            f"/api/v1/requests/{request_id}/xliff",
            content=signed(gateway, edited, "authority-b"),
            headers={"Content-Type": "application/pkcs7-mime"},
        )
        assert imported.status_code == 200, imported.text
        assert imported.json()["flagged"] == [facts_id]
        assert facts_id not in imported.json()["accepted"]

    view = review.open_review(
        gateway.runtime.engine,
        gateway.runtime.blobs,
        api_reviewer(Caller("x", ROTTERDAM)),  # the issuing side may look too
        request_id,
    )
    decision = next(s.decision for s in view.segments if s.id == facts_id)
    assert decision is not None
    assert decision.status == "flagged"
    assert "missing-items" in decision.flags
