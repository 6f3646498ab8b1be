"""Structural pre-check of BER/DER input before any ASN.1 library sees it.

Rejects (as ``malformed``) empty input, oversize input, trailing bytes, lengths
that run past their container, and nesting deeper than ``max_depth``. Runs in
time linear in the input and allocates nothing proportional to declared lengths,
so length bombs and deep nesting are refused cheaply.
"""

from __future__ import annotations

from typing import Final

from gateway.crypto.errors import MALFORMED, CryptoError

DEFAULT_MAX_DEPTH: Final = 40
_MAX_LENGTH_OCTETS: Final = 8
_MAX_TAG_OCTETS: Final = 4


def _malformed(detail: str) -> CryptoError:
    return CryptoError(MALFORMED, detail)


def check_ber_structure(data: bytes, *, max_size: int, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
    """Raise ``CryptoError(malformed)`` unless ``data`` is exactly one well-formed BER element."""
    if not data:
        raise _malformed("empty input")
    if len(data) > max_size:
        raise _malformed(f"input of {len(data)} bytes exceeds the {max_size} byte limit")
    end = _check_element(memoryview(data), 0, len(data), 0, max_depth)
    if end != len(data):
        raise _malformed(f"{len(data) - end} trailing bytes after the outer element")


def parse_header(data: memoryview, pos: int, end: int) -> tuple[int, bool, int | None, int]:
    """Parse one identifier + length header: (tag number, constructed, length or None, next)."""
    if pos >= end:
        raise _malformed("truncated: missing tag")
    first = data[pos]
    pos += 1
    constructed = bool(first & 0x20)
    tag = first & 0x1F
    if tag == 0x1F:
        tag = 0
        for count in range(_MAX_TAG_OCTETS + 1):
            if pos >= end:
                raise _malformed("truncated: high tag number")
            if count == _MAX_TAG_OCTETS:
                raise _malformed("tag number too long")
            octet = data[pos]
            pos += 1
            tag = (tag << 7) | (octet & 0x7F)
            if not octet & 0x80:
                break
    tag |= (first & 0xC0) << 24  # keep the class bits apart from the number
    if pos >= end:
        raise _malformed("truncated: missing length")
    octet = data[pos]
    pos += 1
    if octet < 0x80:
        return tag, constructed, octet, pos
    if octet == 0x80:
        if not constructed:
            raise _malformed("indefinite length on a primitive element")
        return tag, constructed, None, pos
    count = octet & 0x7F
    if count > _MAX_LENGTH_OCTETS:
        raise _malformed("length field too long")
    if pos + count > end:
        raise _malformed("truncated: length octets")
    length = int.from_bytes(data[pos : pos + count], "big")
    return tag, constructed, length, pos + count


def _check_element(data: memoryview, pos: int, end: int, depth: int, max_depth: int) -> int:
    if depth > max_depth:
        raise _malformed(f"nesting deeper than {max_depth}")
    if pos < end and data[pos] == 0:
        raise _malformed("unexpected end-of-contents marker")
    _tag, constructed, length, pos = parse_header(data, pos, end)
    if length is not None:
        content_end = pos + length
        if content_end > end:
            raise _malformed("declared length runs past the end of its container")
        if constructed:
            while pos < content_end:
                pos = _check_element(data, pos, content_end, depth + 1, max_depth)
        return content_end
    while True:
        if pos + 2 <= end and data[pos] == 0 and data[pos + 1] == 0:
            return pos + 2
        if pos >= end:
            raise _malformed("truncated: missing end-of-contents")
        pos = _check_element(data, pos, end, depth + 1, max_depth)
