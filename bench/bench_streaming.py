"""Package retrieval through `rogatory serve`, streamed, against `openssl enc` in the same run.

A request is made available with a package of --size MiB (written into the object store
piece by piece), then retrieved with GET /api/v1/requests/{id}/package from a real
`rogatory serve` (gunicorn, one worker) and written to a file by a streaming client.
Baseline: `openssl enc -aes-256-ctr` over a file of the same size, written to a file.

Prints throughput, the ratio to openssl, the gateway worker's peak RSS (VmHWM) and the
client's. Targets (issue 16, point 4): >= 0.5x openssl, <= 150 MB RSS on each side.
Not covered yet: packaging and `rogatory client pull` still hold a package in memory.

Run: .venv/bin/python bench/bench_streaming.py [--size 2048]   (default 256 MiB)
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
from joserfc.jwk import ECKey

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gateway.config import Settings, load_settings  # noqa: E402
from gateway.domain.states import Event  # noqa: E402
from gateway.persistence import exchange_store, requests_store  # noqa: E402
from gateway.persistence.db import transaction  # noqa: E402
from gateway.runtime.broker import stop_embedded_broker  # noqa: E402
from gateway.runtime.container import build_runtime  # noqa: E402
from gateway.runtime.setup import initialise  # noqa: E402
from gateway.services.intake import accept_submission  # noqa: E402
from gateway.services.lifecycle import advance  # noqa: E402
from gateway.services.reference_client import token_request  # noqa: E402

sys.path.insert(0, str(REPO / "bench"))
from bench_exchange import make_envelopes  # noqa: E402

MIB = 1024 * 1024
CLIENT_ID = "bench-streaming"


def openssl_baseline(work: Path, size: int) -> float:
    """Seconds for openssl enc -aes-256-ctr over `size` bytes, file to file."""
    plain = work / "plain.bin"
    with plain.open("wb") as handle:
        block = os.urandom(MIB)
        for _ in range(size // MIB):
            handle.write(block)
    started = time.perf_counter()
    subprocess.run(
        ["openssl", "enc", "-aes-256-ctr", "-K", os.urandom(32).hex(), "-iv", os.urandom(16).hex(),
         "-in", str(plain), "-out", str(work / "plain.enc")],
        check=True,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    plain.unlink()
    (work / "plain.enc").unlink()
    return elapsed


def make_available(settings: Settings, size: int, key: ECKey) -> tuple[str, str]:
    runtime = build_runtime(settings)
    keys = runtime.keys
    accepted = accept_submission(
        runtime.engine, runtime.blobs, settings, make_envelopes(settings, 1)[0],
        recipient_keys=keys.intake, trust=runtime.trust(),
    )  # fmt: skip
    request_id = accepted.request_id
    staged = runtime.blobs.stage(
        request_id=request_id, kind="package", name="package.p7m",
        media_type="application/pkcs7-mime",
    )  # fmt: skip
    digest = hashlib.sha256()
    for index in range(size // MIB):
        piece = hashlib.sha256(str(index).encode()).digest() * (MIB // 32)
        digest.update(piece)
        staged.write(piece)
    staged.finish()
    with transaction(runtime.engine) as conn:
        for event in (Event.START_TRANSLATION, Event.FINISH_TRANSLATION, Event.RENDER):
            advance(conn, requests_store.get(conn, request_id), event, actor="bench")
        stored = staged.commit(conn, sha256=digest.hexdigest())
        advance(
            conn, requests_store.get(conn, request_id), Event.MAKE_AVAILABLE, actor="bench",
            artefacts={"package": stored.sha256},
        )  # fmt: skip
        exchange_store.add_client(conn, CLIENT_ID, "es-fiscalia-madrid", key.as_dict(private=False))
    runtime.close()
    return request_id, digest.hexdigest()


def token(url: str, key: ECKey) -> str:
    token_url = f"{url}/api/v1/oauth/token"
    response = httpx.post(token_url, data=token_request(CLIENT_ID, key, token_url), timeout=60)
    response.raise_for_status()
    return str(response.json()["access_token"])


def worker_peak_rss(arbiter: int) -> int:
    peaks = [0]
    for child in psutil.Process(arbiter).children(recursive=True):
        for line in Path(f"/proc/{child.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) * 1024)
    return max(peaks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=256, help="package size in MiB (2048: 2 GiB)")
    parser.add_argument("--quick", action="store_true", help="64 MiB")
    args = parser.parse_args()
    if args.quick:
        args.size = 64
    size = args.size * MIB
    with tempfile.TemporaryDirectory(prefix="bench-streaming-") as tmp:
        work = Path(tmp)
        baseline = openssl_baseline(work, size)
        settings = load_settings({}, overrides={"data_dir": work / "data"})
        for _line in initialise(settings, dev_pki=True, demo_authorities=True):
            pass
        key = ECKey.generate_key("P-256")
        request_id, expected = make_available(settings, size, key)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("ROGATORY_")}
        env |= {"ROGATORY_DATA_DIR": str(settings.data_dir), "ROGATORY_HTTP_WORKERS": "1",
                "ROGATORY_LOG_LEVEL": "WARNING"}  # fmt: skip
        server = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--port", str(port)], cwd=REPO, env=env
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("rogatory serve did not start")
                time.sleep(0.2)
            headers = {"Authorization": f"Bearer {token(url, key)}"}
            with httpx.Client(base_url=url, headers=headers, timeout=600) as http:
                lease = http.post(f"/api/v1/inbox/{request_id}/lease").json()["lease_token"]
                digest = hashlib.sha256()
                started = time.perf_counter()
                with (
                    http.stream(
                        "GET", f"/api/v1/requests/{request_id}/package",
                        headers={"Lease-Token": lease},
                    ) as response,
                    (work / "package.p7m").open("wb") as sink,
                ):  # fmt: skip
                    response.raise_for_status()
                    for piece in response.iter_bytes(MIB):
                        digest.update(piece)
                        sink.write(piece)
                elapsed = time.perf_counter() - started
            server_rss = worker_peak_rss(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=60)
            stop_embedded_broker(settings)  # `rogatory serve` started it; it outlives serve
        client_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if digest.hexdigest() != expected:
        raise SystemExit("the retrieved package differs from the stored one")
    ratio = baseline / elapsed
    ok = ratio >= 0.5 and server_rss <= 150 * 10**6 and client_rss <= 150 * 10**6
    print(
        f"openssl enc -aes-256-ctr {args.size} MiB file to file: {size / MIB / baseline:7.1f} MiB/s"
    )
    print(
        f"GET package {args.size} MiB (decrypt from store, HTTP, file): "
        f"{size / MIB / elapsed:7.1f} MiB/s  ratio {ratio:4.2f}  server worker peak RSS "
        f"{server_rss / 10**6:5.0f} MB  client peak RSS {client_rss / 10**6:5.0f} MB  "
        f"[{'ok' if ok else 'BELOW TARGET'}]"
    )
    print("not measured yet: packaging and `rogatory client pull` (still whole in memory)")


if __name__ == "__main__":
    main()
