"""A legal answer travels the whole reply pipeline: sealed, translated, printed, packaged.

Real worker (Apertium), real packaging; the refusal's grounds reach the issuer's PDF in
hand-kept labels of both languages, and its free text is machine-translated.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from legal_support import answer, clocks, eio_form, issue, retrieve
from process_support import WorkerProcess, wait_for

from gateway.config import Settings
from gateway.crypto import RecipientKey, decrypt_envelope
from gateway.crypto.keyfiles import load_certificate, load_private_key
from gateway.domain.labels import load_catalogue
from gateway.persistence import requests_store
from gateway.persistence.db import transaction
from gateway.runtime.broker import ensure_embedded_broker
from gateway.runtime.container import Runtime, build_runtime
from gateway.services.dispatch import flush_outbox

pytestmark = [pytest.mark.slow]


def _state(rt: Runtime, request_id: str) -> str:
    with transaction(rt.engine) as conn:
        return requests_store.get(conn, request_id).state.value


def test_refusal_with_grounds_round_trips_to_the_issuer(
    make_settings: Callable[..., Settings], start_worker: Callable[..., WorkerProcess]
) -> None:
    settings = make_settings(translation_engine="apertium")
    ensure_embedded_broker(settings)
    rt = build_runtime(settings)
    start_worker(settings)
    now = datetime.now(UTC)
    request_id = issue(rt, eio_form(), now)
    flush_outbox(rt.engine, rt.sender)
    wait_for(lambda: _state(rt, request_id) == "available", what="request available")
    retrieve(rt, request_id, now)
    reply_id = answer(
        rt,
        request_id,
        "refusal",
        now,
        grounds=["eio-art11-1g-dual-criminality"],
        body="Los hechos no son delito en España.",
    )
    flush_outbox(rt.engine, rt.sender)
    wait_for(lambda: _state(rt, reply_id) == "available", what="refusal available")
    assert clocks(rt, request_id, now)["recognition"]["status"] == "met"
    with transaction(rt.engine) as conn:
        package = rt.blobs.read(conn, rt.blobs.find(conn, reply_id, "package").id)
    pki = settings.keys_dir / "dev-pki"
    rotterdam = RecipientKey(
        load_private_key(pki / "authority-a-enc.key"),  # type: ignore[arg-type]
        load_certificate(pki / "authority-a-enc.pem"),
    )
    from asn1crypto import cms

    signed = cms.ContentInfo.load(decrypt_envelope(package, [rotterdam]))
    archive = zipfile.ZipFile(io.BytesIO(signed["content"]["encap_content_info"]["content"].native))
    translation = json.loads(archive.read("translation.json"))
    body = next(f for f in translation["fields"] if f["path"] == "sections.R.body")
    assert body["status"] in ("translated", "needs-review")
    assert body["target"]
    pdf_path = settings.data_dir / "refusal.pdf"
    pdf_path.write_bytes(archive.read("request.pdf"))
    import subprocess

    text = " ".join(
        subprocess.run(["pdftotext", str(pdf_path), "-"], capture_output=True, check=True)
        .stdout.decode()
        .split()
    )
    ground = "eio-art11-1g-dual-criminality"
    assert load_catalogue("en").code_meaning("refusal_grounds", ground) in text
    # the source-language label sits beside its field label: its words, not one line
    spanish = load_catalogue("es").code_meaning("refusal_grounds", ground)
    assert all(word in text for word in spanish.split())
    rt.close()
