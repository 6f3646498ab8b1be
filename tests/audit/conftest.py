"""Fixtures: one engine per backend (SQLite file, fresh PostgreSQL database), keys, and a
real HTTP gateway per backend for the log API."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from audit_http_support import LogGateway, serve_gateway
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, create_engine

from gateway.config import Settings
from gateway.persistence.audit_tables import AUDIT_TABLES
from gateway.persistence.metadata import metadata

PG_ADMIN_DSN = "host=127.0.0.1 port=5432 dbname=test user=postgres"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this run; a down server fails loudly."""
    name = f"audit_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'audit.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = create_engine(db_url)
    metadata.drop_all(engine, tables=AUDIT_TABLES)
    metadata.create_all(engine, tables=AUDIT_TABLES)
    try:
        yield engine
    finally:
        metadata.drop_all(engine, tables=AUDIT_TABLES)
        engine.dispose()


@pytest.fixture(scope="session")
def log_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(params=["sqlite", "postgresql"])
def log_gateway(
    request: pytest.FixtureRequest, make_settings: Callable[..., Settings]
) -> Iterator[LogGateway]:
    """A real gateway over HTTP (its own data dir and database) on each backend."""
    overrides: dict[str, object] = {}
    if request.param == "postgresql":
        overrides["database_url"] = request.getfixturevalue("fresh_postgres_url")
    with serve_gateway(make_settings(**overrides)) as gateway:
        yield gateway
