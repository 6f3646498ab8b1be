"""Everything a process needs, built once from Settings: engine, blob store, keys, sender."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from gateway.config import ConfigError, Settings
from gateway.crypto import TrustConfig, at_rest
from gateway.crypto.pkcs11_kek import TokenLocation
from gateway.persistence.blobs import BlobStore
from gateway.persistence.db import make_engine
from gateway.persistence.group_commit import GroupCommitter
from gateway.persistence.object_backends import make_backend
from gateway.runtime.celery_sender import CelerySender
from gateway.runtime.keyring import KeyRing, load_keyring
from gateway.services.evidences import Sealer

KEK_FILE = "kek.b64"
KEK_TOKEN_FILE = "kek-pkcs11.json"  # noqa: S105  (a file name, no secret)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    blobs: BlobStore

    @functools.cached_property
    def keys(self) -> KeyRing:
        return load_keyring(self.settings.keys_dir)

    def trust(self) -> TrustConfig:
        """What signers are checked against, with this deployment's CRL and skew settings."""
        return self.keys.trust(
            allow_stale_crl=self.settings.allow_stale_crl,
            max_skew_seconds=self.settings.max_clock_skew_seconds,
        )

    def sealer(self) -> Sealer:
        """The gateway's seal key, for evidences and receipts."""
        return Sealer(self.keys.seal_key, self.keys.seal_cert, self.settings.gateway_id)

    @functools.cached_property
    def sender(self) -> CelerySender:
        return CelerySender(self.settings)

    @functools.cached_property
    def committer(self) -> GroupCommitter:
        """This process's group committer for intake (gateway/persistence/group_commit.py)."""
        return GroupCommitter(self.engine)

    def close(self) -> None:
        if "sender" in self.__dict__:
            self.sender.close()
        if "committer" in self.__dict__:
            self.committer.close()
        self.engine.dispose()


def load_kek(settings: Settings) -> at_rest.Kek:
    """The key-encryption key: ROGATORY_KEK (base64), `<keys_dir>/kek.b64` (mode 0600), or
    the PKCS#11 token named by `<keys_dir>/kek-pkcs11.json` (PIN: setting pkcs11_pin)."""
    try:
        if settings.kek:
            return at_rest.FileKek.from_env("ROGATORY_KEK", {"ROGATORY_KEK": settings.kek})
        path = Path(settings.keys_dir) / KEK_FILE
        if path.exists():
            return at_rest.FileKek.from_file(path)
        token_file = Path(settings.keys_dir) / KEK_TOKEN_FILE
        if token_file.exists():
            return token_kek(settings, read_token_location(token_file))
        raise ConfigError(f"setting 'keys_dir': no KEK at {path} (run 'rogatory init')")
    except (ValueError, PermissionError) as exc:
        raise ConfigError(f"setting 'ROGATORY_KEK' / kek file: {exc}") from None


def read_token_location(path: Path) -> TokenLocation:
    try:
        spec = json.loads(path.read_text())
        return TokenLocation(spec["library"], spec["token_label"], spec["key_label"])
    except (OSError, ValueError, KeyError, TypeError):
        raise ConfigError(f"{path}: not a PKCS#11 KEK description") from None


def write_token_location(path: Path, location: TokenLocation) -> None:
    path.write_text(json.dumps(dataclasses.asdict(location), indent=2) + "\n")


def token_kek(settings: Settings, location: TokenLocation) -> at_rest.Kek:
    from gateway.crypto.pkcs11_kek import Pkcs11Kek

    if not settings.pkcs11_pin:
        raise ConfigError(
            f"setting 'pkcs11_pin' is required: the KEK is in token '{location.token_label}'"
        )
    return Pkcs11Kek(location, settings.pkcs11_pin)


@contextmanager
def database_engine(settings: Settings) -> Iterator[Engine]:
    """An engine on the configured database, disposed afterwards (for one CLI command)."""
    engine = make_engine(settings.database_url)
    try:
        yield engine
    finally:
        engine.dispose()


def build_runtime(settings: Settings) -> Runtime:
    engine = make_engine(settings.database_url)
    backend = make_backend(settings.object_store, settings.data_dir, engine)
    return Runtime(settings, engine, BlobStore(settings.data_dir, load_kek(settings), backend))
