"""Streamed submissions built piece by piece (so each part can be made wrong), an
in-process gateway to send them to, and what the store and logs hold afterwards."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from gateway.config import Settings
from gateway.crypto import EnvelopeWriter, encrypt_envelope, sign
from gateway.crypto.keyfiles import load_certificate, load_private_key
from gateway.domain.streamed_submission import (
    TAG_ANNOUNCEMENT,
    TAG_ATTACHMENT,
    TAG_SUBMISSION,
    AnnouncedAttachment,
    build_announcement,
    frame_header,
)
from gateway.domain.submission import AttachmentRef, build_submission
from gateway.persistence.db import make_engine, transaction

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
STREAMED = "/api/v1/submissions/streamed"
HEADERS = {"Content-Type": "application/vnd.rogatory.streamed-submission"}


def mla_form() -> dict[str, object]:
    import json

    form: dict[str, object] = json.loads((FIXTURES / "mla_request.json").read_text())
    return form


def _sealed(settings: Settings, signer: str, content: bytes) -> bytes:
    pki = settings.keys_dir / "dev-pki"
    key = load_private_key(pki / f"{signer}.key")
    signed = sign(content, key, load_certificate(pki / f"{signer}.pem"))  # type: ignore[arg-type]
    return encrypt_envelope(signed, [load_certificate(pki / "gateway-intake.pem")])


def attachment_envelope(settings: Settings, data: bytes) -> bytes:
    """AuthEnvelopedData of ``data`` to the intake key, as `client send` writes it."""
    pieces: list[bytes] = []
    writer = EnvelopeWriter(
        pieces.append, [load_certificate(settings.keys_dir / "dev-pki" / "gateway-intake.pem")]
    )
    for start in range(0, len(data), 1024 * 1024):
        writer.segment(data[start : start + 1024 * 1024])
    writer.finish()
    return b"".join(pieces)


@dataclass
class Streamed:
    """One streamed body's parts; change a field to make that part wrong."""

    settings: Settings
    files: dict[str, bytes]
    message_id: str = field(default_factory=lambda: f"msg-{uuid.uuid4().hex}")
    announcement_signer: str = "magistrate-rsa"
    manifest_signer: str = "magistrate-rsa"
    manifest_message_id: str | None = None
    manifest_sha256: dict[str, str] = field(default_factory=dict)
    sealed_bytes: bytes | None = None  # the sealed submission to send instead of a new one

    def announcement(self) -> bytes:
        content = build_announcement(
            gateway=self.settings.gateway_id,
            message_id=self.message_id,
            created=datetime.now(UTC),
            issuing_authority=str(mla_form()["issuing_authority"]),
            attachments=[
                AnnouncedAttachment(name, "application/pdf", len(data))
                for name, data in self.files.items()
            ],
        )
        return _sealed(self.settings, self.announcement_signer, content)

    def sealed(self) -> bytes:
        if self.sealed_bytes is not None:
            return self.sealed_bytes
        refs = [
            AttachmentRef(
                name,
                "application/pdf",
                len(data),
                self.manifest_sha256.get(name, hashlib.sha256(data).hexdigest()),
            )
            for name, data in self.files.items()
        ]
        content = build_submission(
            gateway=self.settings.gateway_id,
            message_id=self.manifest_message_id or self.message_id,
            created=datetime.now(UTC),
            request=mla_form(),
            attachments=refs,
        )
        return _sealed(self.settings, self.manifest_signer, content)

    def body(self) -> bytes:
        announcement = self.announcement()
        parts = [frame_header(TAG_ANNOUNCEMENT, len(announcement)), announcement]
        for data in self.files.values():
            envelope = attachment_envelope(self.settings, data)
            parts += [frame_header(TAG_ATTACHMENT, len(envelope)), envelope]
        sealed = self.sealed()
        parts += [frame_header(TAG_SUBMISSION, len(sealed)), sealed]
        return b"".join(parts)


def object_files(settings: Settings) -> set[Path]:
    """Every file of the object store: staging files and committed objects."""
    return {path for path in (settings.data_dir / "objects").rglob("*") if path.is_file()}


def staging_files(settings: Settings) -> list[Path]:
    staging = settings.data_dir / "objects" / "staging"
    return sorted(staging.iterdir()) if staging.is_dir() else []


def count(settings: Settings, query: str) -> int:
    engine = make_engine(settings.database_url)
    try:
        with transaction(engine) as conn:
            return int(conn.execute(sa.text(query)).scalar_one())
    finally:
        engine.dispose()


def rows(settings: Settings, query: str) -> list[tuple[object, ...]]:
    engine = make_engine(settings.database_url)
    try:
        with transaction(engine) as conn:
            return [tuple(row) for row in conn.execute(sa.text(query)).all()]
    finally:
        engine.dispose()
