"""Alembic migrations upgrade from empty, downgrade to empty and match the models (no drift)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from gateway.persistence import migrations
from gateway.persistence import tables as _tables  # noqa: F401
from gateway.persistence.db import make_engine
from gateway.persistence.metadata import metadata


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
    return str(request.getfixturevalue("fresh_postgres_url"))


def _tables_in(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_check_and_downgrade_round_trip(empty_database: str) -> None:
    migrations.upgrade(empty_database)
    assert _tables_in(empty_database) == set(metadata.tables)
    migrations.check(empty_database)  # raises if the models drifted from the migrations
    migrations.downgrade(empty_database, "base")
    assert _tables_in(empty_database) == set()
    migrations.upgrade(empty_database)
    assert _tables_in(empty_database) == set(metadata.tables)
