"""Merkle audit log: pure tree, checkpoint and proof code plus the database ledger."""
