"""Build the delivery package: a ZIP sealed by the gateway and encrypted to the recipient.

Readable with plain tools: `openssl cms -decrypt` (recipient key), `openssl cms -verify`
(gateway CA), then `unzip`. The magistrate's SignedData travels untouched as
`request.p7s`, so the original signature stays verifiable downstream.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sqlalchemy.engine import Connection, Engine

from gateway.crypto import seal
from gateway.domain.states import Event, State
from gateway.persistence import authorities_store, outbox_store, requests_store
from gateway.persistence.blobs import BlobStore
from gateway.persistence.db import read_transaction
from gateway.persistence.requests_store import RequestRow
from gateway.services import legal_clocks
from gateway.services.steps import Artefact, complete_step, fail_step

PACKAGE_FORMAT = "rogatory.package/1"
_MEMBERS = (
    ("signed-request", "request.p7s"),
    ("form", "form.json"),
    ("translation", "translation.json"),
    ("pdf", "request.pdf"),
)


def build_package_zip(
    request_id: str, members: list[tuple[str, bytes]], meta: dict[str, object]
) -> bytes:
    manifest = {
        "format": PACKAGE_FORMAT,
        "request_id": request_id,
        "created": datetime.now(UTC).isoformat(),
        **meta,
        "files": [
            {"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            for name, data in members
        ],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, sort_keys=True))
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def _translation_summary(data: bytes | None) -> dict[str, object]:
    """The translation status on the manifest: `unavailable`, `needs-review`, ... and counts."""
    if data is None:
        return {"translation_status": "none"}
    result = json.loads(data)
    segments = list(result.get("fields", [])) + [
        s for d in result.get("documents", []) for s in d.get("segments", [])
    ]
    return {
        "translation_status": result.get("status"),
        "segments_needing_review": sum(1 for s in segments if s["status"] == "needs-review"),
        "segments_failed": sum(1 for s in segments if s["status"] == "failed"),
    }


def run_packaging(
    engine: Engine,
    blobs: BlobStore,
    request_id: str,
    *,
    seal_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    seal_cert: x509.Certificate,
) -> State:
    with read_transaction(engine) as conn:  # decrypting members holds no write lock
        request = requests_store.get(conn, request_id)
        if request.state is not State.RENDERED:
            return request.state
        members: list[tuple[str, bytes]] = []
        for kind, name in _MEMBERS:
            stored = blobs.find(conn, request_id, kind)
            if stored is not None:
                members.append((name, blobs.read(conn, stored.id)))
        for attachment in blobs.list(conn, request_id, "attachment"):
            members.append((f"attachments/{attachment.name}", blobs.read(conn, attachment.id)))
        recipients = authorities_store.certificates(
            conn, request.executing_authority_id, "encryption"
        )
        handling = list(legal_clocks.handling_of(conn, request_id))
    if not recipients:
        return fail_step(
            engine,
            request_id,
            expected=State.RENDERED,
            event=Event.FAIL_PACKAGING,
            step="package",
            error="no-encryption-certificate",
        )
    meta = {
        "message_sha256": request.message_sha256,
        "issuing_authority": request.issuing_authority_id,
        "executing_authority": request.executing_authority_id,
        "source_language": request.source_language,
        "target_language": request.target_language,
        **_translation_summary(dict(members).get("translation.json")),
        # the issuer's signed use restrictions travel with the package
        "handling": handling,
    }
    package = seal(build_package_zip(request_id, members, meta), seal_key, seal_cert, recipients)

    def notify_recipient(conn: Connection, request: RequestRow) -> None:
        executing = authorities_store.get(conn, request.executing_authority_id)
        pushable = bool(executing.push_endpoint) and "pull-only" not in handling
        if pushable or executing.webhook_url:
            outbox_store.enqueue(conn, "rogatory.deliver", {"request_id": request_id})

    return complete_step(
        engine,
        blobs,
        request_id,
        expected=State.RENDERED,
        event=Event.MAKE_AVAILABLE,
        actor="worker:package",
        artefact=Artefact("package", "package", "package.p7m", "application/pkcs7-mime", package),
        also=notify_recipient,
    )
