"""Crypto core benchmark, with openssl measured in the same run as the baseline.

1. Large attachment: ``openssl cms -encrypt -stream`` output streamed through
   ``open_attachment_stream`` into at-rest re-encryption (subprocess, peak RSS from
   VmHWM), against ``openssl enc -aes-256-ctr`` over the same plaintext, written to a file
   like ours (the target's baseline) and, for reference, to /dev/null (cipher only).
2. Intake: ``open_submission`` (decrypt + verify incl. chain and CRL) against
   ``openssl cms -decrypt`` + ``openssl cms -verify -crl_check`` for 10 KB, 1 MB, 10 MB.
3. Receipts: ms per signed receipt (``sign`` of an evidence-sized body, what the group
   commit's write section pays per submission) with an RSA-3072 and an EC P-256 key,
   against the asn1crypto SignedData builder ``sign`` used before (issue 16; kept as the
   tests' reference, ``tests/crypto/cms_reference.py``) in the same run.

Run: /tmp/venv/bin/python bench/bench_crypto.py [--quick] [--receipts]
Targets: stream >= 0.5x openssl throughput at <= 150 MB RSS; open+verify <= 1.5x openssl.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gateway.crypto import RecipientKey, TrustConfig, open_submission, sign  # noqa: E402
from gateway.crypto.devpki import DevPki, make_dev_pki  # noqa: E402
from gateway.crypto.keyfiles import (  # noqa: E402
    load_certificate,
    load_crl,
    load_private_key,
)

MIB = 1024 * 1024
STREAM_RUNS = 3  # best-of-N on both sides: this 2-core box is shared
OAEP = ["-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha256"]


def _openssl(*args: object) -> float:
    started = time.perf_counter()
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)
    return time.perf_counter() - started


def _cms_decrypt_args(envelope: Path, pki: DevPki, out: object) -> list[object]:
    """`openssl cms -decrypt` of an intake envelope with the gateway's intake key."""
    return ["cms", "-decrypt", "-binary", "-inform", "DER", "-in", envelope,
            "-recip", pki.intake.cert, "-inkey", pki.intake.key, "-out", out]  # fmt: skip


def _timed_to_file(args: list[str], out: Path) -> float:
    os.sync()
    seconds = _openssl(*args, "-out", out)
    out.unlink()
    return seconds


def _write_plaintext(path: Path, size: int) -> None:
    block = hashlib.sha512(b"bench").digest() * (MIB // 64)
    with path.open("wb") as out:
        for index in range(size // MIB):
            out.write(index.to_bytes(8, "big") + block[8:])


def _peak_rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def stream_worker(envelope: Path, cert: Path, key: Path, staging: Path) -> None:
    """Subprocess body: stream the envelope into an at-rest staging file, report JSON."""
    from gateway.crypto import open_attachment_stream
    from gateway.crypto.at_rest import StreamEncryptor, new_data_key

    private_key = load_private_key(key)
    recipient = RecipientKey(private_key, load_certificate(cert))  # type: ignore[arg-type]
    started = time.perf_counter()
    with envelope.open("rb") as src, staging.open("wb") as dst:
        encryptor = StreamEncryptor(dst, new_data_key(), aad=b"bench")
        result = open_attachment_stream(src, [recipient], encryptor.write)
        encryptor.finish()
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "size": result.size, "rss": _peak_rss_bytes()}))


def bench_stream(work: Path, pki: DevPki, size: int) -> None:
    plain, envelope, staging = work / "plain.bin", work / "attachment.cms", work / "staging"
    _write_plaintext(plain, size)
    _openssl(
        "cms",
        "-encrypt",
        "-stream",
        "-binary",
        "-aes-256-gcm",
        "-recip",
        pki.intake.cert,
        *OAEP,
        "-in",
        plain,
        "-outform",
        "DER",
        "-out",
        envelope,
    )
    os.sync()  # start both sides without the inputs' writeback competing for the disk
    key_hex, iv_hex = os.urandom(32).hex(), os.urandom(16).hex()
    baseline_args = ["enc", "-aes-256-ctr", "-K", key_hex, "-iv", iv_hex, "-in", plain]
    baseline = min(_openssl(*baseline_args, "-out", os.devnull) for _ in range(STREAM_RUNS))
    # Same I/O shape as ours: read a file, write the output to a file on the same disk
    # (neither side fsyncs inside the timed region).
    written = work / "baseline.out"
    baseline_file = min(_timed_to_file(baseline_args, written) for _ in range(STREAM_RUNS))
    plain.unlink()
    try:
        cms_decrypt: float | None = _openssl(*_cms_decrypt_args(envelope, pki, os.devnull))
    except subprocess.CalledProcessError as exc:  # openssl 3.0 cannot open 2 GiB messages
        cms_decrypt, cms_error = None, exc.returncode
    worker = [sys.executable, __file__, "--worker", envelope, pki.intake.cert, pki.intake.key]
    reports = []
    for _ in range(STREAM_RUNS):
        os.sync()
        proc = subprocess.run(
            [*map(str, worker), str(staging)], check=True, capture_output=True, text=True
        )
        reports.append(json.loads(proc.stdout))
        staging.unlink()
    report = min(reports, key=lambda r: r["seconds"])
    report["rss"] = max(r["rss"] for r in reports)
    assert report["size"] == size
    ours_mbps = size / MIB / report["seconds"]
    openssl_mbps = size / MIB / baseline
    print(
        f"stream {size // MIB} MiB: open_attachment_stream + at-rest re-encryption "
        f"{ours_mbps:8.1f} MB/s, peak RSS {report['rss'] / MIB:.1f} MiB"
    )
    file_mbps = size / MIB / baseline_file
    print(
        f"  openssl enc -aes-256-ctr -> file     {file_mbps:8.1f} MB/s   "
        f"ratio {ours_mbps / file_mbps:.2f}x (same read/write shape; target >= 0.5x, "
        "RSS <= 150 MB)"
    )
    print(
        f"  openssl enc -aes-256-ctr -> /dev/null {openssl_mbps:8.1f} MB/s   "
        f"ratio {ours_mbps / openssl_mbps:.2f}x (cipher only, no output written)"
    )
    if cms_decrypt is None:
        print(f"  openssl cms -decrypt     failed on {size // MIB} MiB (exit {cms_error})")
    else:
        cms_mbps = size / MIB / cms_decrypt
        print(
            f"  openssl cms -decrypt     {cms_mbps:8.1f} MB/s   ratio {ours_mbps / cms_mbps:.2f}x "
            "(same job minus SHA-256 and at-rest re-encryption)"
        )
    print(f"  best of {STREAM_RUNS} each; commands (key/iv random, staging file fresh per run):")
    print(
        "    openssl "
        + " ".join(
            [*baseline_args[:2], "-K", "KEY", "-iv", "IV", "-in", str(plain), "-out", "FILE"]
        )
    )
    print("    " + " ".join(map(str, worker)) + " " + str(staging))
    envelope.unlink()


def bench_open_verify(work: Path, pki: DevPki, size: int, repeats: int) -> None:
    plain, signed, envelope = work / "msg.bin", work / "msg.p7s", work / "msg.cms"
    plain.write_bytes(os.urandom(size))
    magistrate = pki.magistrates["rsa"]
    _openssl(
        "cms",
        "-sign",
        "-binary",
        "-nodetach",
        "-md",
        "sha256",
        "-in",
        plain,
        "-signer",
        magistrate.cert,
        "-inkey",
        magistrate.key,
        "-outform",
        "DER",
        "-out",
        signed,
    )
    _openssl(
        "cms",
        "-encrypt",
        "-binary",
        "-aes-256-gcm",
        "-recip",
        pki.intake.cert,
        *OAEP,
        "-in",
        signed,
        "-outform",
        "DER",
        "-out",
        envelope,
    )
    data = envelope.read_bytes()
    ca_and_crl = work / "ca-and-crl.pem"  # openssl cms takes CRLs appended to the CAfile
    ca_and_crl.write_bytes(pki.ca.cert.read_bytes() + pki.crl.read_bytes())
    keys = [RecipientKey(load_private_key(pki.intake.key), load_certificate(pki.intake.cert))]  # type: ignore[arg-type]
    trust = TrustConfig(anchors=[load_certificate(pki.ca.cert)], crls=[load_crl(pki.crl)])
    ours, theirs = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        verified = open_submission(data, keys, trust, now=datetime.now(UTC))
        ours.append(time.perf_counter() - started)
        assert len(verified.content) == size
        inner = work / "inner.p7s"
        seconds = _openssl(*_cms_decrypt_args(envelope, pki, inner))
        seconds += _openssl(
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            inner,
            "-CAfile",
            ca_and_crl,
            "-crl_check",
            "-out",
            os.devnull,
        )
        theirs.append(seconds)
    ours_ms, theirs_ms = statistics.median(ours) * 1000, statistics.median(theirs) * 1000
    label = f"{size // 1000} KB" if size < 10**6 else f"{size // 10**6} MB"
    print(
        f"open+verify {label:>6}: ours {ours_ms:7.2f} ms   openssl decrypt+verify "
        f"{theirs_ms:7.2f} ms   ratio {ours_ms / theirs_ms:.2f}x (target <= 1.5x)"
    )


def _ms_per_call(call: Callable[[], object], count: int, rounds: int) -> float:
    """Median over ``rounds`` of the mean time of ``count`` calls, in ms."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(count):
            call()
        times.append((time.perf_counter() - started) / count)
    return statistics.median(times) * 1000


def bench_receipts(pki: DevPki, count: int) -> None:
    sys.path.insert(0, str(REPO / "tests" / "crypto"))
    from cms_reference import reference_sign

    body = json.dumps(
        {"format": "rogatory.evidence/1", "evidence": "SubmissionAcceptance",
         "request_id": "0" * 36, "message_sha256": "1" * 64, "audit_index": 123456,
         "previous_evidence_sha256": None, "time": datetime.now(UTC).isoformat()},
        sort_keys=True,
    ).encode()  # fmt: skip
    when = datetime.now(UTC)
    measured: dict[str, tuple[float, float]] = {}
    for label, pair in (("RSA-3072", pki.magistrates["rsa"]), ("EC P-256", pki.magistrates["ec"])):
        key, cert = load_private_key(pair.key), load_certificate(pair.cert)
        assert isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
        new = sign(body, key, cert, signing_time=when)
        if isinstance(key, rsa.RSAPrivateKey):  # deterministic: the same bytes both ways
            assert new == reference_sign(body, key, cert, signing_time=when)
            raw = functools.partial(key.sign, body, padding.PKCS1v15(), hashes.SHA256())
        else:
            raw = functools.partial(key.sign, body, ec.ECDSA(hashes.SHA256()))
        rounds = 5
        before = functools.partial(reference_sign, body, key, cert, signing_time=when)
        after = functools.partial(sign, body, key, cert, signing_time=when)
        old_ms = _ms_per_call(before, count, rounds)
        new_ms = _ms_per_call(after, count, rounds)
        raw_ms = _ms_per_call(raw, count, rounds)
        measured[label] = (old_ms, new_ms)
        print(
            f"receipt {label}: sign {new_ms:6.3f} ms   asn1crypto builder (before) {old_ms:6.3f} ms"
            f"   ratio {new_ms / old_ms:.2f}x   of which the signature alone {raw_ms:6.3f} ms"
        )
    old_ms, new_ms = measured["RSA-3072"][0], measured["EC P-256"][1]
    print(
        f"receipt as the dev seal signs it: before (RSA-3072, asn1crypto) {old_ms:6.3f} ms, "
        f"after (P-256, DER) {new_ms:6.3f} ms   ratio {new_ms / old_ms:.2f}x"
    )
    print(f"  {len(body)}-byte body, median of {rounds} rounds of {count} receipts each")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="256 MiB stream, fewer repeats")
    parser.add_argument("--receipts", action="store_true", help="only the receipt signing part")
    parser.add_argument("--worker", nargs=4, metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        stream_worker(*(Path(p) for p in args.worker))
        return
    with tempfile.TemporaryDirectory(prefix="bench-crypto-") as tmp:
        work = Path(tmp)
        pki = make_dev_pki(work / "pki")
        bench_receipts(pki, count=200 if args.quick else 1000)
        if args.receipts:
            return
        bench_stream(work, pki, (256 if args.quick else 2048) * MIB)
        for size in (10_000, 1_000_000, 10_000_000):
            bench_open_verify(work, pki, size, repeats=3 if args.quick else 7)


if __name__ == "__main__":
    main()
