"""What an authority may see of a log range: its own requests in full, others as hashes (pure)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LedgerRecord:
    index: int
    entry: bytes
    leaf_hash: bytes


def entry_parties(entry: bytes) -> tuple[str, ...]:
    obj = json.loads(entry.decode("utf-8"))
    parties = obj.get("parties", []) if isinstance(obj, dict) else []
    return tuple(p for p in parties if isinstance(p, str))


def entries_for_authority(
    records: Iterable[LedgerRecord], authority_id: str
) -> list[dict[str, Any]]:
    """Full entries where ``authority_id`` is issuing or executing party, leaf hashes otherwise."""
    view: list[dict[str, Any]] = []
    for record in records:
        item: dict[str, Any] = {"index": record.index, "leaf_hash": record.leaf_hash.hex()}
        if authority_id in entry_parties(record.entry):
            item["entry"] = record.entry.decode("utf-8")
        view.append(item)
    return view
