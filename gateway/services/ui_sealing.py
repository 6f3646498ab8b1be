"""Sealing a draft: what the page needs to seal it, and the check that a sealed file is it.

The browser (or `rogatory client seal`) signs the exact canonical request the gateway holds
for the draft. Before a sealed upload reaches intake, it is opened once more here and
compared with the draft: a file sealed for another draft or case, or one whose attachments
differ from the ones announced, is refused with a sentence naming what differs, and nothing
is accepted (issue: "an EIO file uploaded on a witness draft was accepted").
"""

from __future__ import annotations

import base64
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from sqlalchemy.engine import Engine

from gateway.crypto import CryptoError, RecipientKey, TrustConfig, open_submission
from gateway.domain.errors import DomainError
from gateway.domain.submission import (
    MAX_INLINE_ATTACHMENT,
    SUBMISSION_FORMAT,
    parse_submission,
)
from gateway.persistence.db import read_transaction
from gateway.persistence.tables import authority_certificates
from gateway.services.ui_requests import Draft, canonical_form_json

log = logging.getLogger(__name__)


class SealedForAnotherDraft(DomainError):
    """The sealed file is valid but is not the request of this draft."""

    code = "sealed-for-another-draft"
    status = 409


class AttachmentsDiffer(DomainError):
    """The sealed file's attachments are not the ones the draft announces."""

    code = "attachments-differ"
    status = 409


@dataclass(frozen=True)
class Mismatch:
    """What the page tells the magistrate when a sealed file is not her draft."""

    code: str
    sealed_case_reference: str
    sealed_request_type: str
    names: tuple[str, ...] = ()


def registered_signer_fingerprints(engine: Engine, authority_id: str) -> list[str]:
    """SHA-256 fingerprints of the active signing certificates registered for an authority."""
    with read_transaction(engine) as conn:
        rows = conn.execute(
            sa.select(authority_certificates.c.fingerprint).where(
                authority_certificates.c.authority_id == authority_id,
                authority_certificates.c.purpose == "signing",
                authority_certificates.c.active.is_(True),
            )
        ).scalars()
        return sorted(rows)


def new_message_id(draft_id: str) -> str:
    """A fresh message id per sealing attempt, traceable to its draft."""
    return f"ui-{draft_id}-{secrets.token_hex(6)}"


def sealing_info(
    engine: Engine, draft: Draft, *, gateway_id: str, intake_certificate: Any
) -> dict[str, Any]:
    """Everything the page needs to seal this draft; no secret is in it."""
    der = intake_certificate.public_bytes(serialization.Encoding.DER)
    return {
        "format": SUBMISSION_FORMAT,
        "gateway_id": gateway_id,
        "message_id": new_message_id(draft.id),
        "request_json": draft.form_json.decode("utf-8"),
        "case_reference": str(draft.form.get("case_reference", "")),
        "attachments": draft.attachments,
        "max_inline_bytes": MAX_INLINE_ATTACHMENT,
        "intake_certificate": base64.b64encode(der).decode("ascii"),
        "signer_fingerprints": registered_signer_fingerprints(engine, draft.authority_id),
    }


def check_bound_to_draft(
    data: bytes,
    draft: Draft,
    *,
    recipient_keys: list[RecipientKey],
    trust: TrustConfig,
    allow_legacy_cbc: bool,
) -> Mismatch | None:
    """None when ``data`` seals exactly this draft (or cannot be opened: intake then
    refuses it loudly with its own code); otherwise what differs."""
    try:
        verified = open_submission(
            data, recipient_keys, trust, now=datetime.now(UTC), allow_legacy_cbc=allow_legacy_cbc
        )
        submission = parse_submission(verified.content)
    except (CryptoError, DomainError):
        return None
    sealed = submission.request
    reference = str(sealed.get("case_reference", ""))
    request_type = str(sealed.get("request_type", ""))
    if canonical_form_json(sealed) != draft.form_json:
        log.warning(
            "sealed upload refused: another request than the draft",
            extra={"draft_id": draft.id, "code": SealedForAnotherDraft.code},
        )
        return Mismatch(SealedForAnotherDraft.code, reference, request_type)
    # by content: the CLI names files as they lie on disk, the page as they were chosen
    announced = {str(a["sha256"]): str(a["name"]) for a in draft.attachments}
    carried = {a.sha256: a.name for a in submission.attachments}
    if announced.keys() != carried.keys():
        names = sorted(
            [announced[h] for h in announced.keys() - carried.keys()]
            + [carried[h] for h in carried.keys() - announced.keys()]
        )
        log.warning(
            "sealed upload refused: attachments differ from the draft",
            extra={"draft_id": draft.id, "code": AttachmentsDiffer.code},
        )
        return Mismatch(AttachmentsDiffer.code, reference, request_type, tuple(names))
    return None
