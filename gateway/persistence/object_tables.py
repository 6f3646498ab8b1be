"""Ciphertext of encrypted objects kept in the database (ROGATORY_OBJECT_STORE=postgresql).

Rows hold only at-rest ciphertext (gateway.crypto.at_rest v1 stream) cut into pieces;
the data key that opens them lives in `data_keys`, so a row alone is noise.
"""

from __future__ import annotations

import sqlalchemy as sa

from gateway.persistence.metadata import metadata

object_chunks = sa.Table(
    "object_chunks",
    metadata,
    # no foreign key: chunks are written before the object's row, outside its transaction
    sa.Column("object_id", sa.String(36), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
)
