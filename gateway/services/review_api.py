"""XLIFF review over the exchange API: the file arrives CMS-signed by the uploading authority."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime

from cryptography.x509.oid import NameOID
from sqlalchemy.engine import Engine

from gateway.crypto import CryptoError, TrustConfig, verify_signed
from gateway.domain.errors import DomainError
from gateway.persistence import authorities_store
from gateway.persistence.blobs import BlobStore
from gateway.persistence.db import transaction
from gateway.services import translation_review as review
from gateway.services.tokens import Caller

log = logging.getLogger(__name__)


class InvalidSignedXliff(DomainError):
    code = "invalid-signature"
    status = 400


def api_reviewer(caller: Caller, name: str = "") -> review.Reviewer:
    return review.Reviewer(
        f"client.{caller.client_id}", name or caller.client_id, caller.authority_id
    )


def import_signed_xliff(
    engine: Engine,
    blobs: BlobStore,
    caller: Caller,
    request_id: str,
    signed: bytes,
    trust: TrustConfig,
) -> review.ImportReport:
    """Verify the SignedData (signer registered for the caller's authority), then import."""
    try:
        verified = verify_signed(signed, trust, now=datetime.now(UTC))
    except CryptoError as exc:
        log.warning("signed xliff refused", extra={"code": exc.code, "reason": exc.detail})
        raise InvalidSignedXliff("the XLIFF's signature was refused", code=exc.code) from None
    with transaction(engine) as conn:
        registered = authorities_store.is_registered_signer(
            conn, caller.authority_id, verified.signer
        )
    if not registered:
        raise InvalidSignedXliff(
            "the signer is not registered for your authority", code="signer-not-authorised"
        )
    names = verified.signer.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    reviewer = api_reviewer(caller, str(names[0].value) if names else "")
    report = review.import_review(engine, blobs, reviewer, request_id, verified.content)
    with transaction(engine) as conn:  # the uploader's signature is kept as it arrived
        blobs.put(
            conn,
            request_id=request_id,
            kind="xliff-signed",
            name=f"{hashlib.sha256(signed).hexdigest()}.p7s",
            media_type="application/pkcs7-mime",
            data=signed,
        )
    return report
