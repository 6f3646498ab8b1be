"""Subprocess body for the large-attachment test and the bench (run as a script).

Streams an openssl ``cms -encrypt -stream`` file through ``open_attachment_stream`` into
an at-rest staging file, then decrypts that file again, and prints one JSON line with
both digests, the size and this process's peak RSS.
"""

from __future__ import annotations

import hashlib
import json
import resource
import sys
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from gateway.crypto import RecipientKey, open_attachment_stream
from gateway.crypto.at_rest import StreamEncryptor, decrypt_stream, new_data_key


class _HashingSink:
    def __init__(self) -> None:
        self.sha256 = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        return len(data)


def peak_rss_bytes() -> int:
    """This process image's RSS high-water mark. ``ru_maxrss`` would also count the forking
    parent's pages (Linux keeps it across exec), so read VmHWM when /proc has it."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main(envelope: Path, cert: Path, key: Path, staging: Path) -> None:
    private_key = load_pem_private_key(key.read_bytes(), password=None)
    assert isinstance(private_key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
    recipient = RecipientKey(private_key, x509.load_pem_x509_certificate(cert.read_bytes()))
    data_key = new_data_key()
    started = time.perf_counter()
    with envelope.open("rb") as src, staging.open("wb") as dst:
        encryptor = StreamEncryptor(dst, data_key, aad=b"attachment")
        result = open_attachment_stream(src, [recipient], encryptor.write)
        encryptor.finish()
    elapsed = time.perf_counter() - started
    check = _HashingSink()
    with staging.open("rb") as src:
        decrypt_stream(src, check, data_key, aad=b"attachment")  # type: ignore[arg-type]
    report = {
        "sha256": result.sha256_hex,
        "size": result.size,
        "at_rest_sha256": check.sha256.hexdigest(),
        "seconds": elapsed,
        "peak_rss_bytes": peak_rss_bytes(),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main(*(Path(arg) for arg in sys.argv[1:5]))
