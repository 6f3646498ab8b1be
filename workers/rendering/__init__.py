"""Bilingual print rendering: request/reply -> HTML -> PDF/A-3b -> PAdES-sealed PDF.

WeasyPrint only ever loads bundled assets (see assets.BundledAssetFetcher); all user
text reaches the HTML through Jinja2 autoescaping.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workers.rendering.cover import CoverInfo
from workers.rendering.errors import RenderError, SealError
from workers.rendering.markup import render_reply_html, render_request_html
from workers.rendering.pdf import ORIGINAL_NAME, html_to_pdf
from workers.rendering.seal import seal_pdf

__all__ = [
    "ORIGINAL_NAME",
    "CoverInfo",
    "RenderError",
    "SealError",
    "render_html",
    "render_reply_pdf",
    "render_request_pdf",
    "seal_pdf",
]


def render_request_pdf(
    form: dict[str, Any],
    translation: dict[str, Any],
    cover: CoverInfo,
    *,
    original_message: bytes,
    target_language: str,
) -> bytes:
    """The bilingual request as PDF/A-3b (unsigned), the original message embedded."""
    html = render_request_html(form, translation, cover, target_language=target_language)
    return html_to_pdf(html, original_message=original_message, created=cover.received_at)


def render_reply_pdf(
    reply: dict[str, Any],
    translation: dict[str, Any] | None,
    cover: CoverInfo,
    *,
    original_message: bytes,
    target_language: str,
) -> bytes:
    """A counterpart's reply as PDF/A-3b (unsigned); `translation` None prints it untranslated."""
    html = render_reply_html(reply, translation, cover, target_language=target_language)
    return html_to_pdf(html, original_message=original_message, created=cover.received_at)


def render_html(
    document: Mapping[str, Any],
    translation: Mapping[str, Any] | None,
    cover: CoverInfo,
    *,
    target_language: str,
    reply: bool = False,
) -> str:
    """The print HTML of a request (or, with reply=True, a reply): the bench baseline input."""
    if reply:
        return render_reply_html(document, translation, cover, target_language=target_language)
    return render_request_html(document, translation, cover, target_language=target_language)
