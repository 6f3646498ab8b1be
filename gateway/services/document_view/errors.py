"""Why a document cannot be shown faithfully: each carries a stable `code`."""

from __future__ import annotations

from gateway.domain.errors import DomainError


class RenderError(DomainError):
    """The request, reply or translation cannot be rendered faithfully."""

    code = "render-failed"
    status = 500
