"""A reply names its sender as From and the requesting authority as To (they were swapped)."""

from __future__ import annotations

import dataclasses
import re

from rendering_samples import make_cover, make_reply

from workers.rendering.markup import render_reply_html


def _party(html: str, label: str) -> str:
    match = re.search(
        r'<div class="field-label">' + label + r"<span[^>]*>[^<]*</span></div>"
        r'<div class="field-value">([^<]*)</div>',
        html,
    )
    assert match, f"no field {label!r}"
    return match.group(1)


def test_reply_pdf_shows_the_replying_authority_as_sender():
    reply = make_reply("es", "Se adjuntan los extractos.")  # es-fiscalia-madrid answers
    # in the pipeline a reply's cover names its own issuing (sending) authority first
    cover = dataclasses.replace(
        make_cover("req-reply", b"reply"),
        issuing_authority_name="Fiscalía Provincial de Madrid",
        executing_authority_name="Openbaar Ministerie Rotterdam",
    )
    html = render_reply_html(reply, None, cover, target_language="en")
    assert _party(html, "From") == "Fiscalía Provincial de Madrid"
    assert _party(html, "To") == "Openbaar Ministerie Rotterdam"
