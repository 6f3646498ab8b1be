"""Legal-workflow test helpers: real sealed submissions and replies at an injected time.

The clock is run forward by signing, submitting, leasing and retrieving with `now` set
to a later day; the CRL of the development PKI is valid for a week only, so intake is
told to accept a stale one (a real setting) when a test jumps months ahead.
"""

from __future__ import annotations

import copy
import json
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.crypto import encrypt_envelope, sign
from gateway.crypto.keyfiles import load_certificate, load_private_key
from gateway.domain.states import Event
from gateway.domain.submission import build_submission
from gateway.persistence import requests_store
from gateway.persistence.db import transaction
from gateway.runtime.container import Runtime
from gateway.services import legal_clocks
from gateway.services.exchange import retrieve_package, take_lease
from gateway.services.intake import Accepted, accept_submission
from gateway.services.lifecycle import advance
from gateway.services.packaging import run_packaging
from gateway.services.tokens import Caller

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# pytest puts each test directory on sys.path as it collects it; this area may run alone.
_UI = str(Path(__file__).resolve().parents[1] / "ui")
if _UI not in sys.path:
    sys.path.append(_UI)
ROTTERDAM, MADRID = "nl-om-rotterdam", "es-fiscalia-madrid"
DAY0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def day(n: int, hour: int = 9) -> datetime:
    return DAY0 + timedelta(days=n, hours=hour - 9)


def eio_form(**b: Any) -> dict[str, Any]:
    form: dict[str, Any] = json.loads((FIXTURES / "mla_request.json").read_text())
    form["sections"]["B"] = {"urgency": "normal", **b}
    return form


def eaw_form() -> dict[str, Any]:
    return {
        "schema": "rogatory.request/1",
        "request_type": "extradition",
        "issuing_authority": ROTTERDAM,
        "executing_authority": MADRID,
        "case_reference": "EAW-2026-0042",
        "language": "nl",
        "sections": {
            "a": {"surname": "Papadopoulos", "date_of_birth": "1984-02-29"},
            "b": {"purpose": "prosecution"},
            "e": {
                "number_of_offences": 1,
                "facts": "Invoer van cocaïne via de haven.",
                "legal_qualification": "Drugshandel.",
                "list_offences": ["illicit-trafficking-narcotics"],
            },
            "i": {
                "authority_name": "Rechter-commissaris Rotterdam",
                "representative": "mr. P. Smit",
                "signed_on": "2026-12-01",
            },
        },
    }


def reply_form(request_id: str, kind: str, *, withdrawal: bool = False, **r: Any) -> dict[str, Any]:
    issuing, executing = (ROTTERDAM, MADRID) if withdrawal else (MADRID, ROTTERDAM)
    return {
        "schema": "rogatory.request/1",
        "request_type": "reply",
        "issuing_authority": issuing,
        "executing_authority": executing,
        "case_reference": "MAD-2026-0042",
        "language": "nl" if withdrawal else "es",
        "sections": {
            "R": {"reply_kind": kind, "in_reply_to": request_id, "body": "Véase el anexo.", **r},
            "K": {
                "authority_name": "Fiscalía Provincial de Madrid",
                "representative": "M. García",
                "signed_on": "2026-12-01",
            },
        },
    }


def submit(rt: Runtime, form: dict[str, Any], now: datetime, *, signer: str) -> Accepted:
    """Sign and seal `form` as a client would at `now`, and run intake at `now`."""
    pki = rt.settings.keys_dir / "dev-pki"
    content = build_submission(
        gateway=rt.settings.gateway_id,
        message_id=f"msg-{uuid.uuid4().hex}",
        created=now,
        request=copy.deepcopy(form),
        attachments=[],
    )
    key = load_private_key(pki / f"{signer}.key")
    signed = sign(content, key, load_certificate(pki / f"{signer}.pem"), signing_time=now)  # type: ignore[arg-type]
    data = encrypt_envelope(signed, [load_certificate(pki / "gateway-intake.pem")])
    return accept_submission(
        rt.engine,
        rt.blobs,
        rt.settings,
        data,
        recipient_keys=rt.keys.intake,
        trust=rt.keys.trust(allow_stale_crl=True, max_skew_seconds=600),
        now=now,
    )


def issue(rt: Runtime, form: dict[str, Any], now: datetime) -> str:
    return submit(rt, form, now, signer="magistrate-rsa").request_id


def answer(rt: Runtime, request_id: str, kind: str, now: datetime, **r: Any) -> str:
    return submit(rt, reply_form(request_id, kind, **r), now, signer="authority-b-sign").request_id


def make_available(rt: Runtime, request_id: str) -> None:
    """Stands in for translation and rendering (tested on their own); real packaging."""
    for event in (Event.START_TRANSLATION, Event.FINISH_TRANSLATION, Event.RENDER):
        with transaction(rt.engine) as conn:
            advance(conn, requests_store.get(conn, request_id), event, actor="test:fixture")
    keys = rt.keys
    run_packaging(rt.engine, rt.blobs, request_id, seal_key=keys.seal_key, seal_cert=keys.seal_cert)


def retrieve(rt: Runtime, request_id: str, now: datetime) -> bytes:
    caller = Caller(f"{MADRID}-puller", MADRID)
    lease = take_lease(rt.engine, caller, request_id, lease_seconds=300, now=now)
    return retrieve_package(
        rt.engine, rt.blobs, caller, request_id, lease.lease_token, rt.sealer(), now=now
    )


def clocks(rt: Runtime, request_id: str, today: datetime) -> dict[str, dict[str, Any]]:
    return {
        c.key: legal_clocks.clock_json(c, today.date())
        for c in legal_clocks.request_clocks(rt.engine, request_id)
    }
