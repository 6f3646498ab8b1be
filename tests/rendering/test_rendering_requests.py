"""Each request type, in two language pairs, printed as a bilingual PDF/A-3b."""

from __future__ import annotations

import re
import subprocess

import pytest
from pypdf import PdfReader
from rendering_samples import FAILED_PATHS, MODEL_SHA, PIVOT_SHA, REVIEW_PATHS, TEXTS
from rendering_support import LANGUAGE_PAIRS, REQUEST_TYPES, Rendered, folded

from gateway.domain.labels import load_catalogue
from gateway.domain.translation_notes import flag_note
from workers.rendering import ORIGINAL_NAME

CASES = [(t, s, g) for t in REQUEST_TYPES for s, g in LANGUAGE_PAIRS]
IDS = [f"{t}-{s}-{g}" for t, s, g in CASES]


@pytest.fixture(params=CASES, ids=IDS)
def doc(request: pytest.FixtureRequest, rendered: dict[tuple[str, str, str], Rendered]) -> Rendered:
    return rendered[request.param]


def test_every_free_text_is_printed_in_the_original_and_in_translation(doc: Rendered) -> None:
    body = doc.text(2, doc.pages())
    ui = load_catalogue(doc.target)
    for path, versions in TEXTS[doc.request_type].items():
        assert folded(versions[doc.source]) in body, path
        if path in FAILED_PATHS:
            assert folded(versions[doc.target]) not in body, path
        else:
            assert folded(versions[doc.target]) in body, path
    assert ui.text("original").upper() in body  # column heads are set in capitals
    assert ui.text("machine_translation").upper() in body


def test_segments_that_failed_or_need_review_are_visibly_marked(doc: Rendered) -> None:
    body = doc.text(2, doc.pages())
    ui = load_catalogue(doc.target)
    paths = set(TEXTS[doc.request_type])
    assert body.count(ui.text("translation_failed")) == len(paths & FAILED_PATHS)
    assert body.count(ui.text("needs_review")) == len(paths & REVIEW_PATHS)
    assert "\u26a0" in body
    for flag in ("low-confidence", "engine-error"):  # flags print as sentences, not codes
        assert flag not in body
        assert folded(flag_note(flag, ui)) in body


def test_cover_page_records_hashes_audit_index_and_translation_model(doc: Rendered) -> None:
    cover = doc.text(1)
    assert doc.cover.message_sha256 in cover
    for name, digest in doc.cover.attachments:
        assert name in cover
        assert digest in cover
    assert "4711" in cover
    assert doc.cover.request_id in cover
    assert "2026-11-21 09:14:07 UTC" in cover
    assert "argostranslate 1.11.0" in cover
    assert f"translate-{doc.source}_{doc.target}" in cover
    assert MODEL_SHA in cover
    if doc.source == "nl":  # nl->fr pivots through English: both legs and model hashes shown
        assert PIVOT_SHA in cover
        assert f"opus-{doc.source}-en" in cover
    assert doc.cover.issuing_authority_name in cover
    assert doc.cover.executing_authority_name in cover


def test_cover_page_warns_in_both_languages_that_the_translation_is_not_certified(
    doc: Rendered,
) -> None:
    cover = doc.text(1)
    for language in (doc.target, doc.source):
        notice = load_catalogue(language)
        assert notice.text("mt_notice_title") in cover
        assert folded(notice.text("mt_notice")) in cover


def test_every_page_is_numbered_page_x_of_y_in_the_target_language(doc: Rendered) -> None:
    pages = doc.pages()
    ui = load_catalogue(doc.target)
    assert 4 <= pages <= 6
    for number in range(1, pages + 1):
        text = doc.text(number)
        assert f"{ui.text('page')} {number} {ui.text('page_of')} {pages}" in text
        assert doc.form["case_reference"] in text
        confidentiality = ui.code_meaning("confidentiality", doc.form["confidentiality"])
        assert confidentiality in text
    assert ui.form(doc.request_type, "preamble")[:40] in doc.text(2)  # the form starts on page 2


def test_labels_and_code_meanings_come_from_the_catalogues(doc: Rendered) -> None:
    body = doc.text(2, doc.pages())
    target, source = load_catalogue(doc.target), load_catalogue(doc.source)
    for section in doc.form["sections"]:
        assert target.section_title(doc.request_type, section) in body
        assert target.section_title(doc.request_type, section)
    for key in ("facts", "legal_qualification"):
        assert target.field_label(key) in body
        assert source.field_label(key) in body
    if doc.request_type != "witness-examination":
        offences = target.codes["list_offences"]
        shown = sum(1 for meaning in offences.values() if folded(meaning) in body)
        assert shown >= 30  # all 32 are listed (checklist); a few wrap across hyphenation


def test_names_dates_and_identifiers_appear_once_untranslated(doc: Rendered) -> None:
    body = doc.text(2, doc.pages())
    once = {
        "mla": ["Jansen", "1980-04-12", "NL-PP-X12345678", "2027-01-15"],
        "witness-examination": ["Dubois", "1975-09-30", "RBROT-10/998877-26"],
        "extradition": ["Papadopoulos", "Θεσσαλονίκη", "ул. Шипка 5, Варна", "1984-02-29"],
    }[doc.request_type]
    for value in once:
        assert body.count(value) == 1, value


def test_annex_lists_every_document_with_status_and_reason(doc: Rendered) -> None:
    annex = doc.text(doc.pages())
    ui = load_catalogue(doc.target)
    assert ui.text("annex_title") in annex
    assert "bank-statement.pdf" in annex
    assert "photo-warehouse.jpg" in annex
    assert ui.code_meaning("document_status", "not-machine-translated") in annex
    assert "image-without-text-layer" in annex
    for segment in doc.translation["documents"][0]["segments"]:
        assert segment["source"] in annex
        assert segment["target"] in annex


def test_pdf_is_pdf_a_3b_with_output_intent_and_the_original_attached(doc: Rendered) -> None:
    reader = PdfReader(doc.path)
    root = reader.trailer["/Root"]
    xmp = root["/Metadata"].get_object().get_data().decode("utf-8")
    assert re.search(r"pdfaid:part[^0-9]{1,3}3", xmp)
    assert re.search(r"pdfaid:conformance[^A-Z]{1,3}B", xmp)
    intents = root["/OutputIntents"]
    assert intents[0].get_object()["/S"] == "/GTS_PDFA1"
    assert "/DestOutputProfile" in intents[0].get_object()
    assert reader.attachments[ORIGINAL_NAME] == [doc.message]
    # WeasyPrint lists the one file specification twice in /AF; it is the same object.
    associated = {f.idnum: f.get_object() for f in root["/AF"]}
    assert [(a["/F"], a["/AFRelationship"]) for a in associated.values()] == [
        (ORIGINAL_NAME, "/Source")
    ]


def test_only_bundled_fonts_are_embedded(doc: Rendered) -> None:
    fonts = subprocess.run(
        ["pdffonts", str(doc.path)], capture_output=True, text=True, check=True
    ).stdout.splitlines()[2:]
    names = {line.split()[0].split("+", 1)[1] for line in fonts}
    assert names
    assert all(name.startswith("Rogatory-") for name in names), names
    assert all(" yes yes yes " in line for line in fonts)


def test_page_images_are_not_blank(doc: Rendered, tmp_path: pytest.TempPathFactory) -> None:
    out = subprocess.run(
        ["pdftoppm", "-r", "30", "-f", "2", "-l", "2", "-gray", str(doc.path)],
        capture_output=True,
        check=True,
    ).stdout
    header, _, pixels = out.partition(b"255\n")
    assert header.startswith(b"P5")
    dark = sum(1 for b in pixels if b < 128)
    assert dark > len(pixels) // 100
