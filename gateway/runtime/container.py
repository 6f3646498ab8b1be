"""Everything a process needs, built once from Settings: engine, blob store, keys, sender."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from gateway.config import ConfigError, Settings
from gateway.crypto import TrustConfig, at_rest
from gateway.persistence.blobs import BlobStore
from gateway.persistence.db import make_engine
from gateway.persistence.object_backends import make_backend
from gateway.runtime.celery_sender import CelerySender
from gateway.runtime.keyring import KeyRing, load_keyring
from gateway.services.evidences import Sealer

KEK_FILE = "kek.b64"


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

    def close(self) -> None:
        if "sender" in self.__dict__:
            self.sender.close()
        self.engine.dispose()


def load_kek(settings: Settings) -> at_rest.Kek:
    """The key-encryption key: ROGATORY_KEK (base64) or `<keys_dir>/kek.b64` (mode 0600)."""
    try:
        if os.environ.get("ROGATORY_KEK"):
            return at_rest.FileKek.from_env()
        path = Path(settings.keys_dir) / KEK_FILE
        if not path.exists():
            raise ConfigError(f"setting 'keys_dir': no KEK at {path} (run 'rogatory init')")
        return at_rest.FileKek.from_file(path)
    except (ValueError, PermissionError) as exc:
        raise ConfigError(f"setting 'ROGATORY_KEK' / kek file: {exc}") from None


def build_runtime(settings: Settings) -> Runtime:
    engine = make_engine(settings.database_url)
    backend = make_backend(settings.object_store, settings.data_dir, engine)
    return Runtime(settings, engine, BlobStore(settings.data_dir, load_kek(settings), backend))
