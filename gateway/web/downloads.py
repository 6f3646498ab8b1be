"""Content-Disposition for any Unicode file name (RFC 6266 + RFC 8187 `filename*`).

Headers are Latin-1 on the wire: a Greek, Cyrillic, Polish or Chinese name goes in
`filename*=UTF-8''<percent-encoded>`, with an ASCII `filename=` fallback for old
clients. Quotes, backslashes and control characters never reach the header.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

MAX_CHARS = 120


def _ascii_fallback(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    chars = [
        c if (c.isascii() and (c.isalnum() or c in "._-")) else "_"
        for c in decomposed
        if not unicodedata.combining(c)
    ]
    return "".join(chars)[:MAX_CHARS].strip("._") or "file"


def attachment_disposition(name: str) -> str:
    """`attachment; filename="ascii"; filename*=UTF-8''utf8` for `name`."""
    cleaned = "".join(c for c in name if unicodedata.category(c)[0] != "C")[:MAX_CHARS]
    cleaned = cleaned.replace("/", "_").replace("\\", "_") or "file"
    fallback = _ascii_fallback(cleaned)
    if cleaned == fallback:
        return f'attachment; filename="{fallback}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(cleaned, safe='')}"
