"""A counterpart's reply travels back through the same pipeline to the issuing authority."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from foundation_support import accept, sealed_submission
from process_support import WorkerProcess, wait_for

from gateway.config import Settings
from gateway.crypto import RecipientKey, decrypt_envelope
from gateway.crypto.keyfiles import load_certificate, load_private_key
from gateway.persistence import requests_store
from gateway.persistence.db import transaction
from gateway.runtime.broker import ensure_embedded_broker
from gateway.runtime.container import Runtime, build_runtime
from gateway.services.intake import IntakeRefused


def _reply_form(
    in_reply_to: str, *, issuing: str = "es-fiscalia-madrid", executing: str = "nl-om-rotterdam"
) -> dict[str, Any]:
    return {
        "schema": "rogatory.request/1",
        "request_type": "reply",
        "issuing_authority": issuing,
        "executing_authority": executing,
        "case_reference": "MAD-2026-0042",
        "language": "es",
        "sections": {
            "R": {
                "reply_kind": "execution-result",
                "in_reply_to": in_reply_to,
                "body": "El dinero fue enviado a Madrid. Los documentos del banco están adjuntos.",
            },
            "K": {
                "authority_name": "Fiscalía Provincial de Madrid",
                "representative": "M. García",
                "signed_on": "2026-11-24",
            },
        },
    }


def _state(rt: Runtime, request_id: str) -> str:
    with transaction(rt.engine) as conn:
        return requests_store.get(conn, request_id).state.value


@pytest.fixture
def apertium_gateway(make_settings: Callable[..., Settings]) -> Runtime:
    settings = make_settings(translation_engine="apertium")
    ensure_embedded_broker(settings)
    return build_runtime(settings)


def test_reply_is_translated_rendered_and_packaged_for_the_issuing_authority(
    apertium_gateway: Runtime,
    start_worker: Callable[..., WorkerProcess],
) -> None:
    rt = apertium_gateway
    start_worker(rt.settings)
    request_id = accept(rt, sealed_submission(rt.settings))
    wait_for(lambda: _state(rt, request_id) == "available", what="request available")

    reply_id = accept(
        rt, sealed_submission(rt.settings, _reply_form(request_id), magistrate="authority-b-sign")
    )
    wait_for(lambda: _state(rt, reply_id) == "available", what="reply available")
    with transaction(rt.engine) as conn:
        reply = requests_store.get(conn, reply_id)
        assert [r.id for r in requests_store.replies_to(conn, request_id)] == [reply_id]
        package = rt.blobs.read(conn, rt.blobs.find(conn, reply_id, "package").id)
    assert (reply.issuing_authority_id, reply.executing_authority_id) == (
        "es-fiscalia-madrid",
        "nl-om-rotterdam",
    )
    # Rotterdam works in Dutch first; no es->nl engine here, so its second language: English
    assert reply.target_language == "en"

    pki = rt.settings.keys_dir / "dev-pki"
    rotterdam = RecipientKey(
        load_private_key(pki / "authority-a-enc.key"),  # type: ignore[arg-type]
        load_certificate(pki / "authority-a-enc.pem"),
    )
    from asn1crypto import cms

    signed = cms.ContentInfo.load(decrypt_envelope(package, [rotterdam]))
    archive = zipfile.ZipFile(io.BytesIO(signed["content"]["encap_content_info"]["content"].native))
    translation = json.loads(archive.read("translation.json"))
    body = next(f for f in translation["fields"] if f["path"] == "sections.R.body")
    assert body["status"] == "translated"
    assert "money" in body["target"].lower()
    assert archive.read("request.pdf").startswith(b"%PDF")
    rt.close()


@pytest.mark.parametrize(
    ("issuing", "executing", "in_reply_to"),
    [
        ("es-fiscalia-madrid", "nl-om-rotterdam", "00000000-0000-0000-0000-000000000000"),
        ("nl-om-rotterdam", "es-fiscalia-madrid", None),  # the issuer cannot answer itself
    ],
)
def test_reply_to_an_unknown_or_foreign_request_is_refused(
    apertium_gateway: Runtime,
    issuing: str,
    executing: str,
    in_reply_to: str | None,
) -> None:
    rt = apertium_gateway
    original = accept(rt, sealed_submission(rt.settings))
    signer = "authority-b-sign" if issuing == "es-fiscalia-madrid" else "magistrate-rsa"
    form = _reply_form(in_reply_to or original, issuing=issuing, executing=executing)
    with pytest.raises(IntakeRefused) as refused:
        accept(rt, sealed_submission(rt.settings, form, magistrate=signer))
    assert refused.value.code == "unknown-request"
    rt.close()
