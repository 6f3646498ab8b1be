"""What document extraction hands to translation: paragraphs, or a reason why there are none."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ExtractionStatus = Literal["extracted", "not-machine-translated"]


@dataclass(frozen=True)
class ExtractionLimits:
    """Bounds on untrusted attachments; exceeding one yields not-machine-translated."""

    max_bytes: int = 25 * 1024 * 1024
    max_pages: int = 300
    max_paragraphs: int = 20_000
    max_paragraph_chars: int = 20_000
    max_total_chars: int = 2_000_000
    max_archive_members: int = 2_000
    max_uncompressed_bytes: int = 200 * 1024 * 1024
    max_compression_ratio: float = 100.0


@dataclass(frozen=True)
class ExtractedDocument:
    name: str
    media_type: str
    sha256: str
    paragraphs: list[str] = field(default_factory=list)
    status: ExtractionStatus = "extracted"
    reason: str | None = None

    @property
    def machine_translatable(self) -> bool:
        return self.status == "extracted" and bool(self.paragraphs)
