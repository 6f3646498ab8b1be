"""Rendering refusals: each carries a stable `code` (see gateway.domain.errors)."""

from __future__ import annotations

from gateway.domain.errors import DomainError


class RenderError(DomainError):
    """The request, reply or translation cannot be rendered faithfully."""

    code = "render-failed"
    status = 500


class SealError(DomainError):
    """The seal key or certificate cannot be used to sign the PDF."""

    code = "seal-failed"
    status = 500
