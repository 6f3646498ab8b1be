"""A KEK inside a PKCS#11 token (SoftHSM2, an HSM): it never leaves the token.

Data keys are wrapped and unwrapped by the token with CKM_AES_KEY_WRAP (RFC 3394), the
same wrapped format as `FileKek` (version byte 0x01 + 40 bytes). The AES key is created
in the token as sensitive and non-extractable; the gateway only holds a handle. A
session belongs to one process: after a fork (Celery's prefork pool) the child opens
its own.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any, Final

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.exceptions import PKCS11Error, UserAlreadyLoggedIn

from gateway.crypto.errors import InvalidEnvelope

_WRAP_VERSION: Final = b"\x01"
DATA_KEY_SIZE: Final = 32
KEY_ID_BYTES: Final = 16


@dataclass(frozen=True)
class TokenLocation:
    """Where the KEK lives: module, token label, key label (no secret)."""

    library: str
    token_label: str
    key_label: str


_initialised_in: dict[str, int] = {}  # module path -> pid that initialised it


def _library(path: str) -> Any:
    """The PKCS#11 module, initialised again in a forked child (PKCS#11 requires it)."""
    library = pkcs11.lib(path)
    pid = os.getpid()
    if _initialised_in.setdefault(path, pid) != pid:
        library.reinitialize()
        _initialised_in[path] = pid
    return library


def _session(location: TokenLocation, pin: str, *, rw: bool = False) -> Any:
    try:
        token = _library(location.library).get_token(token_label=location.token_label)
        try:
            return token.open(user_pin=pin, rw=rw)
        except UserAlreadyLoggedIn:  # login is per process: another session holds it
            return token.open(rw=rw)
    except (PKCS11Error, RuntimeError, OSError) as exc:
        raise ValueError(
            f"PKCS#11 token '{location.token_label}' ({location.library}): "
            f"{type(exc).__name__} {exc}".strip()
        ) from None


def _find_key(session: Any, location: TokenLocation) -> Any:
    try:
        return session.get_key(
            object_class=ObjectClass.SECRET_KEY, key_type=KeyType.AES, label=location.key_label
        )
    except (PKCS11Error, RuntimeError) as exc:
        raise ValueError(
            f"PKCS#11 token '{location.token_label}': no single AES key '{location.key_label}' "
            f"({type(exc).__name__})"
        ) from None


def generate_token_kek(location: TokenLocation, pin: str) -> bool:
    """Create the AES-256 KEK in the token unless a key of that label exists; True if created."""
    with _session(location, pin, rw=True) as session:
        try:
            _find_key(session, location)
            return False
        except ValueError:
            pass
        session.generate_key(
            KeyType.AES,
            256,
            label=location.key_label,
            id=os.urandom(KEY_ID_BYTES),
            store=True,
            template={
                Attribute.SENSITIVE: True,
                Attribute.EXTRACTABLE: False,
                Attribute.WRAP: True,
                Attribute.UNWRAP: True,
            },
        )
    return True


class Pkcs11Kek:
    """The `Kek` protocol over an AES key in a PKCS#11 token."""

    def __init__(self, location: TokenLocation, pin: str) -> None:
        self._location = location
        self._pin = pin
        self._lock = threading.Lock()
        self._pid = -1
        self._session: Any = None
        self._key: Any = None
        with self._lock:
            key = self._handle()
            if key[Attribute.EXTRACTABLE] or not key[Attribute.SENSITIVE]:
                raise ValueError(
                    f"PKCS#11 key '{location.key_label}' must be sensitive and non-extractable"
                )
            key_id = bytes(key[Attribute.ID])
        self._key_id = "pkcs11:" + (key_id.hex() or location.key_label)

    def _handle(self) -> Any:
        """The key handle of this process (re-opened after a fork)."""
        if self._pid != os.getpid():
            session = _session(self._location, self._pin)
            try:
                self._key = _find_key(session, self._location)
            except ValueError:
                session.close()  # the last session closed logs the process out
                raise
            self._session = session
            self._pid = os.getpid()
        return self._key

    @property
    def key_id(self) -> str:
        return self._key_id

    @property
    def location(self) -> TokenLocation:
        return self._location

    def wrap(self, dek: bytes) -> bytes:
        if len(dek) != DATA_KEY_SIZE:
            raise ValueError("data key must be 32 bytes")
        with self._lock:
            key = self._handle()
            temporary = self._session.create_object(
                {
                    Attribute.CLASS: ObjectClass.SECRET_KEY,
                    Attribute.KEY_TYPE: KeyType.AES,
                    Attribute.VALUE: dek,
                    Attribute.TOKEN: False,
                    Attribute.EXTRACTABLE: True,
                    Attribute.SENSITIVE: False,
                }
            )
            try:
                wrapped = bytes(key.wrap_key(temporary, mechanism=Mechanism.AES_KEY_WRAP))
            finally:
                temporary.destroy()
        return _WRAP_VERSION + wrapped

    def unwrap(self, blob: bytes) -> bytes:
        if blob[:1] != _WRAP_VERSION:
            raise InvalidEnvelope("unknown wrapped-key version")
        with self._lock:
            key = self._handle()
            try:
                unwrapped = key.unwrap_key(
                    ObjectClass.SECRET_KEY,
                    KeyType.AES,
                    blob[1:],
                    mechanism=Mechanism.AES_KEY_WRAP,
                    template={
                        Attribute.TOKEN: False,
                        Attribute.EXTRACTABLE: True,
                        Attribute.SENSITIVE: False,
                    },
                )
            except (PKCS11Error, RuntimeError):
                raise InvalidEnvelope(f"data key does not unwrap under {self._key_id}") from None
            try:
                return bytes(unwrapped[Attribute.VALUE])
            finally:
                unwrapped.destroy()

    def __repr__(self) -> str:
        return f"Pkcs11Kek({self._key_id})"
