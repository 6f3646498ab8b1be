"""A streamed submission: one body carrying an announcement, the large attachments and
the sealed submission, so a client reads each large file once (hashing it as it sends).

The body is a sequence of frames, each ``tag (1 byte) | length (8 bytes, big-endian) |
payload``, in this order:

- ``A``: the announcement, a CMS SignedData by the magistrate inside an envelope to the
  gateway (as a sealed submission), over the ``rogatory.stream-announcement/1`` JSON
  below: gateway id, message id, creation time, issuing authority and each large
  attachment's name, media type and size. The gateway verifies it before it stores a
  byte of what follows.
- ``F``: one per announced attachment, in the announced order: a CMS AuthEnvelopedData
  (AES-GCM) of its bytes to the gateway, as ``PUT .../attachments/{name}`` takes it.
- ``S``: the sealed submission, whose signed manifest lists those attachments with the
  SHA-256 and size the client computed while sending them.

Then at most ``MAX_PADDING`` zero bytes may end the body: the client declares the body's
Content-Length before the sealed submission is signed, and an ECDSA signature's length
varies by a few bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from gateway.domain import json_limits
from gateway.domain.errors import DomainError
from gateway.domain.file_names import file_name_problem
from gateway.domain.submission import checked_created, checked_message_id

ANNOUNCEMENT_FORMAT: Final = "rogatory.stream-announcement/1"
CONTENT_TYPE: Final = "application/vnd.rogatory.streamed-submission"
FRAME_HEADER_SIZE: Final = 9
TAG_ANNOUNCEMENT: Final = b"A"
TAG_ATTACHMENT: Final = b"F"
TAG_SUBMISSION: Final = b"S"
MAX_PADDING: Final = 1024
MAX_ANNOUNCEMENT_FRAME: Final = 256 * 1024
MAX_STREAMED_ATTACHMENTS: Final = 100  # as many as a manifest may list


class MalformedStream(DomainError):
    code = "malformed"
    status = 400


@dataclass(frozen=True)
class AnnouncedAttachment:
    name: str
    media_type: str
    size: int


@dataclass(frozen=True)
class Announcement:
    gateway: str
    message_id: str
    created: datetime
    issuing_authority: str
    attachments: tuple[AnnouncedAttachment, ...]


def frame_header(tag: bytes, length: int) -> bytes:
    return tag + length.to_bytes(8, "big")


def parse_frame_header(header: bytes) -> tuple[bytes, int]:
    if len(header) != FRAME_HEADER_SIZE:
        raise MalformedStream("truncated frame header")
    return header[:1], int.from_bytes(header[1:], "big")


def build_announcement(
    *,
    gateway: str,
    message_id: str,
    created: datetime,
    issuing_authority: str,
    attachments: list[AnnouncedAttachment],
) -> bytes:
    """The canonical JSON a magistrate's client signs as the announcement."""
    document = {
        "format": ANNOUNCEMENT_FORMAT,
        "gateway": gateway,
        "message_id": message_id,
        "created": created.isoformat(),
        "issuing_authority": issuing_authority,
        "attachments": [
            {"name": a.name, "media_type": a.media_type, "size": a.size} for a in attachments
        ],
    }
    return json.dumps(document, sort_keys=True, ensure_ascii=False).encode("utf-8")


def parse_announcement(content: bytes) -> Announcement:
    """Decode and check the signed announcement; MalformedStream with a reason."""
    try:
        document = json_limits.loads(content)
    except (UnicodeDecodeError, ValueError):
        raise MalformedStream("the announcement is not UTF-8 JSON") from None
    if not isinstance(document, dict) or document.get("format") != ANNOUNCEMENT_FORMAT:
        raise MalformedStream(f"the announcement is not a {ANNOUNCEMENT_FORMAT} document")
    message_id = checked_message_id(document.get("message_id"), MalformedStream)
    gateway, issuing = document.get("gateway"), document.get("issuing_authority")
    if not isinstance(gateway, str) or not isinstance(issuing, str):
        raise MalformedStream("gateway and issuing_authority must be strings")
    created = checked_created(document.get("created"), MalformedStream)
    entries = document.get("attachments")
    if not isinstance(entries, list) or not 0 < len(entries) <= MAX_STREAMED_ATTACHMENTS:
        raise MalformedStream("attachments must list 1-100 large attachments")
    attachments = tuple(_announced(entry) for entry in entries)
    if len({a.name for a in attachments}) != len(attachments):
        raise MalformedStream("attachment names must be unique")
    return Announcement(gateway, message_id, created, issuing, attachments)


def _announced(entry: Any) -> AnnouncedAttachment:
    if not isinstance(entry, dict):
        raise MalformedStream("each announced attachment must be an object")
    name, media_type, size = entry.get("name"), entry.get("media_type"), entry.get("size")
    if not isinstance(name, str) or file_name_problem(name) is not None:
        raise MalformedStream("an announced attachment name is not a plain file name")
    if not isinstance(media_type, str) or "/" not in media_type or len(media_type) > 100:
        raise MalformedStream("an announced media_type is not a media type")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise MalformedStream("an announced size must be a whole number")
    return AnnouncedAttachment(name, media_type, size)
