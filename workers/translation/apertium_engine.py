"""Apertium (Debian packages) behind the Translator port, as a bounded subprocess.

Rule-based output is readable, which makes it the engine for demos and for checking that
placeholders survive a real MT system. Unknown-word marks (`*word`) are stripped and flagged.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from gateway.translation.ports import Leg, TranslatedText, TranslationFailed

MODES_DIR = Path("/usr/share/apertium/modes")
_ISO3_TO_1 = {
    "eng": "en",
    "spa": "es",
    "cat": "ca",
    "fra": "fr",
    "por": "pt",
    "ita": "it",
    "deu": "de",
    "nld": "nl",
    "ron": "ro",
    "glg": "gl",
    "oci": "oc",
    "eus": "eu",
    "dan": "da",
    "swe": "sv",
    "nob": "nb",
    "pol": "pl",
}
_ISO1_TO_3 = {v: k for k, v in _ISO3_TO_1.items()}
_UNKNOWN_MARK = re.compile(r"(?<![\w\]])([*#@])(?=\w)")


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
        if (source, target) not in self.pairs():
            raise TranslationFailed(f"no Apertium pair {source}->{target}", code="unsupported-pair")
        direction = f"{_ISO1_TO_3[source]}-{_ISO1_TO_3[target]}"
        model, version, sha = self._describe(direction)
        lines = [line for text in texts for line in text.split("\n")]
        out_lines = self._run(direction, lines) if lines else []
        results = []
        cursor = 0
        leg = Leg(source, target, model, sha)
        for text in texts:
            count = text.count("\n") + 1
            chunk = out_lines[cursor : cursor + count]
            cursor += count
            flags = ("unknown-words",) if any(_UNKNOWN_MARK.search(x) for x in chunk) else ()
            cleaned = "\n".join(_UNKNOWN_MARK.sub("", x) for x in chunk)
            results.append(TranslatedText(cleaned, self.name, model, version, sha, (leg,), flags))
        return results

    def _run(self, direction: str, lines: list[str]) -> list[str]:
        # One input line per text line; Apertium keeps line structure in txt format.
        payload = "".join(line.replace("\r", " ") + "\n" for line in lines).encode("utf-8")
        if len(payload) > self.max_input_bytes:
            raise TranslationFailed("input too large for one Apertium call", code="input-too-large")
        try:
            completed = subprocess.run(  # noqa: S603 - fixed argument list, no shell
                [self.executable, "-f", "txt", direction],
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
        output = completed.stdout.decode("utf-8", errors="replace").split("\n")
        if output and output[-1] == "":
            output.pop()
        if len(output) != len(lines):
            raise TranslationFailed("Apertium changed the line structure", code="engine-error")
        return output

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
