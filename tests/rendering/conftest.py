"""Fixtures for rendering tests: rendered PDFs (once per session) and a throwaway seal PKI."""

from __future__ import annotations

import pytest
from rendering_samples import make_cover, make_form, make_translation
from rendering_support import LANGUAGE_PAIRS, REQUEST_TYPES, Rendered, SealPki, make_pki

from workers.rendering import render_request_pdf


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str, str], Rendered]:
    """Every request type in both language pairs, rendered once for the whole session."""
    out = tmp_path_factory.mktemp("rendered")
    results = {}
    for request_type in REQUEST_TYPES:
        for source, target in LANGUAGE_PAIRS:
            request_id = f"req-{request_type}-{source}-{target}"
            message = b"0\x82\x01\x00" + f"signed CMS of {request_id}".encode() + bytes(range(256))
            form = make_form(request_type, source)
            translation = make_translation(request_type, source, target, request_id)
            cover = make_cover(request_id, message)
            pdf = render_request_pdf(
                form, translation, cover, original_message=message, target_language=target
            )
            path = out / f"{request_id}.pdf"
            path.write_bytes(pdf)
            results[(request_type, source, target)] = Rendered(
                request_type, source, target, form, translation, cover, message, pdf, path
            )
    return results


@pytest.fixture(scope="session")
def seal_pki() -> SealPki:
    return make_pki()
