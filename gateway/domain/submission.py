"""The signed content of a submission: a versioned JSON document inside the CMS signature."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.domain import json_limits
from gateway.domain.errors import DomainError
from gateway.domain.file_names import file_name_problem

SUBMISSION_FORMAT = "rogatory.submission/1"
_MESSAGE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{7,199}$")
_NAME = re.compile(r"^[^/\\\x00-\x1f]{1,255}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
MAX_INLINE_ATTACHMENT = 8 * 1024 * 1024


class MalformedSubmission(DomainError):
    code = "malformed"
    status = 400


def checked_message_id(value: object, refusal: type[DomainError]) -> str:
    """A signed document's message id, or ``refusal`` (sealed submission, announcement)."""
    if not isinstance(value, str) or not _MESSAGE_ID.match(value):
        raise refusal("message_id must be 8-200 characters of [A-Za-z0-9._:@-]")
    return value


def checked_created(value: object, refusal: type[DomainError]) -> datetime:
    """A signed document's creation time (ISO 8601 with a time zone), or ``refusal``."""
    try:
        created = datetime.fromisoformat(str(value))
    except ValueError:
        raise refusal("created must be an ISO 8601 time") from None
    if created.tzinfo is None:
        raise refusal("created must carry a time zone")
    return created


@dataclass(frozen=True)
class AttachmentRef:
    """One manifest entry; `inline` holds the bytes when small enough to travel signed."""

    name: str
    media_type: str
    size: int
    sha256: str
    inline: bytes | None = None


@dataclass(frozen=True)
class Submission:
    gateway: str
    message_id: str
    created: datetime
    request: dict[str, Any]
    attachments: tuple[AttachmentRef, ...]


def parse_submission(content: bytes) -> Submission:
    """Decode and check the signed JSON document; raise MalformedSubmission with a reason."""
    try:
        document = json_limits.loads(content.decode("utf-8"))
    except json_limits.JsonTooDeep:
        raise MalformedSubmission("signed content nests JSON too deeply") from None
    except (UnicodeDecodeError, ValueError):
        raise MalformedSubmission("signed content is not UTF-8 JSON") from None
    if not isinstance(document, dict) or document.get("format") != SUBMISSION_FORMAT:
        raise MalformedSubmission(f"signed content is not a {SUBMISSION_FORMAT} document")
    message_id = checked_message_id(document.get("message_id"), MalformedSubmission)
    created = checked_created(document.get("created"), MalformedSubmission)
    gateway, request = document.get("gateway"), document.get("request")
    if not isinstance(gateway, str) or not isinstance(request, dict):
        raise MalformedSubmission("gateway (string) and request (object) are required")
    manifest = document.get("attachments", [])
    if not isinstance(manifest, list) or len(manifest) > 100:
        raise MalformedSubmission("attachments must be a list of at most 100 entries")
    attachments = tuple(_attachment(entry) for entry in manifest)
    if len({a.name for a in attachments}) != len(attachments):
        raise MalformedSubmission("attachment names must be unique")
    return Submission(gateway, message_id, created, request, attachments)


def build_submission(
    *,
    gateway: str,
    message_id: str,
    created: datetime,
    request: dict[str, Any],
    attachments: list[AttachmentRef],
) -> bytes:
    """The canonical JSON a magistrate's client signs (sorted keys, UTF-8)."""
    manifest = []
    for ref in attachments:
        entry: dict[str, Any] = {
            "name": ref.name,
            "media_type": ref.media_type,
            "size": ref.size,
            "sha256": ref.sha256,
        }
        if ref.inline is not None:
            entry["content"] = base64.b64encode(ref.inline).decode()
        manifest.append(entry)
    document = {
        "format": SUBMISSION_FORMAT,
        "gateway": gateway,
        "message_id": message_id,
        "created": created.isoformat(),
        "request": request,
        "attachments": manifest,
    }
    return json.dumps(document, sort_keys=True, ensure_ascii=False).encode("utf-8")


def _attachment(entry: object) -> AttachmentRef:
    if not isinstance(entry, dict):
        raise MalformedSubmission("each attachment must be an object")
    name, media_type = entry.get("name"), entry.get("media_type")
    size, sha256 = entry.get("size"), entry.get("sha256")
    if not isinstance(name, str) or not _NAME.match(name) or name in {".", ".."}:
        raise MalformedSubmission("attachment name must be a plain file name")
    problem = file_name_problem(name)
    if problem is not None:
        raise MalformedSubmission(f"attachment name refused: {problem}")
    if not isinstance(media_type, str) or "/" not in media_type or len(media_type) > 100:
        raise MalformedSubmission("attachment media_type must be a media type")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise MalformedSubmission("attachment size must be a whole number")
    if not isinstance(sha256, str) or not _SHA256.match(sha256):
        raise MalformedSubmission("attachment sha256 must be 64 lowercase hex digits")
    inline = None
    if "content" in entry:
        try:
            inline = base64.b64decode(str(entry["content"]), validate=True)
        except (binascii.Error, ValueError):
            raise MalformedSubmission("attachment content must be base64") from None
        if len(inline) != size or len(inline) > MAX_INLINE_ATTACHMENT:
            raise MalformedSubmission("inline attachment size does not match or is too large")
    return AttachmentRef(name, media_type, size, sha256, inline)
