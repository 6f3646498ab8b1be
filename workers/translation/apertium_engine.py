"""Apertium (Debian packages) behind the Translator port, as a bounded subprocess.

Rule-based output is readable, which makes it the engine for demos and for checking that
placeholders survive a real MT system. Every line is an isolated segment (see
apertium_stream); unknown-word marks (`*`, `#`, `@`) are stripped, counted and listed.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from gateway.translation.engine_pairs import APERTIUM_ISO3_TO_1
from gateway.translation.ports import Leg, TranslatedText, TranslationFailed
from workers.translation.apertium_stream import (
    IsolationBroken,
    StreamOutput,
    build_stream,
    parse_stream,
)

log = logging.getLogger(__name__)

MODES_DIR = Path("/usr/share/apertium/modes")
_ISO3_TO_1 = APERTIUM_ISO3_TO_1
_ISO1_TO_3 = {v: k for k, v in _ISO3_TO_1.items()}


class ApertiumEngine:
    name = "apertium"

    def __init__(
        self,
        *,
        executable: str = "apertium",
        timeout_seconds: float = 120.0,
        max_input_bytes: int = 4 * 1024 * 1024,
        modes_dir: Path = MODES_DIR,
    ) -> None:
        resolved = shutil.which(executable)
        if resolved is None:
            raise TranslationFailed("apertium is not installed", code="engine-unavailable")
        self.executable = resolved
        self.timeout_seconds = timeout_seconds
        self.max_input_bytes = max_input_bytes
        self.modes_dir = modes_dir
        self._descriptions: dict[str, tuple[str, str, str]] = {}

    def pairs(self) -> set[tuple[str, str]]:
        pairs = set()
        for mode in self.modes_dir.glob("*.mode"):
            parts = mode.stem.split("-")
            if len(parts) == 2 and parts[0] in _ISO3_TO_1 and parts[1] in _ISO3_TO_1:
                pairs.add((_ISO3_TO_1[parts[0]], _ISO3_TO_1[parts[1]]))
        return pairs

    def translate_batch(
        self, texts: Sequence[str], source: str, target: str
    ) -> list[TranslatedText]:
        """One call for all lines of all texts, each line its own isolated segment."""
        if (source, target) not in self.pairs():
            raise TranslationFailed(f"no Apertium pair {source}->{target}", code="unsupported-pair")
        direction = f"{_ISO1_TO_3[source]}-{_ISO1_TO_3[target]}"
        model, version, sha = self._describe(direction)
        lines = [line for text in texts for line in text.split("\n")]
        wanted = [i for i, line in enumerate(lines) if line.strip()]
        outputs = self._isolated(direction, [lines[i] for i in wanted])
        by_line: dict[int, StreamOutput] = dict(zip(wanted, outputs, strict=True))
        results = []
        cursor = 0
        leg = Leg(source, target, model, sha)
        for text in texts:
            count = text.count("\n") + 1
            parts, unknown, removed = [], [], 0
            for index in range(cursor, cursor + count):
                found = by_line.get(index)
                if found is None:
                    parts.append(lines[index])
                    continue
                parts.append(_same_edges(lines[index], found.text))
                unknown.extend(found.unknown_words)
                removed += found.marks_removed
            cursor += count
            flags = ("unknown-words",) if removed else ()
            results.append(
                TranslatedText(
                    "\n".join(parts),
                    self.name,
                    model,
                    version,
                    sha,
                    (leg,),
                    flags,
                    tuple(dict.fromkeys(unknown)),
                    removed,
                )
            )
        return results

    def _isolated(self, direction: str, lines: list[str]) -> list[StreamOutput]:
        """All lines in one call; if the boundaries do not come back intact, one at a time."""
        if not lines:
            return []
        try:
            return self._call(direction, lines)
        except IsolationBroken:
            log.warning("apertium segment boundaries broken; retrying one segment at a time")
        outputs = []
        for line in lines:
            try:
                outputs.extend(self._call(direction, [line]))
            except IsolationBroken:
                raise TranslationFailed(
                    "Apertium output lost a segment boundary", code="isolation-broken"
                ) from None
        return outputs

    def _call(self, direction: str, lines: list[str]) -> list[StreamOutput]:
        stream, nonce = build_stream(lines)
        return parse_stream(self._run(direction, stream), nonce, len(lines), lines)

    def _run(self, direction: str, stream: str) -> str:
        payload = stream.encode("utf-8")
        if len(payload) > self.max_input_bytes:
            raise TranslationFailed("input too large for one Apertium call", code="input-too-large")
        try:
            completed = subprocess.run(  # noqa: S603 - fixed argument list, no shell
                [self.executable, "-f", "none", direction],
                input=payload,
                capture_output=True,
                timeout=self.timeout_seconds,
                check=False,
                env={"LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "PATH": "/usr/bin:/bin"},
            )
        except subprocess.TimeoutExpired:
            raise TranslationFailed("Apertium timed out", code="engine-timeout") from None
        if completed.returncode != 0:
            raise TranslationFailed(
                f"Apertium exited with {completed.returncode}", code="engine-error"
            )
        return completed.stdout.decode("utf-8", errors="replace")

    def _describe(self, direction: str) -> tuple[str, str, str]:
        """("<package> <Debian version>", Debian version, SHA-256 of the pair's data files)."""
        if direction not in self._descriptions:
            iso = direction.split("-")
            package = f"apertium-{iso[0]}-{iso[1]}"
            data = Path("/usr/share/apertium") / package
            if not data.is_dir():
                package = f"apertium-{iso[1]}-{iso[0]}"
                data = Path("/usr/share/apertium") / package
            version = _debian_version(package)
            digest = hashlib.sha256()
            for file in sorted(data.glob(f"{direction}*")):
                digest.update(file.name.encode())
                digest.update(hashlib.sha256(file.read_bytes()).digest())
            self._descriptions[direction] = (f"{package} {version}", version, digest.hexdigest())
        return self._descriptions[direction]


def _debian_version(package: str) -> str:
    dpkg = shutil.which("dpkg-query")
    if dpkg is None:
        return "unknown"
    completed = subprocess.run(  # noqa: S603 - fixed argument list, no shell
        [dpkg, "-W", "-f", "${Version}", package],
        capture_output=True,
        timeout=10,
        check=False,
    )
    return completed.stdout.decode().strip() or "unknown"


def _same_edges(source: str, translated: str) -> str:
    """Keep the source line's leading and trailing whitespace (indentation, list layout)."""
    lead = source[: len(source) - len(source.lstrip())]
    trail = source[len(source.rstrip()) :]
    return lead + translated.strip() + trail
