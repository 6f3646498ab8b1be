"""Submissions whose manifest names large attachments, and their openssl-streamed bodies."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from crypto_support import OAEP_SHA256, openssl

from gateway.config import Settings
from gateway.crypto import encrypt_envelope, sign
from gateway.crypto.keyfiles import load_certificate, load_private_key
from gateway.domain.submission import AttachmentRef, build_submission
from gateway.persistence.db import make_engine, transaction

MIB = 1024 * 1024
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TABLES = ("requests", "stored_objects", "data_keys", "outbox")


def mla_form() -> dict[str, object]:
    form: dict[str, object] = json.loads((FIXTURES / "mla_request.json").read_text())
    return form


def manifest_entry(name: str, data: bytes, media_type: str = "application/pdf") -> AttachmentRef:
    return AttachmentRef(name, media_type, len(data), hashlib.sha256(data).hexdigest())


def sealed_with_manifest(
    settings: Settings, refs: list[AttachmentRef], *, form: dict[str, object] | None = None
) -> tuple[bytes, str]:
    """A signed-then-encrypted submission listing ``refs`` (no inline content); + message id."""
    pki = settings.keys_dir / "dev-pki"
    message_id = f"msg-{uuid.uuid4().hex}"
    content = build_submission(
        gateway=settings.gateway_id,
        message_id=message_id,
        created=datetime.now(UTC),
        request=form or mla_form(),
        attachments=refs,
    )
    key = load_private_key(pki / "magistrate-rsa.key")
    signed = sign(content, key, load_certificate(pki / "magistrate-rsa.pem"))  # type: ignore[arg-type]
    return encrypt_envelope(signed, [load_certificate(pki / "gateway-intake.pem")]), message_id


def sealed_by(settings: Settings, signer: str) -> bytes:
    """A manifest-less submission signed by dev-PKI ``signer``, encrypted to the gateway."""
    pki = settings.keys_dir / "dev-pki"
    content = build_submission(
        gateway=settings.gateway_id,
        message_id=f"msg-{uuid.uuid4().hex}",
        created=datetime.now(UTC),
        request=mla_form(),
        attachments=[],
    )
    key = load_private_key(pki / f"{signer}.key")
    signed = sign(content, key, load_certificate(pki / f"{signer}.pem"))  # type: ignore[arg-type]
    return encrypt_envelope(signed, [load_certificate(pki / "gateway-intake.pem")])


def openssl_stream_envelope(settings: Settings, plain: Path, out: Path) -> Path:
    """``openssl cms -encrypt -stream -binary -aes-256-gcm`` (RSA-OAEP) to the intake key."""
    openssl(
        "cms",
        "-encrypt",
        "-stream",
        "-binary",
        "-aes-256-gcm",
        "-recip",
        settings.keys_dir / "dev-pki" / "gateway-intake.pem",
        *OAEP_SHA256,
        "-in",
        plain,
        "-outform",
        "DER",
        "-out",
        out,
    )
    return out


def write_pattern(path: Path, size: int) -> str:
    """Write ``size`` distinct-per-MiB bytes to ``path``; returns their SHA-256."""
    digest = hashlib.sha256()
    block = hashlib.sha512(b"attachment").digest() * (MIB // 64)
    with path.open("wb") as out:
        for index in range(size // MIB):
            chunk = index.to_bytes(8, "big") + block[8:]
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def row_counts(settings: Settings) -> dict[str, int]:
    engine = make_engine(settings.database_url)
    try:
        with transaction(engine) as conn:
            return {
                table: conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608
                for table in TABLES
            }
    finally:
        engine.dispose()


def audit_events(settings: Settings) -> list[tuple[str | None, str]]:
    from gateway.audit.entries import decode_entry
    from gateway.persistence.audit_tables import audit_leaf

    engine = make_engine(settings.database_url)
    try:
        with transaction(engine) as conn:
            rows = conn.execute(sa.select(audit_leaf.c.entry).order_by(audit_leaf.c.idx)).all()
    finally:
        engine.dispose()
    entries = [decode_entry(bytes(row[0])) for row in rows]
    return [(entry.request_id, entry.event) for entry in entries]


def object_files(settings: Settings) -> set[Path]:
    return {path for path in (settings.data_dir / "objects").rglob("*") if path.is_file()}
