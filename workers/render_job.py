"""Render step adapter: a RenderJob from the pipeline -> bilingual PDF/A-3b, PAdES-sealed."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gateway.services.pipeline import RenderJob
from workers.rendering import CoverInfo, render_request_pdf, seal_pdf


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
