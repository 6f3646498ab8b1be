"""Ciphertext of encrypted objects kept in the database.

- `object_chunks`: every object of the postgresql store (ROGATORY_OBJECT_STORE=postgresql),
  cut into pieces, each piece's transaction committed by the object's writer.
- `inline_objects`: small objects prepared from bytes in memory (blobs.INLINE_LIMIT),
  whatever the store, written in the transaction that records the object's row.

Rows hold only at-rest ciphertext (gateway.crypto.at_rest v1 stream); the data key that
opens them lives in `data_keys`, so a row alone is noise.
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

inline_objects = sa.Table(
    "inline_objects",
    metadata,
    # no foreign key, as for the chunks: shredding deletes the data key, then this row
    sa.Column("object_id", sa.String(36), primary_key=True),
    sa.Column("data", sa.LargeBinary, nullable=False),
)
