"""Shared fixtures: real services (PostgreSQL, Redis, RabbitMQ), data dirs, worker processes.

A service these tests need that is not running fails the test loudly; nothing skips.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import redis
from process_support import GatewayProcess, WorkerProcess, private_redis_url

from gateway.config import Settings, load_settings
from gateway.runtime.broker import stop_embedded_broker
from gateway.runtime.setup import initialise

POSTGRES_ADMIN = "postgresql://127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379"
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672//"
REPO = Path(__file__).resolve().parents[1]


def _require(service: str, check: Callable[[], object]) -> None:
    try:
        check()
    except Exception as exc:  # any failure to reach it is a broken test environment
        pytest.fail(f"{service} is required by this test and is not reachable: {exc}")


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this session, dropped afterwards."""
    name = f"rogatory_test_{uuid.uuid4().hex[:10]}"
    _require("PostgreSQL at 127.0.0.1:5432", lambda: psycopg.connect(POSTGRES_ADMIN).close())
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql://127.0.0.1:5432/{name}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def fresh_postgres_url() -> Iterator[str]:
    """A PostgreSQL database of its own for one test (migration tests start from empty)."""
    name = f"rogatory_mig_{uuid.uuid4().hex[:10]}"
    _require("PostgreSQL at 127.0.0.1:5432", lambda: psycopg.connect(POSTGRES_ADMIN).close())
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql://127.0.0.1:5432/{name}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def redis_broker_url() -> str:
    client = redis.Redis.from_url(f"{REDIS_URL}/0")
    _require("Redis at 127.0.0.1:6379", client.ping)
    client.close()
    return private_redis_url("broker")


@pytest.fixture(scope="session")
def amqp_broker_url() -> str:
    from kombu import Connection

    def connect() -> None:
        with Connection(AMQP_URL, connect_timeout=5) as conn:
            conn.connect()

    _require("RabbitMQ at 127.0.0.1:5672", connect)
    return AMQP_URL


@pytest.fixture(scope="session")
def keys_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One development PKI per session (RSA key generation is slow); copied per data dir."""
    data_dir = tmp_path_factory.mktemp("keys-template")
    settings = load_settings({}, overrides={"data_dir": str(data_dir)})
    for _ in initialise(settings, dev_pki=True, demo_authorities=False):
        pass
    return settings.keys_dir


@pytest.fixture
def make_settings(
    tmp_path_factory: pytest.TempPathFactory, keys_template: Path
) -> Iterator[Callable[..., Settings]]:
    """Settings for a new, initialised data directory (demo authorities registered)."""

    made: list[Settings] = []

    def make(**overrides: object) -> Settings:
        data_dir = tmp_path_factory.mktemp("data")
        shutil.copytree(keys_template, data_dir / "keys")
        settings = load_settings({}, overrides={"data_dir": str(data_dir), **overrides})
        for _ in initialise(settings, dev_pki=False, demo_authorities=True):
            pass
        made.append(settings)
        return settings

    yield make
    for settings in made:
        stop_embedded_broker(settings)


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    workers: list[WorkerProcess] = []

    def start(settings: Settings, *, beat: bool = True, queues: str | None = None) -> WorkerProcess:
        log_path = tmp_path / f"worker-{len(workers)}.log"
        worker = WorkerProcess(settings, log_path, beat=beat, queues=queues)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()  # also closes the log of a worker that died by itself


@pytest.fixture
def start_gateway(tmp_path: Path) -> Iterator[Callable[..., GatewayProcess]]:
    gateways: list[GatewayProcess] = []

    def start(settings: Settings) -> GatewayProcess:
        gateway = GatewayProcess(settings, tmp_path / f"gateway-{len(gateways)}.log")
        gateways.append(gateway)
        return gateway

    yield start
    for gateway in gateways:
        gateway.stop()
