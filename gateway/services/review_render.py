"""Render and seal the bilingual PDF of a signed-off (reviewed) translation version."""

from __future__ import annotations

import hashlib
import json
import logging

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sqlalchemy.engine import Connection, Engine

from gateway.domain.errors import NotFound
from gateway.persistence import authorities_store, requests_store
from gateway.persistence.blobs import BlobStore, StoredObject
from gateway.persistence.db import read_transaction, transaction
from gateway.services import legal_clocks
from gateway.services.lifecycle import record
from gateway.services.packaging import (
    attachment_members,
    package_member,
    package_meta,
    seal_package,
)
from gateway.services.pipeline import RenderFn, render_job
from gateway.services.translation_review import (
    REVIEWED_PACKAGE,
    REVIEWED_PDF,
    REVIEWED_TRANSLATION,
    _read,
)

log = logging.getLogger(__name__)


def run_review_render(
    engine: Engine,
    blobs: BlobStore,
    request_id: str,
    version: int,
    *,
    render: RenderFn,
    seal_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    seal_cert: x509.Certificate,
    attempt: int = 1,
    final: bool = True,
) -> bool:
    """PDF, then the sealed package of a reviewed version. Idempotent; failure audited, raised.

    Each failed attempt is an audit entry naming its attempt; the last one (`final`) is
    also logged as an error, because the reviewed version then stays without its PDF.
    """
    name = f"v{version}.pdf"
    with read_transaction(engine) as conn:  # decrypting the inputs holds no write lock
        rendered = blobs.find(conn, request_id, REVIEWED_PDF, name) is not None
        if not rendered:
            request = requests_store.get(conn, request_id)
            translation = json.loads(
                _read(conn, blobs, request_id, REVIEWED_TRANSLATION, f"v{version}.json")
            )
            job = render_job(conn, blobs, request, translation)
    if rendered:  # an earlier attempt stored the PDF: only its package may be missing
        return _package(engine, blobs, request_id, version, seal_key, seal_cert)
    try:
        pdf = render(job)
    except Exception as exc:
        log.log(
            logging.ERROR if final else logging.WARNING,
            "reviewed render failed" + (" for good" if final else ", will retry"),
            extra={"request_id": request_id, "version": version, "attempt": attempt},
            exc_info=True,
        )
        with transaction(engine) as conn:
            record(
                conn,
                requests_store.get(conn, request_id),
                "step_failed",
                actor="worker:render",
                detail={
                    "step": "render-review",
                    "version": version,
                    "error": type(exc).__name__,
                    "attempt": attempt,
                    "final": final,
                },
            )
        raise
    prepared = blobs.prepare(  # encrypted and synced before the write transaction
        request_id=request_id, kind=REVIEWED_PDF, name=name, media_type="application/pdf", data=pdf
    )
    with transaction(engine) as conn:
        stored = blobs.record(conn, prepared)
        record(
            conn,
            requests_store.get(conn, request_id),
            "rendered",
            actor="worker:render",
            artefacts={"pdf": hashlib.sha256(pdf).hexdigest()},
            detail={"version": version, "object": stored.id},
        )
    return _package(engine, blobs, request_id, version, seal_key, seal_cert)


def _package(
    engine: Engine,
    blobs: BlobStore,
    request_id: str,
    version: int,
    seal_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    seal_cert: x509.Certificate,
) -> bool:
    """The delivery package of version `version`: its translation.json and request.pdf."""
    name = f"v{version}.p7m"
    with read_transaction(engine) as conn:  # only metadata and data keys are read here
        if blobs.find(conn, request_id, REVIEWED_PACKAGE, name) is not None:
            return False
        request = requests_store.get(conn, request_id)
        sources = [
            ("request.p7s", "signed-request", None),
            ("form.json", "form", None),
            ("translation.json", REVIEWED_TRANSLATION, f"v{version}.json"),
            ("request.pdf", REVIEWED_PDF, f"v{version}.pdf"),
        ]
        members = [
            package_member(conn, blobs, member, _stored(conn, blobs, request_id, kind, stored))
            for member, kind, stored in sources
        ]
        members += attachment_members(conn, blobs, request_id)
        recipients = authorities_store.certificates(
            conn, request.executing_authority_id, "encryption"
        )
        handling = legal_clocks.handling_of(conn, request_id)
        meta = {**package_meta(request, handling), "translation_version": version}
    if not recipients:
        raise RuntimeError("the executing authority has no encryption certificate")
    package = seal_package(
        blobs, request_id, members, meta, kind=REVIEWED_PACKAGE, name=name,
        seal_key=seal_key, seal_cert=seal_cert, recipients=recipients,
    )  # fmt: skip
    with transaction(engine) as conn:
        stored = blobs.record(conn, package)
        record(
            conn,
            requests_store.get(conn, request_id),
            "made_available",
            actor="worker:package",
            artefacts={"package": stored.sha256},
            detail={"version": version},
        )
    return True


def _stored(
    conn: Connection, blobs: BlobStore, request_id: str, kind: str, name: str | None
) -> StoredObject:
    stored = blobs.find(conn, request_id, kind, name)
    if stored is None:
        raise NotFound(f"request {request_id} has no {kind} object")
    return stored
