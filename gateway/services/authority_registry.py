"""The registry of authorities as the admin CLI uses it: one transaction and one audit
entry per change (the CLI only parses arguments and prints)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from gateway.crypto.keyfiles import load_certificate
from gateway.domain.errors import Conflict
from gateway.persistence import authorities_store, exchange_store
from gateway.persistence.authorities_store import Authority
from gateway.persistence.db import transaction
from gateway.services.lifecycle import record

ACTOR = "admin:cli"


@dataclass(frozen=True)
class CertificateSummary:
    purpose: str
    fingerprint: str
    not_after: datetime


def register(
    engine: Engine,
    *,
    authority_id: str,
    name: str,
    country: str,
    languages: Sequence[str],
    request_types: Sequence[str],
    push_endpoint: str | None,
    encryption_cert: Path,
    signing_certs: Sequence[Path] = (),
) -> None:
    authority = Authority(
        authority_id,
        name,
        country.upper(),
        list(languages),
        list(request_types),
        push_endpoint,
        None,
        True,
    )
    certificates = [("encryption", load_certificate(encryption_cert))] + [
        ("signing", load_certificate(path)) for path in signing_certs
    ]
    with transaction(engine) as conn:
        for purpose, cert in certificates:
            owner = authorities_store.certificate_owner(conn, cert)
            if owner is not None:  # the store would keep the first owner and store nothing
                raise Conflict(
                    f"the {purpose} certificate is already registered for authority "
                    f"'{owner[0]}' ({owner[1]}); each certificate belongs to one authority"
                )
        authorities_store.add(conn, authority)
        for purpose, cert in certificates:
            authorities_store.add_certificate(conn, authority_id, purpose, cert)
        record(
            conn,
            None,
            "authority_changed",
            actor=ACTOR,
            detail={"authority": authority_id, "change": "added"},
        )


def list_authorities(engine: Engine) -> list[Authority]:
    with transaction(engine) as conn:
        return authorities_store.list_all(conn)


def describe(engine: Engine, authority_id: str) -> tuple[Authority, list[CertificateSummary]]:
    with transaction(engine) as conn:
        authority = authorities_store.get(conn, authority_id)
        summaries = [
            CertificateSummary(
                purpose, authorities_store.fingerprint(cert), cert.not_valid_after_utc
            )
            for purpose in ("encryption", "signing")
            for cert in authorities_store.certificates(conn, authority_id, purpose)
        ]
    return authority, summaries


def rotate_certificate(
    engine: Engine, authority_id: str, purpose: str, new_cert: Path, retire: str | None
) -> str:
    """Add a certificate (both valid during the overlap), optionally retire one; its digest."""
    with transaction(engine) as conn:
        digest = authorities_store.add_certificate(
            conn, authority_id, purpose, load_certificate(new_cert)
        )
        if retire:
            authorities_store.retire_certificate(conn, authority_id, retire)
        record(
            conn,
            None,
            "key_rotation",
            actor=ACTOR,
            artefacts={"certificate": digest},
            detail={"authority": authority_id, "purpose": purpose},
        )
    return digest


def disable(engine: Engine, authority_id: str) -> None:
    with transaction(engine) as conn:
        authorities_store.set_enabled(conn, authority_id, False)
        record(
            conn,
            None,
            "authority_changed",
            actor=ACTOR,
            detail={"authority": authority_id, "change": "disabled"},
        )


def register_api_client(
    engine: Engine, authority_id: str, client_id: str, public_jwk: dict[str, object]
) -> None:
    """An API client (private_key_jwt) of an existing authority."""
    with transaction(engine) as conn:
        authorities_store.get(conn, authority_id)
        exchange_store.add_client(conn, client_id, authority_id, public_jwk)
