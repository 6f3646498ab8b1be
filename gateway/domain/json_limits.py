"""JSON parsing with a nesting limit: deep nesting is refused before the parser recurses."""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class JsonTooDeep(ValueError):
    """The document nests arrays/objects deeper than allowed."""


def check_depth(text: str, max_depth: int = MAX_DEPTH) -> None:
    """Raise JsonTooDeep when `text` nests deeper than `max_depth` (strings are skipped)."""
    depth = 0
    for match in _BRACKET.finditer(_STRING.sub("", text)):
        if match.group() in "[{":
            depth += 1
            if depth > max_depth:
                raise JsonTooDeep(f"JSON nested deeper than {max_depth} levels")
        else:
            depth -= 1


def loads(data: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """json.loads after the depth check; raises ValueError (JsonTooDeep included)."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    check_depth(text, max_depth)
    return json.loads(text)
