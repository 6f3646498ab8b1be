"""`rogatory keys rotate-kek`: re-wrap every data key, then switch the configured KEK.

Between a file KEK (`kek.b64`) and one in a PKCS#11 token (`kek-pkcs11.json` names
module, token and key; the PIN is the setting pkcs11_pin) in either direction, or to a
new key of the same kind. The re-wrap is one transaction with a `key_rotation` audit
entry (gateway/services/key_rotation.py); the new description is staged first
(`*.next`) so a crash between the steps leaves it on disk to finish by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from gateway.config import ConfigError, Settings
from gateway.crypto.at_rest import FileKek, Kek
from gateway.crypto.keyfiles import write_private_file
from gateway.crypto.pkcs11_kek import TokenLocation, generate_token_kek
from gateway.persistence.blobs import BlobStore
from gateway.persistence.db import make_engine
from gateway.runtime.container import (
    KEK_FILE,
    KEK_TOKEN_FILE,
    load_kek,
    token_kek,
    write_token_location,
)
from gateway.services.key_rotation import rotate_kek


def _refuse_env(settings: Settings) -> None:
    if settings.kek:
        raise ConfigError("the KEK comes from ROGATORY_KEK: rotate it where that is set")


def _rewrap(settings: Settings, replacement: Kek) -> int:
    engine = make_engine(settings.database_url)
    try:
        current = load_kek(settings)
        return rotate_kek(
            engine, BlobStore(settings.data_dir, current), replacement, actor="admin:cli"
        )
    finally:
        engine.dispose()


def retired_name(current: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    candidate = current.with_name(f"{current.name}.retired-{stamp}")
    serial = 1
    while candidate.exists():
        serial += 1
        candidate = current.with_name(f"{current.name}.retired-{stamp}.{serial}")
    return candidate


def _retire(path: Path) -> str | None:
    if not path.exists():
        return None
    retired = retired_name(path)
    path.rename(retired)
    return retired.name


def rotate_to_file(settings: Settings, new_kek: Path) -> Iterator[str]:
    """Re-wrap under the KEK in ``new_kek`` (base64, 0600); it becomes `kek.b64`."""
    _refuse_env(settings)
    try:
        replacement = FileKek.from_file(new_kek)
    except (ValueError, PermissionError) as exc:
        raise ConfigError(f"--new-kek: {exc}") from None
    current = settings.keys_dir / KEK_FILE
    staged = current.with_name(KEK_FILE + ".next")
    write_private_file(staged, new_kek.read_bytes())
    try:
        count = _rewrap(settings, replacement)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    retired = [
        name for name in (_retire(current), _retire(current.with_name(KEK_TOKEN_FILE))) if name
    ]
    staged.replace(current)
    yield f"{count} data keys re-wrapped under {replacement.key_id}"
    yield f"old KEK kept as {', '.join(retired)}" if retired else "no previous KEK description"
    yield "restart serve and workers"


def rotate_to_token(
    settings: Settings,
    *,
    library: str | None = None,
    token_label: str | None = None,
    key_label: str | None = None,
) -> Iterator[str]:
    """Re-wrap under an AES key in the token (created if absent); unnamed parts of its
    location come from the settings pkcs11_library / _token_label / _key_label."""
    location = TokenLocation(
        library or settings.pkcs11_library,
        token_label or settings.pkcs11_token_label,
        key_label or settings.pkcs11_key_label,
    )
    if not location.token_label:
        raise ConfigError("setting 'pkcs11_token_label' (or --token-label) is required")
    _refuse_env(settings)
    if not settings.pkcs11_pin:
        raise ConfigError("setting 'pkcs11_pin' is required to use the token")
    if generate_token_kek(location, settings.pkcs11_pin):
        yield f"AES-256 key '{location.key_label}' created in token '{location.token_label}'"
    replacement = token_kek(settings, location)
    description = settings.keys_dir / KEK_TOKEN_FILE
    staged = description.with_name(KEK_TOKEN_FILE + ".next")
    write_token_location(staged, location)
    try:
        count = _rewrap(settings, replacement)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    retired = [
        name for name in (_retire(settings.keys_dir / KEK_FILE), _retire(description)) if name
    ]
    staged.replace(description)
    yield f"{count} data keys re-wrapped under {replacement.key_id} (in the token)"
    if retired:
        yield f"old KEK kept as {', '.join(retired)}: shred it once no backup needs it"
    yield "restart serve and workers"
