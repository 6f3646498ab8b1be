"""Alembic environment: runs on the connection or URL handed over by gateway.persistence."""

from __future__ import annotations

from alembic import context

from gateway.persistence import tables as _tables  # noqa: F401  (registers every table)
from gateway.persistence.db import make_engine
from gateway.persistence.metadata import metadata

config = context.config


def _run(connection: object) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies tables
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as new_connection:
        _run(new_connection)
    engine.dispose()
