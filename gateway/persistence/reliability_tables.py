"""Tables for running once per cluster: periodic job leases."""

from __future__ import annotations

import sqlalchemy as sa

from gateway.persistence.metadata import metadata

periodic_jobs = sa.Table(
    "periodic_jobs",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("holder", sa.String(200), nullable=False),
    sa.Column("runs", sa.Integer, nullable=False, default=0),
)
