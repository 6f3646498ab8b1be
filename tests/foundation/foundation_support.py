"""Build real submissions the way a magistrate's client does (sign, then encrypt)."""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway.config import Settings
from gateway.crypto import encrypt_envelope, sign
from gateway.crypto.keyfiles import load_certificate, load_private_key
from gateway.domain.submission import AttachmentRef, build_submission
from gateway.runtime.container import Runtime
from gateway.services.dispatch import flush_outbox
from gateway.services.intake import Accepted, accept_submission

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def mla_form(**changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = json.loads((FIXTURES / "mla_request.json").read_text())
    result = copy.deepcopy(form)
    result.update(changes)
    return result


def sealed_submission(
    settings: Settings,
    form: dict[str, Any] | None = None,
    *,
    magistrate: str = "magistrate-rsa",
    attachments: list[tuple[str, str, bytes]] = (),  # type: ignore[assignment]
    message_id: str | None = None,
    large_attachments: list[tuple[str, str, bytes]] = (),  # type: ignore[assignment]
) -> bytes:
    """A sealed submission; `large_attachments` are announced only, to be uploaded later."""
    pki = settings.keys_dir / "dev-pki"
    refs = [
        AttachmentRef(name, media, len(data), hashlib.sha256(data).hexdigest(), data)
        for name, media, data in attachments
    ] + [
        AttachmentRef(name, media, len(data), hashlib.sha256(data).hexdigest(), None)
        for name, media, data in large_attachments
    ]
    content = build_submission(
        gateway=settings.gateway_id,
        message_id=message_id or f"msg-{uuid.uuid4().hex}",
        created=datetime.now(UTC),
        request=form or mla_form(),
        attachments=refs,
    )
    key = load_private_key(pki / f"{magistrate}.key")
    signed = sign(content, key, load_certificate(pki / f"{magistrate}.pem"))  # type: ignore[arg-type]
    return encrypt_envelope(signed, [load_certificate(pki / "gateway-intake.pem")])


def intake(rt: Runtime, data: bytes, **options: Any) -> Accepted:
    """accept_submission with the runtime's keys and trust (options: now, sealer, ...)."""
    keys = rt.keys
    return accept_submission(
        rt.engine,
        rt.blobs,
        rt.settings,
        data,
        recipient_keys=keys.intake,
        trust=keys.trust(allow_stale_crl=False, max_skew_seconds=600),
        **options,
    )


def accept(rt: Runtime, data: bytes, *, flush: bool = True) -> str:
    """Run a sealed submission through intake (as the API does); returns the request id."""
    accepted = intake(rt, data)
    if flush:
        flush_outbox(rt.engine, rt.sender)
    return accepted.request_id
