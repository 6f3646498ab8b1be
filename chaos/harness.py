"""The chaos suite's machinery: one backend's data directory, real processes, a push
peer that acknowledges, a pausable TCP proxy in front of a shared broker, the tally.

Everything runs on 127.0.0.1; the shared services are never stopped: a "paused
broker" is our own proxy holding its connections, killed database backends are only
those of our own database.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import sqlalchemy as sa
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "foundation")]

from foundation_support import sealed_submission  # noqa: E402
from process_support import GatewayProcess, WorkerProcess, settings_env  # noqa: E402

from gateway.config import Settings, load_settings  # noqa: E402
from gateway.crypto import RecipientKey, TrustConfig, decrypt_envelope, sign, verify_signed  # noqa: E402
from gateway.crypto.keyfiles import load_certificate, load_crl, load_private_key  # noqa: E402
from gateway.persistence import exchange_store  # noqa: E402
from gateway.persistence.db import make_engine, transaction  # noqa: E402
from gateway.persistence.tables import authorities, requests  # noqa: E402
from gateway.runtime.broker import stop_embedded_broker  # noqa: E402
from gateway.runtime.setup import initialise  # noqa: E402
from gateway.services import exchange  # noqa: E402

POSTGRES_ADMIN = "postgresql://127.0.0.1:5432/test"
REDIS = "redis://127.0.0.1:6379"
AMQP = "amqp://guest:guest@127.0.0.1:5672"
EXECUTING = "es-fiscalia-madrid"
logging.getLogger("werkzeug").setLevel(logging.WARNING)
FINAL = {"acknowledged"}


class PushPeer:
    """The counterpart's endpoint: decrypts, checks, acknowledges; counts every delivery."""

    def __init__(self, pki: Path) -> None:
        self.pki = pki
        self.received: Counter[str] = Counter()
        self.trust = TrustConfig(
            anchors=[load_certificate(pki / "ca.pem")], crls=[load_crl(pki / "ca.crl.pem")]
        )
        key = load_private_key(pki / "authority-b-enc.key")
        self.recipient = RecipientKey(key, load_certificate(pki / "authority-b-enc.pem"))  # type: ignore[arg-type]
        self.sign_key = load_private_key(pki / "authority-b-sign.key")
        self.sign_cert = load_certificate(pki / "authority-b-sign.pem")
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self, threaded=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_port}/inbox"

    def __call__(self, environ: Any, start_response: Any) -> Any:
        request = Request(environ)
        manifest = self.manifest_of(request.get_data())
        with self._lock:
            self.received[manifest["request_id"]] += 1
        signed = self.acknowledgement(manifest["request_id"], manifest["message_sha256"])
        return Response(signed, mimetype="application/pkcs7-mime")(environ, start_response)

    def manifest_of(self, package: bytes) -> dict[str, Any]:
        """Decrypt and verify a sealed package as the counterpart does; its manifest."""
        sealed = decrypt_envelope(package, [self.recipient])
        archive = verify_signed(sealed, self.trust, now=datetime.now(UTC)).content
        with zipfile.ZipFile(io.BytesIO(archive)) as opened:
            manifest: dict[str, Any] = json.loads(opened.read("manifest.json"))
        return manifest

    def acknowledgement(self, request_id: str, message_sha256: str) -> bytes:
        """The counterpart's signed acknowledgement of one package."""
        ack = exchange.acknowledgement_content(request_id, message_sha256, datetime.now(UTC))
        return sign(ack, self.sign_key, self.sign_cert)  # type: ignore[arg-type]

    def close(self) -> None:
        self._server.shutdown()


class PausableProxy:
    """TCP proxy to a shared broker; `pause()` stops all traffic without closing sockets."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.running = threading.Event()
        self.running.set()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                self.running.wait()
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.close()

    def pause(self) -> None:
        self.running.clear()

    def resume(self) -> None:
        self.running.set()

    def close(self) -> None:
        self.running.set()
        self.listener.close()
        for s in self.sockets:
            with contextlib.suppress(OSError):
                s.close()


@dataclass
class Tally:
    """What the client saw, per message id."""

    submitted: set[str] = field(default_factory=set)
    accepted: dict[str, str] = field(default_factory=dict)  # message id -> request id
    receipts: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    statuses: Counter[int] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, message_id: str, response: httpx.Response) -> None:
        with self.lock:
            self.statuses[response.status_code] += 1
            if response.status_code == 202:
                body = response.json()
                self.accepted[message_id] = body["request_id"]
                self.receipts[message_id].add(body["receipt"]["sha256"])


@dataclass
class Backend:
    name: str
    settings: Settings
    workdir: Path
    peer: PushPeer
    proxy: PausableProxy | None = None
    workers: list[WorkerProcess] = field(default_factory=list)
    gateways: list[GatewayProcess] = field(default_factory=list)
    database: str | None = None
    vhost: str | None = None

    @property
    def engine(self) -> sa.Engine:
        if not hasattr(self, "_engine"):
            self._engine = make_engine(self.settings.database_url)
        return self._engine

    def start_worker(self, *, beat: bool = True) -> WorkerProcess:
        log = self.workdir / f"worker-{len(self.workers)}.log"
        worker = WorkerProcess(self.settings, log, beat=beat)
        self.workers.append(worker)
        return worker

    def start_gateway(self, port: int | None = None) -> GatewayProcess:
        log = self.workdir / f"gateway-{len(self.gateways)}.log"
        gateway = GatewayProcess(self.settings, log, port=port)
        self.gateways.append(gateway)
        return gateway

    def submission(self, message_id: str | None = None) -> tuple[str, bytes]:
        message_id = message_id or f"chaos-{uuid.uuid4().hex}"
        return message_id, sealed_submission(self.settings, message_id=message_id)

    def states(self) -> dict[str, str]:
        with transaction(self.engine) as conn:
            rows = conn.execute(sa.select(requests.c.id, requests.c.state)).all()
        return {row.id: row.state for row in rows}

    def acceptance_evidences(self) -> Counter[str]:
        return self.evidences("SubmissionAcceptance")

    def evidences(self, kind: str) -> Counter[str]:
        """How many evidences of `kind` each request has."""
        counts: Counter[str] = Counter()
        request_ids = list(self.states())
        with transaction(self.engine) as conn:
            for request_id in request_ids:
                for row in exchange_store.evidences_of(conn, request_id):
                    if row.kind == kind:
                        counts[request_id] += 1
        return counts

    def set_push_endpoint(self, url: str | None) -> None:
        """Point the executing authority at our push peer, or (None) make it pull only."""
        with transaction(self.engine) as conn:
            conn.execute(
                authorities.update().where(authorities.c.id == EXECUTING).values(push_endpoint=url)
            )

    def add_api_client(self, client_id: str, jwk: dict[str, Any]) -> None:
        """Register an exchange API client (private_key_jwt) for the executing authority."""
        with transaction(self.engine) as conn:
            exchange_store.add_client(conn, client_id, EXECUTING, jwk)

    def terminate_own_backends(self) -> int:
        """pg_terminate_backend for every session of OUR database but this one."""
        if self.database is None:
            return 0
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (self.database,),
            ).fetchall()
        return len(rows)

    def stop(self) -> None:
        for process in [*self.gateways, *self.workers]:
            try:
                process.stop()
            except Exception as exc:  # already dead (killed by an experiment)
                print(f"stop: {exc!r}", file=sys.stderr)
        self.gateways.clear()
        self.workers.clear()

    def close(self) -> None:
        self.stop()
        if hasattr(self, "_engine"):
            self._engine.dispose()
        self.peer.close()
        if self.proxy is not None:
            self.proxy.close()
        stop_embedded_broker(self.settings)
        if self.vhost is not None:
            _rabbitmqctl("delete_vhost", self.vhost)
        if self.database is not None:
            with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


def make_backend(name: str, root: Path, keys_template: Path, **overrides: Any) -> Backend:
    workdir = root / f"{name}-{uuid.uuid4().hex[:6]}"
    data_dir = workdir / "data"
    workdir.mkdir(parents=True)
    shutil.copytree(keys_template, data_dir / "keys")
    values: dict[str, Any] = {"data_dir": str(data_dir), "translation_engine": "apertium"}
    values.update(overrides)
    database = proxy = None
    if name != "embedded":
        database = f"rogatory_chaos_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
        values["database_url"] = f"postgresql://127.0.0.1:5432/{database}"
        if name.endswith("redis"):
            proxy = PausableProxy("127.0.0.1", 6379)
            values["broker_url"] = f"redis://127.0.0.1:{proxy.port}/{9 + uuid.uuid4().int % 6}"
        else:
            proxy = PausableProxy("127.0.0.1", 5672)
            vhost = f"rogatory_chaos_{uuid.uuid4().hex[:8]}"
            _rabbitmqctl("add_vhost", vhost)
            _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
            values["broker_url"] = f"amqp://guest:guest@127.0.0.1:{proxy.port}/{vhost}"
    settings = load_settings({}, overrides=values)
    for _ in initialise(settings, dev_pki=False, demo_authorities=True):
        pass
    peer = PushPeer(settings.keys_dir / "dev-pki")
    engine = make_engine(settings.database_url)
    with transaction(engine) as conn:
        conn.execute(
            authorities.update().where(authorities.c.id == EXECUTING).values(push_endpoint=peer.url)
        )
    engine.dispose()
    backend = Backend(name, settings, workdir, peer, proxy, database=database)
    if name.endswith("rabbitmq"):
        backend.vhost = vhost
    if settings.embedded_broker:
        from gateway.runtime.broker import ensure_embedded_broker

        ensure_embedded_broker(settings)
    return backend


def _rabbitmqctl(*args: str) -> None:
    """Our own vhost on the shared RabbitMQ (created and deleted by us only)."""
    subprocess.run(["/usr/sbin/rabbitmqctl", *args], check=True, capture_output=True, timeout=60)  # noqa: S603


def make_keys_template(root: Path) -> Path:
    data_dir = root / "keys-template"
    settings = load_settings({}, overrides={"data_dir": str(data_dir)})
    for _ in initialise(settings, dev_pki=True, demo_authorities=False):
        pass
    return settings.keys_dir


def post(url: str, body: bytes, *, timeout: float = 120) -> httpx.Response:
    return httpx.post(
        f"{url}/api/v1/submissions",
        content=body,
        headers={"Content-Type": "application/pkcs7-mime"},
        timeout=timeout,
    )


def submit_with_retries(
    tally: Tally, url_of: Any, message_id: str, body: bytes, *, deadline: float = 300
) -> None:
    """A client that retries the same bytes on connection errors and 5xx (never 507)."""
    tally.submitted.add(message_id)
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            response = post(url_of(), body)
        except httpx.HTTPError:
            time.sleep(0.5)
            continue
        tally.record(message_id, response)
        if response.status_code < 500 or response.status_code == 507:
            return
        time.sleep(0.5)


def env_of(settings: Settings) -> dict[str, str]:
    return settings_env(settings)
