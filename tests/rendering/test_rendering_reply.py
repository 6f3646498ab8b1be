"""A counterpart's reply printed with or without a machine translation."""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfReader
from rendering_samples import make_cover, make_reply, segment
from rendering_support import pdf_text

from gateway.domain.labels import load_catalogue
from workers.rendering import ORIGINAL_NAME, render_reply_pdf

BODY_ES = "Se adjuntan los extractos bancarios solicitados.\nLa cuenta fue cerrada en julio."
BODY_NL = "Hierbij de gevraagde bankafschriften.\nDe rekening werd in juli gesloten."


def test_translated_reply_shows_kind_references_and_both_texts(tmp_path: Path) -> None:
    reply = make_reply("es", BODY_ES)
    translation = {
        "format": "rogatory.translation/1",
        "request_id": "req-reply",
        "source_language": "es",
        "target_language": "nl",
        "status": "complete",
        "documents": [],
        "fields": [segment("body", BODY_ES, BODY_NL, "translated", [], "es", "nl")],
    }
    cover = make_cover("req-reply", b"reply message")
    pdf = render_reply_pdf(
        reply, translation, cover, original_message=b"reply message", target_language="nl"
    )
    path = tmp_path / "reply.pdf"
    path.write_bytes(pdf)
    text = pdf_text(path)
    nl = load_catalogue("nl")
    assert nl.code_meaning("reply_kind", "execution-result") in text
    assert load_catalogue("es").code_meaning("reply_kind", "execution-result") in text
    for line in BODY_ES.splitlines() + BODY_NL.splitlines():
        assert line in text
    assert "FIS-MAD-2026/5531" in text
    assert cover.message_sha256 in text
    assert nl.text("mt_notice_title") in text
    assert PdfReader(path).attachments[ORIGINAL_NAME] == [b"reply message"]


def test_untranslated_reply_says_so(tmp_path: Path) -> None:
    pdf = render_reply_pdf(
        make_reply("es", BODY_ES),
        None,
        make_cover("req-r", b"m"),
        original_message=b"m",
        target_language="es",
    )
    path = tmp_path / "reply.pdf"
    path.write_bytes(pdf)
    text = pdf_text(path)
    assert load_catalogue("es").text("not_translated_here") in text
    assert BODY_ES.splitlines()[0] in text
    assert load_catalogue("es").text("no_translation_provenance") in text


def test_same_language_reply_says_no_translation_was_needed_and_marks_no_failure(
    tmp_path: Path,
) -> None:
    reply = make_reply("es", BODY_ES)
    same = segment("body", BODY_ES, None, "not-needed", ["same-language"], "es", "es")
    translation = {
        "format": "rogatory.translation/1",
        "request_id": "req-same",
        "source_language": "es",
        "target_language": "es",
        "status": "not-needed",
        "documents": [],
        "fields": [same],
    }
    pdf = render_reply_pdf(
        reply,
        translation,
        make_cover("req-same", b"m"),
        original_message=b"m",
        target_language="es",
    )
    path = tmp_path / "same.pdf"
    path.write_bytes(pdf)
    text = pdf_text(path)
    es = load_catalogue("es")
    assert es.text("not_needed") in text
    assert es.text("translation_failed") not in text
