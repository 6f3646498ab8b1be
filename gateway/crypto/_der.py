"""A minimal DER writer: definite-length TLVs with one-byte tags, assembled as lists of
pieces so a large value is copied once, when the caller joins them."""

from __future__ import annotations

from collections.abc import Sequence

OCTET_STRING = 0x04
UTC_TIME = 0x17
GENERALIZED_TIME = 0x18
SEQUENCE = 0x30
SET = 0x31
CONTEXT_0 = 0xA0  # [0], constructed


def header(tag: int, size: int) -> bytes:
    """Tag and definite length of a value of ``size`` bytes."""
    if size < 0x80:
        return bytes((tag, size))
    raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(raw))) + raw


def wrap(tag: int, pieces: Sequence[bytes]) -> list[bytes]:
    """``pieces`` (the value, in parts) under a header of ``tag``."""
    return [header(tag, sum(map(len, pieces))), *pieces]


def tlv(tag: int, *pieces: bytes) -> bytes:
    """One TLV of ``tag`` over the concatenated ``pieces``."""
    return b"".join(wrap(tag, pieces))
