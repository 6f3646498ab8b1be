"""Periodic certificate hygiene: refresh cached CRLs, alert on certificates about to expire.

CRL refresh: every distribution point named by the trust anchors and the gateway's own
certificates (plus ``crl_urls`` in keyring.json) is downloaded; a CRL replaces the
cached file of the same issuer only when that issuer signed it, it is current and it is
not older than the cached one (gateway/crypto/crl.py). The file is replaced atomically,
so verification always reads a whole CRL; a CRL that could not be refreshed goes stale
and verification then fails closed.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from sqlalchemy.engine import Engine

from gateway.crypto import CryptoError, expiring_certificates
from gateway.crypto.crl import MAX_CRL_SIZE, accept_crl, crl_distribution_points, parse_crl
from gateway.crypto.keyfiles import load_crl
from gateway.persistence import authorities_store
from gateway.persistence.db import transaction
from gateway.services.lifecycle import record

if TYPE_CHECKING:
    from gateway.runtime.keyring import KeyRing

log = logging.getLogger(__name__)

EXPIRY_WINDOW = timedelta(days=30)
CRL_ALERT_WINDOW = timedelta(hours=24)  # the hourly refresh has a day to fix it


@dataclass
class CrlRefresh:
    replaced: list[str] = field(default_factory=list)  # cached files replaced
    failed: dict[str, str] = field(default_factory=dict)  # url -> stable reason


def configured_crl_urls(keys_dir: Path) -> list[str]:
    """Extra CRL URLs an operator listed under ``crl_urls`` in keyring.json."""
    try:
        urls = json.loads((keys_dir / "keyring.json").read_text()).get("crl_urls", [])
    except (OSError, ValueError):
        return []
    return [url for url in urls if isinstance(url, str)]


def refresh_crls(
    *,
    issuers: Sequence[x509.Certificate],
    named_by: Sequence[x509.Certificate],
    cached_paths: Sequence[Path],
    extra_urls: Sequence[str] = (),
    client: httpx.Client,
    now: datetime | None = None,
) -> CrlRefresh:
    """Download, check and atomically cache the CRL of every distribution point."""
    now = now or datetime.now(UTC)
    cached = {path: load_crl(path) for path in cached_paths if path.exists()}
    report = CrlRefresh()
    for url in dict.fromkeys([*crl_distribution_points(named_by), *extra_urls]):
        try:
            crl = parse_crl(_download(client, url))
            slot = next((p for p, c in cached.items() if c.issuer == crl.issuer), None)
            accept_crl(crl, issuers, now=now, cached=cached.get(slot) if slot else None)
        except httpx.HTTPError as exc:
            report.failed[url] = "unreachable"
            log.warning("crl refresh failed", extra={"url": url, "reason": type(exc).__name__})
            continue
        except CryptoError as exc:
            report.failed[url] = exc.code
            log.warning("crl refused", extra={"url": url, "code": exc.code, "reason": exc.detail})
            continue
        if slot is None:
            report.failed[url] = "no-cached-crl-for-issuer"
            log.warning("crl has no cache slot", extra={"url": url})
            continue
        _replace_atomically(slot, crl.public_bytes(serialization.Encoding.PEM))
        cached[slot] = crl
        report.replaced.append(slot.name)
        log.info("crl refreshed", extra={"url": url, "file": slot.name})
    return report


def _download(client: httpx.Client, url: str) -> bytes:
    with client.stream("GET", url, timeout=30, follow_redirects=False) as response:
        response.raise_for_status()
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > MAX_CRL_SIZE:
                raise CryptoError("malformed", "CRL larger than allowed")
    return bytes(body)


def _replace_atomically(path: Path, data: bytes) -> None:
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(staging, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    staging.replace(path)


def check_certificate_expiry(
    engine: Engine,
    own: dict[str, x509.Certificate],
    *,
    now: datetime | None = None,
    within: timedelta = EXPIRY_WINDOW,
) -> list[str]:
    """Audit ``certificate_expiring`` (and log) for every gateway or authority certificate
    expiring within ``within``; returns their labels."""
    now = now or datetime.now(UTC)
    with transaction(engine) as conn:
        labelled = dict(own)
        for authority in authorities_store.list_all(conn):
            for purpose in ("encryption", "signing"):
                for cert in authorities_store.certificates(conn, authority.id, purpose, at=now):
                    fp = cert.fingerprint(hashes.SHA256()).hex()
                    labelled[f"authority:{authority.id}:{purpose}:{fp[:12]}"] = cert
        due = {id(c) for c in expiring_certificates(labelled.values(), now, within)}
        alerts = []
        for label, cert in labelled.items():
            if id(cert) not in due:
                continue
            days = (cert.not_valid_after_utc - now).days
            record(
                conn,
                None,
                "certificate_expiring",
                actor="gateway:certificates",
                artefacts={"certificate": cert.fingerprint(hashes.SHA256()).hex()},
                detail={"certificate": label[:64], "days_left": days},
            )
            log.warning("certificate expiring", extra={"certificate": label, "days_left": days})
            alerts.append(label)
    return alerts


def refresh_gateway_crls(keys: KeyRing, keys_dir: Path) -> CrlRefresh:
    """The periodic job: CRLs of the anchors and intermediates (each checked against its
    issuer in the chain), named by them and by the gateway's own certificates."""
    with httpx.Client() as client:
        return refresh_crls(
            issuers=keys.issuers,
            named_by=[*keys.issuers, keys.seal_cert, *(k.certificate for k in keys.intake)],
            cached_paths=keys.crl_paths,
            extra_urls=configured_crl_urls(keys_dir),
            client=client,
        )


def alert_expiring_crls(
    engine: Engine,
    keys: KeyRing,
    *,
    now: datetime | None = None,
    within: timedelta = CRL_ALERT_WINDOW,
) -> list[str]:
    """Audit ``crl_expiring`` (and log) for every cached CRL that is stale or will be within
    ``within``: once stale, signers under its issuer are refused (fail closed)."""
    now = now or datetime.now(UTC)
    due = []
    with transaction(engine) as conn:
        for crl in keys.crls():
            next_update = crl.next_update_utc
            if next_update is not None and next_update - now > within:
                continue
            hours = -1 if next_update is None else int((next_update - now).total_seconds() // 3600)
            issuer = crl.issuer.rfc4514_string()
            record(
                conn,
                None,
                "crl_expiring",
                actor="gateway:certificates",
                detail={"issuer": issuer[:64], "hours_left": hours, "stale": hours < 0},
            )
            log.warning("crl stale or about to be", extra={"issuer": issuer, "hours_left": hours})
            due.append(issuer)
    return due


def check_gateway_certificates(engine: Engine, keys: KeyRing) -> list[str]:
    """The periodic job: gateway keys, trust anchors, intermediates and every authority's
    certificates."""
    return check_certificate_expiry(engine, keys.certificates())


def expiring_in_directory(
    directory: Path, *, within: timedelta, now: datetime | None = None
) -> list[tuple[str, str, int]]:
    """(file, subject, days left; <0: expired) for every certificate of ``directory/*.pem``
    expired or expiring within ``within``, each certificate once."""
    now = now or datetime.now(UTC)
    named: dict[bytes, tuple[str, x509.Certificate]] = {}
    for path in sorted(directory.glob("*.pem")):
        try:
            certs = x509.load_pem_x509_certificates(path.read_bytes())
        except ValueError:
            continue  # public keys, CRLs and other PEM files are not certificates
        for cert in certs:
            named[cert.fingerprint(hashes.SHA256())] = (path.name, cert)
    due = {id(cert) for cert in expiring_certificates([c for _, c in named.values()], now, within)}
    return [
        (name, cert.subject.rfc4514_string(), (cert.not_valid_after_utc - now).days)
        for name, cert in named.values()
        if id(cert) in due
    ]
