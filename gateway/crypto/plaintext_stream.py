"""``PlaintextStream``: an AuthEnvelopedData's plaintext read on demand, decrypted on the
thread that reads it (``open_attachment_stream`` pushes it to a sink on a helper thread
instead). The plaintext is UNAUTHENTICATED until the stream ended: see the class.
"""

from __future__ import annotations

import collections
import contextlib
from collections.abc import Iterator, Sequence
from typing import BinaryIO

from gateway.crypto.envelope import ASN1_ERRORS
from gateway.crypto.model import RecipientKey
from gateway.crypto.streaming import (
    _DECRYPT_BATCH,
    DEFAULT_MAX_ATTACHMENT_SIZE,
    BerStream,
    _close_envelope,
    _Decrypting,
    _malformed,
    _open_header,
    iter_octets,
)


class PlaintextStream:
    """An AuthEnvelopedData's plaintext as a stream, decrypted on the thread that reads it
    (where the next step finds the bytes still in the CPU's cache); no helper thread.

    ``read`` returns fewer bytes than asked when a piece ends, and ``b""`` once the content
    ended and its GCM tag verified: every byte read before that is UNAUTHENTICATED. A
    reader that stops early calls ``drain``, which reads the envelope to its end and raises
    its failure (``InvalidEnvelope``, ``CryptoError``) if it has one. Raises as
    ``open_attachment_stream`` does; a failure of ``src`` propagates unchanged.
    """

    def __init__(
        self,
        src: BinaryIO,
        recipient_keys: Sequence[RecipientKey],
        *,
        max_size: int = DEFAULT_MAX_ATTACHMENT_SIZE,
    ) -> None:
        self._reader = BerStream(src)
        self._ready: collections.deque[bytes] = collections.deque()
        self._failed: BaseException | None = None
        self._ended = False
        self._current = b""
        self._at = 0
        with _asn1_malformed():
            self._opened = _open_header(self._reader, recipient_keys)
        self._pieces = iter_octets(self._reader, self._opened.constructed, self._opened.length)
        self._decrypting = _Decrypting(self._opened.decryptor, _Collect(self._ready), max_size)

    @property
    def size(self) -> int:
        """Plaintext bytes decrypted so far (all of them once ``read`` returned ``b""``)."""
        return self._decrypting.size

    def read(self, size: int = -1) -> bytes:
        if self._failed is not None:
            raise self._failed
        try:
            return self._read(size)
        except ASN1_ERRORS as exc:
            self._failed = _malformed(f"attachment ASN.1: {type(exc).__name__}")
        except BaseException as exc:
            self._failed = exc
        raise self._failed

    def _read(self, size: int) -> bytes:
        while self._at >= len(self._current):
            if not self._ready and not self._fill():
                return b""
            self._current, self._at = self._ready.popleft(), 0
        end = len(self._current) if size < 0 else min(len(self._current), self._at + size)
        if self._at == 0 and end == len(self._current):
            piece = self._current  # the whole piece: no copy
        else:
            piece = self._current[self._at : end]
        self._at = end
        return piece

    def _fill(self) -> bool:
        """Decrypt the next batch; False at the end of the content (its tag verified)."""
        while not self._ready:
            if self._ended:
                return False
            pieces = next(self._pieces, None)
            if pieces is None:
                self._decrypting.flush()
                if not self._ready:
                    _close_envelope(self._reader, self._opened)
                    self._ended = True
                return bool(self._ready)
            self._decrypting.add_many(pieces)
        return True

    def drain(self) -> None:
        """Read (and drop) the rest of the envelope; raise its failure, if any."""
        while self.read(_DECRYPT_BATCH):
            pass


class _Collect:
    """Decrypted pieces kept for ``PlaintextStream.read`` (this thread: no queue)."""

    def __init__(self, ready: collections.deque[bytes]) -> None:
        self.put = ready.append


@contextlib.contextmanager
def _asn1_malformed() -> Iterator[None]:
    try:
        yield
    except ASN1_ERRORS as exc:
        raise _malformed(f"attachment ASN.1: {type(exc).__name__}") from None


__all__ = ["PlaintextStream"]
