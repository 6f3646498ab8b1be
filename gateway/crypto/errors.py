"""Error types of the crypto core: one stable ``code`` per failure class.

``detail`` is for operator logs only; ``str()`` never includes it, so an error
shown to a submitter cannot act as a decryption oracle.
"""

from __future__ import annotations

from typing import Final

SIGNATURE_INVALID: Final = "signature-invalid"
CERTIFICATE_EXPIRED: Final = "certificate-expired"
CERTIFICATE_REVOKED: Final = "certificate-revoked"
UNTRUSTED_SIGNER: Final = "untrusted-signer"
SIGNER_NOT_AUTHORISED: Final = "signer-not-authorised"
WRONG_RECIPIENT: Final = "wrong-recipient"
REPLAYED: Final = "replayed"
STALE: Final = "stale"
MALFORMED: Final = "malformed"
UNSUPPORTED_ALGORITHM: Final = "unsupported-algorithm"
UNDECRYPTABLE: Final = "undecryptable"

ERROR_CODES: Final = frozenset(
    {
        SIGNATURE_INVALID,
        CERTIFICATE_EXPIRED,
        CERTIFICATE_REVOKED,
        UNTRUSTED_SIGNER,
        SIGNER_NOT_AUTHORISED,
        WRONG_RECIPIENT,
        REPLAYED,
        STALE,
        MALFORMED,
        UNSUPPORTED_ALGORITHM,
        UNDECRYPTABLE,
    }
)


class CryptoError(Exception):
    """A refused message or key operation; ``code`` is stable, ``detail`` is for logs."""

    code: str
    detail: str

    def __init__(self, code: str, detail: str = "") -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown crypto error code {code!r}")
        super().__init__(code)
        self.code = code
        self.detail = detail

    def __str__(self) -> str:
        return self.code

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r})"


class InvalidEnvelope(CryptoError):
    """Any decryption failure. Deliberately opaque: the reason is only in ``detail``."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(UNDECRYPTABLE, detail)
