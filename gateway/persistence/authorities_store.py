"""Registered authorities and their certificates."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy.engine import Connection

from gateway.domain.errors import Conflict, NotFound
from gateway.persistence.tables import authorities, authority_certificates


@dataclass(frozen=True)
class Authority:
    id: str
    name: str
    country: str
    languages: list[str]
    request_types: list[str]
    push_endpoint: str | None
    webhook_url: str | None
    enabled: bool

    @property
    def working_language(self) -> str:
        return self.languages[0]


def fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def add(conn: Connection, authority: Authority) -> None:
    if conn.execute(sa.select(authorities.c.id).where(authorities.c.id == authority.id)).first():
        raise Conflict(f"authority '{authority.id}' exists already")
    conn.execute(authorities.insert().values(**authority.__dict__))


def get(conn: Connection, authority_id: str) -> Authority:
    row = (
        conn.execute(sa.select(authorities).where(authorities.c.id == authority_id))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"unknown authority '{authority_id}'")
    return _authority(row)


@dataclass(frozen=True)
class Parties:
    """A submission's two authorities, and whether its signer signs for the issuer."""

    issuing: Authority
    executing: Authority
    signer_registered: bool


# built once: the statement's cache key is computed once, not on every submission
_PARTIES = sa.select(
    authorities,
    sa.select(authority_certificates.c.fingerprint)
    .where(
        authority_certificates.c.fingerprint == sa.bindparam("fingerprint"),
        authority_certificates.c.authority_id == authorities.c.id,
        authority_certificates.c.purpose == "signing",
        authority_certificates.c.active.is_(True),
    )
    .exists()
    .label("signer_registered"),
).where(
    sa.or_(
        authorities.c.id == sa.bindparam("issuing"), authorities.c.id == sa.bindparam("executing")
    )
)


def parties(
    conn: Connection, issuing_id: str, executing_id: str, signer: x509.Certificate
) -> Parties:
    """One statement for what intake checks about the authorities of a submission (the
    issuing one first: NotFound names the first unknown one, as two `get`s would)."""
    rows = conn.execute(
        _PARTIES,
        {"issuing": issuing_id, "executing": executing_id, "fingerprint": fingerprint(signer)},
    ).mappings()
    found = {row["id"]: row for row in rows}
    for wanted in (issuing_id, executing_id):
        if wanted not in found:
            raise NotFound(f"unknown authority '{wanted}'")
    issuing = found[issuing_id]
    return Parties(
        _authority(issuing), _authority(found[executing_id]), bool(issuing["signer_registered"])
    )


def list_all(conn: Connection) -> list[Authority]:
    rows = conn.execute(sa.select(authorities).order_by(authorities.c.id)).mappings()
    return [_authority(row) for row in rows]


def set_enabled(conn: Connection, authority_id: str, enabled: bool) -> None:
    get(conn, authority_id)
    conn.execute(
        authorities.update().where(authorities.c.id == authority_id).values(enabled=enabled)
    )


def add_certificate(
    conn: Connection, authority_id: str, purpose: str, cert: x509.Certificate
) -> str:
    """Register a certificate; returns its SHA-256 fingerprint. Idempotent."""
    get(conn, authority_id)
    digest = fingerprint(cert)
    exists = conn.execute(
        sa.select(authority_certificates.c.fingerprint).where(
            authority_certificates.c.fingerprint == digest
        )
    ).first()
    if exists is None:
        conn.execute(
            authority_certificates.insert().values(
                fingerprint=digest,
                authority_id=authority_id,
                purpose=purpose,
                subject=cert.subject.rfc4514_string()[:300],
                pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
                not_before=cert.not_valid_before_utc,
                not_after=cert.not_valid_after_utc,
                active=True,
            )
        )
    return digest


def certificate_owner(conn: Connection, cert: x509.Certificate) -> tuple[str, str] | None:
    """(authority id, purpose) a certificate is registered for, or None."""
    row = conn.execute(
        sa.select(authority_certificates.c.authority_id, authority_certificates.c.purpose).where(
            authority_certificates.c.fingerprint == fingerprint(cert)
        )
    ).first()
    return (str(row.authority_id), str(row.purpose)) if row is not None else None


def retire_certificate(conn: Connection, authority_id: str, digest: str) -> None:
    conn.execute(
        authority_certificates.update()
        .where(
            authority_certificates.c.authority_id == authority_id,
            authority_certificates.c.fingerprint == digest,
        )
        .values(active=False)
    )


def certificates(
    conn: Connection, authority_id: str, purpose: str, *, at: datetime | None = None
) -> list[x509.Certificate]:
    """Active, currently valid certificates of one purpose (several during rotation)."""
    at = at or datetime.now(UTC)
    rows = conn.execute(
        sa.select(authority_certificates.c.pem).where(
            authority_certificates.c.authority_id == authority_id,
            authority_certificates.c.purpose == purpose,
            authority_certificates.c.active.is_(True),
        )
    ).scalars()
    certs = [x509.load_pem_x509_certificate(pem.encode()) for pem in rows]
    return [c for c in certs if c.not_valid_before_utc <= at <= c.not_valid_after_utc]


def is_registered_signer(conn: Connection, authority_id: str, cert: x509.Certificate) -> bool:
    row = conn.execute(
        sa.select(authority_certificates.c.fingerprint).where(
            authority_certificates.c.fingerprint == fingerprint(cert),
            authority_certificates.c.authority_id == authority_id,
            authority_certificates.c.purpose == "signing",
            authority_certificates.c.active.is_(True),
        )
    ).first()
    return row is not None


def _authority(row: sa.RowMapping) -> Authority:
    return Authority(
        id=row["id"],
        name=row["name"],
        country=row["country"],
        languages=list(row["languages"]),
        request_types=list(row["request_types"]),
        push_endpoint=row["push_endpoint"],
        webhook_url=row["webhook_url"],
        enabled=bool(row["enabled"]),
    )
