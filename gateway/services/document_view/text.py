"""Make untrusted text safe to lay out: bounded length, no control characters.

Escaping is Jinja's job; this module only keeps hostile sizes and shapes from
turning one request into an endless layout (validation allows 20,000 characters per
field, so the display limit below is never reached by a valid form).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DISPLAY_LIMIT = 30_000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BLANK_LINES = re.compile(r"\n[ \t\r]*(?:\n[ \t\r]*){2,}")


@dataclass(frozen=True)
class DisplayText:
    text: str
    omitted: int = 0


def display_text(value: object) -> DisplayText:
    """`value` as printable text: runs of blank lines folded, capped at DISPLAY_LIMIT."""
    text = value if isinstance(value, str) else _plain(value)
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = _CONTROL.sub("", text.replace("\r\n", "\n"))
    text = _BLANK_LINES.sub("\n\n", text)
    if len(text) <= DISPLAY_LIMIT:
        return DisplayText(text)
    return DisplayText(text[:DISPLAY_LIMIT], len(text) - DISPLAY_LIMIT)


def short_text(value: object, limit: int = 300) -> str:
    """A one-line value (name, identifier, date) capped at `limit` characters."""
    shown = display_text(value).text.replace("\n", " ")
    return shown if len(shown) <= limit else shown[: limit - 1] + "\u2026"


def _plain(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value)
    return str(value)
