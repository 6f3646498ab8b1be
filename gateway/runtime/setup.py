"""`rogatory init`: data directory, keys, schema and (for demos) two authorities."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from cryptography import x509
from sqlalchemy.engine import Connection

from gateway.config import ConfigError, Settings
from gateway.crypto.devpki import DevPki, make_dev_pki
from gateway.crypto.keyfiles import load_certificate
from gateway.persistence import authorities_store
from gateway.persistence.authorities_store import Authority
from gateway.persistence.db import make_engine, transaction
from gateway.persistence.migrations import upgrade
from gateway.runtime.container import KEK_FILE
from gateway.runtime.key_import import new_kek, next_steps
from gateway.runtime.keyring import write_keyring
from gateway.services.accounts import ensure_session_secret

DEV_PKI_DIR = "dev-pki"
DEMO_AUTHORITIES = (
    ("nl-om-rotterdam", "Openbaar Ministerie Rotterdam", "NL", ["nl", "en"], "authority-a"),
    ("es-fiscalia-madrid", "Fiscalía Provincial de Madrid", "ES", ["es"], "authority-b"),
)
ALL_TYPES = ["mla", "witness-examination", "extradition"]


def initialise(settings: Settings, *, dev_pki: bool, demo_authorities: bool) -> Iterator[str]:
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    settings.keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    yield f"data directory: {settings.data_dir}"
    pki_dir = settings.keys_dir / DEV_PKI_DIR
    if dev_pki and not (settings.keys_dir / "keyring.json").exists():
        pki = make_dev_pki(pki_dir)
        _link_dev_keyring(settings.keys_dir, pki)
        yield f"development PKI created in {pki_dir} (throwaway keys, never for production)"
    elif not dev_pki:
        yield from _production_keys(settings)
    upgrade(settings.database_url)
    yield "database schema is at the latest migration"
    if encrypt_legacy_totp(settings):
        yield "plain TOTP secrets encrypted under the KEK"
    if ensure_session_secret(settings.keys_dir):
        yield "web interface session secret created in the keys directory"
    if demo_authorities:
        engine = make_engine(settings.database_url)
        with transaction(engine) as conn:
            yield from _register_demo_authorities(conn, pki_dir)
        engine.dispose()


def encrypt_legacy_totp(settings: Settings) -> int:
    """Encrypt TOTP secrets an older version stored in plain (needs the KEK)."""
    from gateway.runtime.container import load_kek
    from gateway.services import totp_secrets

    try:
        kek = load_kek(settings)
    except ConfigError:  # no KEK yet: nothing can have been stored under one
        return 0
    engine = make_engine(settings.database_url)
    try:
        with transaction(engine) as conn:
            return totp_secrets.encrypt_legacy(conn, kek)
    finally:
        engine.dispose()


def _production_keys(settings: Settings) -> Iterator[str]:
    """No throwaway PKI: a fresh KEK, then exactly what the operator must import."""
    from_env = bool(settings.kek)
    if not from_env and (created := new_kek(settings.keys_dir)) is not None:
        yield f"KEK created: {created} (0600; back it up apart from the data, see keys/README.md)"
    steps = next_steps(settings.keys_dir, kek_from_env=from_env)
    if not steps:
        yield "keyring complete: run 'rogatory doctor', then 'rogatory serve'"
        return
    yield f"keys still to import into {settings.keys_dir} (see keys/README.md), in this order:"
    for step in steps:
        yield f"  {step}"


def _link_dev_keyring(keys_dir: Path, pki: DevPki) -> None:
    def rel(path: Path) -> str:
        return str(path.relative_to(keys_dir))

    kek = keys_dir / KEK_FILE
    if not kek.exists():
        kek.write_bytes(pki.kek.read_bytes())
        kek.chmod(0o600)
    write_keyring(
        keys_dir,
        {
            "intake": [{"cert": rel(pki.intake.cert), "key": rel(pki.intake.key)}],
            "seal": {"cert": rel(pki.seal.cert), "key": rel(pki.seal.key)},
            "audit_key": rel(pki.audit_key),
            "audit_public_key": rel(pki.audit_public_key),
            "trust_anchors": [rel(pki.ca.cert)],
            "crls": [rel(pki.crl)],
        },
    )


def _register_demo_authorities(conn: Connection, pki_dir: Path) -> Iterator[str]:
    registered = {authority.id for authority in authorities_store.list_all(conn)}
    for authority_id, name, country, languages, label in DEMO_AUTHORITIES:
        if authority_id in registered:
            continue
        authorities_store.add(
            conn,
            Authority(authority_id, name, country, languages, ALL_TYPES, None, None, True),
        )
        enc: x509.Certificate = load_certificate(pki_dir / f"{label}-enc.pem")
        authorities_store.add_certificate(conn, authority_id, "encryption", enc)
        authorities_store.add_certificate(
            conn, authority_id, "signing", load_certificate(pki_dir / f"{label}-sign.pem")
        )
        yield f"authority {authority_id} registered ({name}, works in {languages[0]})"
    # the demo magistrates sign for the Rotterdam office
    for label in ("magistrate-rsa", "magistrate-ec", "magistrate-expired", "magistrate-revoked"):
        authorities_store.add_certificate(
            conn, "nl-om-rotterdam", "signing", load_certificate(pki_dir / f"{label}.pem")
        )
    yield "magistrate certificates registered for nl-om-rotterdam"


def create_dev_pki(directory: Path) -> tuple[Path, Path]:
    """`rogatory keys dev-pki DIR`: a throwaway PKI; (directory, manifest)."""
    pki = make_dev_pki(directory)
    return pki.directory, pki.manifest
