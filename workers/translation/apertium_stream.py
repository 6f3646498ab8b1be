"""Apertium stream format for many segments in one call without any chance of merging them.

Plain-text mode (`-f txt`) treats a single newline as a blank inside a sentence, so
transfer rules move words across it (measured: "a red\\ncar" -> "un coche\\nrojo"), and
`-z` on this machine's Apertium 3.8 translates NUL-separated input but writes no NUL back.
Instead each segment is escaped like `apertium-destxt` does and closed with a sentence end
`.[]` plus a superblank carrying a numbered marker. Superblanks pass through every stage
verbatim, so the output shows the count and order of segments; anything else is a break.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

_ESCAPED = frozenset("\\[]^$/<>@{}")
_MARK_CHARS = frozenset("*#@")


class IsolationBroken(Exception):
    """The engine output does not show every segment boundary, once and in order."""


@dataclass(frozen=True)
class StreamOutput:
    text: str
    unknown_words: tuple[str, ...]
    marks_removed: int


def escape(text: str) -> str:
    return "".join("\\" + ch if ch in _ESCAPED else ch for ch in text)


def build_stream(segments: list[str]) -> tuple[str, str]:
    """(stream, nonce): each segment, its sentence end `.[]` and its boundary superblank."""
    nonce = secrets.token_hex(6)
    parts = []
    for index, segment in enumerate(segments):
        flat = segment.replace("\r", " ").replace("\n", " ")
        parts.append(f"{escape(flat)}.[][{_marker(nonce, index)}]")
    return "".join(parts) + "\n", nonce


def parse_stream(output: str, nonce: str, count: int, sources: list[str]) -> list[StreamOutput]:
    """Split engine output at the boundary markers; raise IsolationBroken on any surprise."""
    pieces: list[list[str]] = [[]]
    marks: list[list[str]] = [[]]
    closed: list[bool] = [False]
    boundaries = 0
    i, n = 0, len(output)
    while i < n:
        ch = output[i]
        if ch == "\\" and i + 1 < n:
            pieces[-1].append(output[i + 1])
            i += 2
            continue
        if ch == "[":
            end, content = _superblank(output, i)
            i = end
            if content == "":
                current = pieces[-1]
                while current and current[-1] == " ":
                    current.pop()
                if current and current[-1] == "." and not closed[-1]:
                    current.pop()
                    closed[-1] = True
                continue
            if content == _marker(nonce, boundaries):
                if not closed[-1]:
                    raise IsolationBroken(f"segment {boundaries} lost its sentence end")
                boundaries += 1
                pieces.append([])
                marks.append([])
                closed.append(False)
                continue
            if content.startswith("rogatory-seg-"):
                raise IsolationBroken("segment boundary out of order")
            pieces[-1].append(content)
            continue
        if ch in _MARK_CHARS and i + 1 < n and (output[i + 1].isalnum()):
            previous = pieces[-1][-1] if pieces[-1] else " "
            if not previous.isalnum():
                word = _word_at(output, i + 1)
                source = sources[boundaries] if boundaries < len(sources) else ""
                if ch + word not in source:
                    marks[-1].append(ch + word)
                    i += 1
                    continue
        pieces[-1].append(ch)
        i += 1
    if boundaries != count or "".join(pieces[-1]).strip():
        raise IsolationBroken(f"expected {count} segment boundaries, found {boundaries}")
    results = []
    for index in range(count):
        text = "".join(pieces[index]).strip()
        found = marks[index]
        unknown = tuple(dict.fromkeys(m[1:] for m in found if m[0] in "*@"))
        results.append(StreamOutput(text, unknown, len(found)))
    return results


def _marker(nonce: str, index: int) -> str:
    return f"rogatory-seg-{nonce}-{index}"


def _superblank(text: str, start: int) -> tuple[int, str]:
    content: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            content.append(text[i + 1])
            i += 2
            continue
        if ch == "]":
            return i + 1, "".join(content)
        content.append(ch)
        i += 1
    raise IsolationBroken("unterminated superblank")


_WORD = re.compile(r"[\w'\-]+")


def _word_at(text: str, start: int) -> str:
    match = _WORD.match(text, start)
    return match.group(0) if match else ""
