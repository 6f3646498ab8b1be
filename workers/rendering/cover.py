"""What the gateway knows about a transmission that the form itself does not say."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class CoverInfo:
    request_id: str
    received_at: datetime
    message_sha256: str
    attachments: list[tuple[str, str]]  # (name, sha256)
    audit_index: int | None
    issuing_authority_name: str
    executing_authority_name: str
