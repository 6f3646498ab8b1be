"""Start-up checks of `serve` and `worker`: refuse to run with keys that will fail.

Everything the first submission would need is loaded and checked before listening:
the whole keyring (gateway/runtime/keyring.py), the KEK, the modes of the keys
directory and keyring.json. What will only fail later (a CRL about to go stale, a CA
without a CRL, a certificate near expiry) is returned as warnings: refusing to start
would also stop the worker's CRL refresh that fixes it.
"""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.config import ConfigError, Settings
from gateway.crypto import expiring_certificates
from gateway.runtime.container import load_kek
from gateway.runtime.keyring import (
    KeyRing,
    KeyringError,
    issuers_without_crl,
    keyring_path,
    load_keyring,
    stale_crls,
)

CRL_WARNING_WINDOW = timedelta(hours=24)
CERTIFICATE_WARNING_WINDOW = timedelta(days=30)


def check_startup(settings: Settings, *, now: datetime | None = None) -> list[str]:
    """Raise KeyringError (code bad-keyring) naming the first problem; return warnings."""
    now = now or datetime.now(UTC)
    _require_private_dir(settings.keys_dir)
    keys = load_keyring(settings.keys_dir, now=now)
    _require_not_writable_by_others(keyring_path(settings.keys_dir))
    try:
        load_kek(settings)
    except ConfigError as exc:
        raise KeyringError(str(exc)) from None
    return keyring_warnings(keys, settings, now=now)


def keyring_warnings(keys: KeyRing, settings: Settings, *, now: datetime) -> list[str]:
    warnings = []
    for path, hours in stale_crls(keys, now=now, within=CRL_WARNING_WINDOW):
        if hours < 0:
            effect = "accepted (allow_stale_crl)" if settings.allow_stale_crl else "signers refused"
            warnings.append(f"CRL {path.name} is past its nextUpdate: {effect}")
        else:
            warnings.append(f"CRL {path.name} goes stale in {hours} h")
    for cert in issuers_without_crl(keys):
        warnings.append(f"no CRL for CA {cert.subject.rfc4514_string()}: its signers are refused")
    labelled = keys.certificates()
    due = {id(c) for c in expiring_certificates(labelled.values(), now, CERTIFICATE_WARNING_WINDOW)}
    for label, cert in labelled.items():
        if id(cert) in due:
            days = (cert.not_valid_after_utc - now).days
            warnings.append(f"certificate {label} expires in {days} days")
    return warnings


def _require_private_dir(keys_dir: Path) -> None:
    if not keys_dir.is_dir():
        raise KeyringError(f"keys directory {keys_dir} does not exist (run 'rogatory init')")
    mode = stat.S_IMODE(keys_dir.stat().st_mode)
    if mode & 0o022:
        raise KeyringError(f"{keys_dir} has mode {mode:o}: others can write it (chmod 700)")


def _require_not_writable_by_others(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o022:
        raise KeyringError(f"{path} has mode {mode:o}: others can change it (chmod 644)")
