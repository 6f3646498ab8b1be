"""argostranslate packages behind the Translator port, loaded once per worker process.

Argos' own `translate()` calls CTranslate2 once per paragraph with a 32-token batch. Here
every sentence of every segment of a request goes into one CTranslate2 `translate_batch`
(token-sized sub-batches), using the package's own sentencepiece tokenizer and model.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.translation.ports import Leg, TranslatedText, TranslationFailed
from workers.translation.argos_env import prepare_argos_environment

PIVOT = "en"
INSTALL_RECORD = "rogatory-install.json"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]*[A-Z0-9\u00c0-\u00dd])")
_ABBREVIATIONS = ("no.", "nr.", "art.", "arts.", "p.", "pp.", "e.g.", "i.e.", "cf.", "vs.", "st.")


@dataclass(frozen=True)
class EngineSettings:
    data_dir: Path
    inter_threads: int = 1
    intra_threads: int = 0  # 0: CTranslate2 picks
    beam_size: int = 4
    max_batch_tokens: int = 4096
    max_sentence_tokens: int = 400
    max_decoding_length: int = 512
    compute_type: str = "auto"


@dataclass
class _Model:
    package: Any  # argostranslate.package.Package
    name: str
    version: str
    sha256: str
    translator: Any = None  # ctranslate2.Translator, created on first use


class ArgosEngine:
    name = "argostranslate"

    def __init__(self, settings: EngineSettings) -> None:
        self._packages_dir = prepare_argos_environment(settings.data_dir)
        import ctranslate2

        self.settings = settings
        self._ctranslate2 = ctranslate2
        self._version = f"argostranslate-1.11/ctranslate2-{ctranslate2.__version__}"
        self._lock = threading.Lock()
        self._models: dict[tuple[str, str], _Model] = {}
        self._scanned: tuple[tuple[str, int], ...] | None = None
        self.refresh()

    def refresh(self) -> None:
        """Pick up packages installed or removed since the last look (`rogatory models`).

        A long-lived worker must not keep failing after an operator fixes the models, nor
        keep using a package that was removed. Loaded models of unchanged packages stay.
        """
        import argostranslate.package  # lazy: only after the environment points at data_dir

        with self._lock:
            signature = _directory_signature(self._packages_dir)
            if signature == self._scanned:
                return
            models: dict[tuple[str, str], _Model] = {}
            for package in argostranslate.package.get_installed_packages():
                if package.type == "translate" and package.from_code and package.to_code:
                    found = _describe(package)
                    known = self._models.get((package.from_code, package.to_code))
                    unchanged = known and (known.name, known.sha256) == (found.name, found.sha256)
                    models[(package.from_code, package.to_code)] = (
                        known if known is not None and unchanged else found
                    )
            self._models = models
            self._scanned = signature

    def pairs(self) -> set[tuple[str, str]]:
        self.refresh()
        direct = set(self._models)
        pivots = {(a, c) for (a, b) in direct for (b2, c) in direct if b == PIVOT == b2 and a != c}
        return direct | pivots

    def route(self, source: str, target: str) -> list[_Model]:
        self.refresh()
        if (source, target) in self._models:
            return [self._models[(source, target)]]
        if (source, PIVOT) in self._models and (PIVOT, target) in self._models:
            return [self._models[(source, PIVOT)], self._models[(PIVOT, target)]]
        raise TranslationFailed(f"no model for {source}->{target}", code="unsupported-pair")

    def translate_batch(
        self, texts: Sequence[str], source: str, target: str, *, beam_size: int | None = None
    ) -> list[TranslatedText]:
        route = self.route(source, target)
        current = list(texts)
        for model in route:
            current = self.translate_leg(model, current, beam_size or self.settings.beam_size)
        legs = tuple(Leg(m.package.from_code, m.package.to_code, m.name, m.sha256) for m in route)
        last = route[-1]
        name = "+".join(m.name for m in route)
        sha = last.sha256 if len(route) == 1 else _sha256_text("+".join(m.sha256 for m in route))
        return [
            TranslatedText(text, self.name, name, self._version + "/" + last.version, sha, legs)
            for text in current
        ]

    def translate_leg(self, model: _Model, texts: list[str], beam_size: int) -> list[str]:
        """Split texts into lines and sentences, translate all in one call, put them back."""
        lines = [line for text in texts for line in text.split("\n")]
        sentences_per_line = [split_sentences(line) for line in lines]
        tokenizer = model.package.tokenizer
        pieces: list[list[str]] = []
        owners: list[int] = []
        for line_index, sentences in enumerate(sentences_per_line):
            for sentence in sentences:
                tokens = tokenizer.encode(sentence)
                step = self.settings.max_sentence_tokens
                for start in range(0, len(tokens), step):  # overlong sentences in slices
                    pieces.append(tokens[start : start + step])
                    owners.append(line_index)
        outputs = self._run(model, pieces, beam_size) if pieces else []
        translated_lines: list[list[str]] = [[] for _ in lines]
        for owner, output in zip(owners, outputs, strict=True):
            translated_lines[owner].append(output)
        joined = [" ".join(parts) for parts in translated_lines]
        result, cursor = [], 0
        for text in texts:
            count = text.count("\n") + 1
            result.append("\n".join(joined[cursor : cursor + count]))
            cursor += count
        return result

    def _run(self, model: _Model, pieces: list[list[str]], beam_size: int) -> list[str]:
        translator = self._translator(model)
        package = model.package
        prefix = [[package.target_prefix]] * len(pieces) if package.target_prefix else None
        try:
            results = translator.translate_batch(
                pieces,
                target_prefix=prefix,
                max_batch_size=self.settings.max_batch_tokens,
                batch_type="tokens",
                beam_size=beam_size,
                num_hypotheses=1,
                replace_unknowns=True,
                length_penalty=0.2,
                max_decoding_length=self.settings.max_decoding_length,
            )
        except (RuntimeError, ValueError) as exc:
            raise TranslationFailed(f"CTranslate2 failed: {type(exc).__name__}") from exc
        outputs = []
        for result in results:
            value = package.tokenizer.decode(result.hypotheses[0])
            if package.target_prefix and value.startswith(package.target_prefix):
                value = value[len(package.target_prefix) :]
            outputs.append(value.strip())
        return outputs

    def _translator(self, model: _Model) -> Any:
        with self._lock:
            if model.translator is None:
                model.translator = self._ctranslate2.Translator(
                    str(model.package.package_path / "model"),
                    device="cpu",
                    inter_threads=self.settings.inter_threads,
                    intra_threads=self.settings.intra_threads,
                    compute_type=self.settings.compute_type,
                )
            return model.translator

    def ctranslate2_translator(self, source: str, target: str) -> Any:
        """The loaded CTranslate2 model of a direct pair (benchmarks compare against it)."""
        return self._translator(self.route(source, target)[0])


def split_sentences(line: str) -> list[str]:
    """Rule-based: no model download, no per-token state growing in a long-lived worker."""
    sentences: list[str] = []
    for piece in _SENTENCE_END.split(line):
        if sentences and sentences[-1].lower().endswith(_ABBREVIATIONS):
            sentences[-1] = f"{sentences[-1]} {piece}"
        else:
            sentences.append(piece)
    return [s.strip() for s in sentences if s.strip()]


_ENGINES: dict[EngineSettings, ArgosEngine] = {}
_ENGINES_LOCK = threading.Lock()


def get_engine(settings: EngineSettings) -> ArgosEngine:
    """The process-wide engine for these settings; models load once per worker process."""
    with _ENGINES_LOCK:
        engine = _ENGINES.get(settings)
        if engine is None:
            engine = _ENGINES[settings] = ArgosEngine(settings)
        return engine


def _directory_signature(packages_dir: Path) -> tuple[tuple[str, int], ...]:
    """Names and change times of the installed package directories (cheap to compare)."""
    if not packages_dir.is_dir():
        return ()
    return tuple(
        sorted((p.name, p.stat().st_mtime_ns) for p in packages_dir.iterdir() if p.is_dir())
    )


def _describe(package: Any) -> _Model:
    path = Path(package.package_path)
    record_path = path / INSTALL_RECORD
    sha = ""
    if record_path.is_file():
        record = json.loads(record_path.read_text(encoding="utf-8"))
        sha = str(record.get("archive_sha256", ""))
    if not sha:  # installed by other means: hash the model files themselves
        digest = hashlib.sha256()
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(file.relative_to(path).as_posix().encode())
            digest.update(_sha256_file(file).encode())
        sha = digest.hexdigest()
    name = f"translate-{package.from_code}_{package.to_code}"
    return _Model(package, name, str(package.package_version), sha)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
