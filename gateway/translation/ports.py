"""The engine seam: what a machine-translation engine must offer the gateway."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from gateway.domain.errors import DomainError


class TranslationFailed(DomainError):
    """The engine could not translate; the request goes to the retryable failed state."""

    code = "translation-failed"
    status = 503


@dataclass(frozen=True)
class Leg:
    """One model hop; a pivot translation through English has two."""

    source: str
    target: str
    model: str
    model_sha256: str

    def to_json(self) -> dict[str, str]:
        return {
            "from": self.source,
            "to": self.target,
            "model": self.model,
            "model_sha256": self.model_sha256,
        }


@dataclass(frozen=True)
class TranslatedText:
    """Engine output for one input text, with the models that produced it."""

    text: str
    engine: str
    model: str
    model_version: str
    model_sha256: str
    legs: tuple[Leg, ...]
    flags: tuple[str, ...] = field(default=())
    # Words the engine itself reported it could not translate (Apertium `*word`, `@word`).
    unknown_words: tuple[str, ...] = field(default=())
    # Engine markup (`*`, `#`, `@`) removed from `text`.
    marks_removed: int = 0


@runtime_checkable
class Translator(Protocol):
    name: str

    def pairs(self) -> set[tuple[str, str]]:
        """Language pairs this engine can translate, pivots included."""
        ...

    def translate_batch(
        self, texts: Sequence[str], source: str, target: str
    ) -> list[TranslatedText]:
        """One output per input, same order; raise TranslationFailed, never echo input."""
        ...
