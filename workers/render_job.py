"""Render step adapter: a RenderJob from the pipeline -> bilingual PDF/A-3b, PAdES-sealed."""

from __future__ import annotations

from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gateway.services.pipeline import RenderJob
from workers.rendering import CoverInfo, render_reply_pdf, render_request_pdf, seal_pdf

_REPLY_BODY = "sections.R.body"


def reply_document(
    form: dict[str, Any], translation: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A reply form in the reply template's shape; its body segment renamed to `body`."""
    section = form["sections"]["R"]
    reply = {
        "kind": section["reply_kind"],
        "body": section["body"],
        "references": [section["references"]] if section.get("references") else [],
        "language": form["language"],
        "case_reference": form["case_reference"],
        "confidentiality": form.get("confidentiality", "none"),
        "in_reply_to": section["in_reply_to"],
        "issuing_authority": form["issuing_authority"],
        "executing_authority": form["executing_authority"],
        # the legal answer's parts: codes and a date, printed from hand-kept labels
        "decision": section.get("decision"),
        "grounds": list(section.get("grounds") or ()),
        "effective_date": section.get("effective_date"),
        "hearing_means": section.get("hearing_means"),
    }
    fields = [
        {**segment, "path": "body"}
        for segment in translation["fields"]
        if segment["path"] == _REPLY_BODY
    ]
    return reply, {**translation, "fields": fields}


def render_and_seal(
    job: RenderJob,
    *,
    seal_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    seal_cert: x509.Certificate,
) -> bytes:
    cover = CoverInfo(
        request_id=job.request_id,
        received_at=job.received_at,
        message_sha256=job.message_sha256,
        attachments=job.attachments,
        audit_index=job.audit_index,
        issuing_authority_name=job.issuing_authority_name,
        executing_authority_name=job.executing_authority_name,
    )
    if job.form.get("request_type") == "reply":
        reply, translation = reply_document(job.form, job.translation)
        pdf = render_reply_pdf(
            reply,
            translation,
            cover,
            original_message=job.original_message,
            target_language=job.target_language,
        )
    else:
        pdf = render_request_pdf(
            job.form,
            job.translation,
            cover,
            original_message=job.original_message,
            target_language=job.target_language,
        )
    # the key is serialised in memory only, for pyHanko's loader; it never touches disk
    key_pem = seal_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return seal_pdf(
        pdf, key_pem=key_pem, cert_pem=seal_cert.public_bytes(serialization.Encoding.PEM)
    )
