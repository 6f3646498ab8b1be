"""The PDF prints the legal time limits; use restrictions appear on every page."""

from __future__ import annotations

from pathlib import Path

from rendering_samples import make_cover, make_form, make_translation, render_request_file
from rendering_support import page_count, pdf_text

from gateway.domain.labels import load_catalogue


def test_cover_lists_the_clocks_and_every_page_carries_the_handling_labels(
    tmp_path: Path,
) -> None:
    form = make_form("mla", "nl")
    form["handling"] = ["speciality", "no-onward-transmission"]
    form["sections"]["B"]["deadline"] = "2027-01-15"
    translation = make_translation("mla", "nl", "en", "req-legal")
    path = render_request_file(tmp_path / "legal.pdf", form, translation, target="en")
    en = load_catalogue("en")
    cover = pdf_text(path, 1)  # the limits stand on the cover, before any clock started
    assert en.text("legal_clocks") in cover
    assert "within 7 days of receipt" in cover
    assert "within 90 days of the decision" in cover
    assert "starts on receipt" in cover
    for article in ("Art 16(1)", "Art 12(3)", "Art 12(4)", "Art 12(2)"):
        assert article in cover
    assert "Directive 2014/41/EU" in cover
    assert "Issuer's deadline" in cover
    assert "2027-01-15" in cover
    pages = page_count(path)
    assert pages >= 2
    for page in range(1, pages + 1):
        text = pdf_text(path, page)
        assert en.code_meaning("handling", "speciality") in text, f"page {page}"
        assert en.code_meaning("handling", "no-onward-transmission") in text, f"page {page}"


def test_a_request_without_labels_prints_no_restriction(tmp_path: Path) -> None:
    form = make_form("extradition", "en")
    translation = make_translation("extradition", "en", "nl", "req-eaw")
    path = render_request_file(tmp_path / "eaw.pdf", form, translation, target="nl")
    text = pdf_text(path)
    nl = load_catalogue("nl")
    assert nl.code_meaning("handling", "speciality") not in text
    cover = pdf_text(path, 1)
    assert "binnen 60 dagen na aanhouding" in cover
    assert "Art 17(3)" in cover


def test_refusal_reply_prints_its_grounds_from_the_hand_kept_catalogues(tmp_path: Path) -> None:
    from rendering_samples import make_reply

    from workers.rendering import render_reply_pdf

    reply = make_reply("es", "Los hechos están prescritos.") | {
        "kind": "refusal",
        "decision": "refuse",
        "grounds": ["eaw-art4-4-statute-barred", "eaw-art3-2-ne-bis-in-idem"],
        "effective_date": "2027-01-20",
    }
    pdf = render_reply_pdf(
        reply, None, make_cover("req-refusal", b"m"), original_message=b"m", target_language="nl"
    )
    path = tmp_path / "refusal.pdf"
    path.write_bytes(pdf)
    text = pdf_text(path)
    nl, es = load_catalogue("nl"), load_catalogue("es")
    for catalogue in (nl, es):
        assert catalogue.code_meaning("reply_kind", "refusal") in text
        assert catalogue.code_meaning("refusal_grounds", "eaw-art4-4-statute-barred") in text
        assert catalogue.code_meaning("refusal_grounds", "eaw-art3-2-ne-bis-in-idem") in text
        assert catalogue.code_meaning("reply_decision", "refuse") in text
    assert "2027-01-20" in text
