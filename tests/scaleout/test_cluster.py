"""Two gateway nodes and two workers on PostgreSQL + RabbitMQ (and Redis), no shared disk.

Node A takes the submissions; its gateway and worker are SIGKILLed mid-flow; node B's
worker finishes the pipeline and the counterpart pulls and acknowledges through node B.
Nothing may be lost or applied twice, and the audit log must verify.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from foundation_support import sealed_submission
from process_support import REPO, WorkerProcess, private_redis_url, settings_env, wait_for
from server_support import GatewayProcess

from gateway.audit.entries import decode_entry
from gateway.config import Settings
from gateway.persistence.audit_tables import audit_leaf
from gateway.persistence.db import make_engine
from gateway.persistence.tables import requests
from gateway.runtime.demo import madrid_pull_args

SUBMISSIONS = 2
pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def rabbitmq_vhost(amqp_broker_url: str) -> Iterator[str]:
    """A RabbitMQ virtual host of our own (other tests share '/')."""
    vhost = f"rogatory_cluster_{uuid.uuid4().hex[:10]}"
    ctl = ["rabbitmqctl", "-q"]
    subprocess.run([*ctl, "add_vhost", vhost], check=True, timeout=120, capture_output=True)
    subprocess.run(
        [*ctl, "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
        check=True, timeout=120, capture_output=True,
    )  # fmt: skip
    yield amqp_broker_url.removesuffix("//") + "/" + vhost
    subprocess.run([*ctl, "delete_vhost", vhost], check=False, timeout=120, capture_output=True)


@pytest.fixture
def redis_cluster_broker(redis_broker_url: str) -> str:
    """A Redis database number apart from the ones other tests use at the same time."""
    return private_redis_url("cluster")


def _states(engine: sa.Engine, ids: list[str]) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(requests.c.id, requests.c.state).where(requests.c.id.in_(ids))
        )
        return {row.id: row.state for row in rows}


def _events(engine: sa.Engine) -> dict[str | None, list[str]]:
    events: dict[str | None, list[str]] = collections.defaultdict(list)
    with engine.connect() as conn:
        for (raw,) in conn.execute(sa.select(audit_leaf.c.entry).order_by(audit_leaf.c.idx)):
            entry = decode_entry(bytes(raw))
            events[entry.request_id].append(entry.event)
    return events


def _rogatory(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        cwd=REPO, env=settings_env(settings) | {"ROGATORY_OBJECT_STORE": "postgresql"},
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def _run_cluster(
    make_settings: Callable[..., Settings], database: str, broker: str, tmp_path: Path
) -> None:
    common = {
        "database_url": database,
        "broker_url": broker,
        "object_store": "postgresql",
        "translation_engine": "apertium",
        "broker_visibility_timeout": 10,
    }
    node_a, node_b = make_settings(**common), make_settings(**common)
    assert node_a.data_dir != node_b.data_dir
    env = {"ROGATORY_OBJECT_STORE": "postgresql"}
    gateway_a = GatewayProcess(node_a, tmp_path / "gateway-a.log", env=env)
    gateway_b = GatewayProcess(node_b, tmp_path / "gateway-b.log", env=env)
    worker_a = WorkerProcess(node_a, tmp_path / "worker-a.log")
    worker_b = WorkerProcess(node_b, tmp_path / "worker-b.log")
    engine = make_engine(database)
    try:
        ids = []
        for _ in range(SUBMISSIONS):
            response = httpx.post(
                f"{gateway_a.url}/api/v1/submissions",
                content=sealed_submission(node_a),
                headers={"Content-Type": "application/pkcs7-mime"},
                timeout=60,
            )
            assert response.status_code == 202, response.text
            ids.append(response.json()["request_id"])

        def mid_flow() -> bool:
            states = _states(engine, ids).values()
            return any(s not in ("received", "verified") for s in states)

        wait_for(mid_flow, timeout=180, what="the pipeline to be under way")
        before_kill = _states(engine, ids)
        gateway_a.kill()  # SIGKILL, as a machine losing power
        worker_a.kill()
        print(f"\nnode A killed with requests at {sorted(before_kill.values())}")

        def all_available() -> bool:
            return set(_states(engine, ids).values()) <= {"available"}

        wait_for(all_available, timeout=600, what="node B to finish every request")
        work = tmp_path / "client"
        work.mkdir()
        new_key = _rogatory(
            node_b, "client", "new-key", "--out", str(work / "c.jwk"),
            "--public-out", str(work / "c.pub.jwk"),
        )  # fmt: skip
        assert new_key.returncode == 0, new_key.stderr
        registered = _rogatory(
            node_b, "client", "register-key", "es-fiscalia-madrid", "madrid-client",
            "--jwk-file", str(work / "c.pub.jwk"),
        )  # fmt: skip
        assert registered.returncode == 0, registered.stderr
        pki = node_b.keys_dir / "dev-pki"
        pulled = _rogatory(
            node_b,
            *madrid_pull_args(gateway_b.url, pki, client_key=work / "c.jwk", out=work / "in"),
        )
        assert pulled.returncode == 0, pulled.stdout + pulled.stderr
        assert pulled.stdout.count(": acknowledged") == SUBMISSIONS, pulled.stdout
        assert set(_states(engine, ids).values()) == {"acknowledged"}
        events = _events(engine)
        for request_id in ids:
            counts = collections.Counter(events[request_id])
            assert counts["received"] == 1
            assert counts["translated"] == 1, events[request_id]
            assert counts["rendered"] == 1, events[request_id]
            assert counts["made_available"] == 1, events[request_id]
            assert counts["acknowledged"] == 1, events[request_id]
            assert sorted(os.listdir(work / "in" / request_id))  # files were written
        verified = _rogatory(node_b, "audit", "verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        periodic = collections.Counter(events[None])
        print(f"cluster-wide audit entries (periodic jobs etc.): {dict(periodic)}")
    finally:
        engine.dispose()
        for process in (worker_b, gateway_b, worker_a, gateway_a):
            process.stop()


def test_two_nodes_on_postgresql_and_rabbitmq_survive_losing_node_a_mid_flow(
    make_settings, fresh_postgres_url, rabbitmq_vhost, tmp_path
):
    _run_cluster(make_settings, fresh_postgres_url, rabbitmq_vhost, tmp_path)


def test_two_nodes_on_postgresql_and_redis_survive_losing_node_a_mid_flow(
    make_settings, fresh_postgres_url, redis_cluster_broker, tmp_path
):
    _run_cluster(make_settings, fresh_postgres_url, redis_cluster_broker, tmp_path)
