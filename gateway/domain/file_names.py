"""Attachment names that are safe on every operating system the parties use.

A name travels into ZIP packages, Content-Disposition headers and the counterpart's
disk (Windows included), so it must be a plain file name there too: no separators,
no drive letters or alternate data streams (`:`), no characters Windows refuses, no
reserved device names (CON, NUL, COM1, ...), no trailing dots or spaces (Windows
strips them, so two names collide), no control or bidirectional-override characters
(`invoice\u202egpj.exe` shows as `invoiceexe.jpg`). Any script is fine: Greek,
Cyrillic, Polish and Chinese names are normal here.
"""

from __future__ import annotations

import unicodedata

MAX_NAME_BYTES = 255
_WINDOWS_FORBIDDEN = frozenset('<>:"/\\|?*')
_DEVICES = frozenset(
    {"con", "prn", "aux", "nul", "conin$", "conout$"}
    | {f"com{d}" for d in "123456789\u00b9\u00b2\u00b3"}
    | {f"lpt{d}" for d in "123456789\u00b9\u00b2\u00b3"}
)


def file_name_problem(name: str) -> str | None:
    """Why `name` is not a safe file name, or None when it is."""
    if not name or len(name.encode("utf-8")) > MAX_NAME_BYTES:
        return "a file name has 1-255 bytes"
    if name in {".", ".."}:
        return "a file name cannot be . or .."
    for char in name:
        if char in _WINDOWS_FORBIDDEN:
            return f"a file name cannot contain {char!r} (separators, drive letters, streams)"
        category = unicodedata.category(char)
        if category in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp"):
            return "a file name cannot contain control or bidirectional formatting characters"
    if name[-1] in ". " or name[0] == " ":
        return "a file name cannot start with a space or end with a dot or space"
    stem = name.split(".", 1)[0].rstrip(" ").lower()
    if stem in _DEVICES:
        return f"{stem.upper()} is a reserved device name on Windows"
    return None


def is_safe_file_name(name: str) -> bool:
    return file_name_problem(name) is None
