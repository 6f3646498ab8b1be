"""Rendering refusals: each carries a stable `code` (see gateway.domain.errors)."""

from __future__ import annotations

from gateway.domain.errors import DomainError
from gateway.services.document_view.errors import RenderError

__all__ = ["RenderError", "SealError"]


class SealError(DomainError):
    """The seal key or certificate cannot be used to sign the PDF."""

    code = "seal-failed"
    status = 500
