"""Attachments become paragraphs, or stay listed as not-machine-translated with a reason."""

from __future__ import annotations

import io
import zipfile

import pytest
from documents_support import DOCX_PARAGRAPHS, PDF_PARAGRAPHS, make_docx, make_odt, make_pdf

from gateway.translation.documents import ExtractionLimits
from workers.extraction.extract import DOCX, ODT, PDF, TEXT, extract_document


def test_docx_paragraphs_and_table_cells_are_extracted_in_order() -> None:
    document = extract_document("a.docx", DOCX, make_docx())
    assert document.status == "extracted"
    assert document.paragraphs == [*DOCX_PARAGRAPHS, "Seized: one laptop."]
    assert len(document.sha256) == 64


def test_pdf_text_layer_is_extracted_per_paragraph() -> None:
    document = extract_document("r.pdf", PDF, make_pdf())
    assert document.paragraphs == PDF_PARAGRAPHS


def test_pdf_without_text_layer_is_listed_as_image_only() -> None:
    document = extract_document("scan.pdf", PDF, make_pdf([]))
    assert document.status == "not-machine-translated"
    assert document.reason == "image-only"


def test_pdf_over_the_page_limit_is_not_machine_translated() -> None:
    data = make_pdf([f"Page {i}.<div style='page-break-after: always'></div>" for i in range(3)])
    document = extract_document("long.pdf", PDF, data, ExtractionLimits(max_pages=2))
    assert document.reason == "too-many-pages"


def test_odt_and_plain_text_are_extracted() -> None:
    odt = extract_document("n.odt", ODT, make_odt(["First paragraph.", "Second one."]))
    assert odt.paragraphs == ["First paragraph.", "Second one."]
    text = extract_document("n.txt", TEXT, b"Line one\ncontinues.\n\nSecond.\n")
    assert text.paragraphs == ["Line one continues.", "Second."]


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    b"<office:document-content>&lol2;</office:document-content>"
)


@pytest.mark.parametrize(
    ("name", "media_type", "data", "reason"),
    [
        ("x.png", "image/png", b"\x89PNG\r\n\x1a\n", "image-only"),
        ("x.exe", "application/octet-stream", b"MZ\x90\x00", "unsupported-type"),
        ("x.docx", DOCX, b"PK\x03\x04 broken", "unreadable-archive"),
        ("x.odt", ODT, _zip({"content.xml": BILLION_LAUGHS}), "xml-dtd-forbidden"),
        ("x.docx", DOCX, _zip({"word/document.xml": b"\0" * (5 * 1024 * 1024)}), "zip-bomb"),
        ("x.pdf", PDF, b"%PDF-1.7 garbage", "unreadable-pdf"),
        ("x.txt", TEXT, b"\xff\xfe\xff\xd8 not text" * 3, "undecodable-text"),
        ("x.txt", TEXT, b"a" * 2048, "too-large"),
    ],
)
def test_hostile_or_unsupported_files_are_kept_with_a_reason(
    name: str, media_type: str, data: bytes, reason: str
) -> None:
    limits = ExtractionLimits(max_bytes=1024 if reason == "too-large" else 25 * 1024 * 1024)
    limits = ExtractionLimits(
        max_bytes=limits.max_bytes, max_compression_ratio=50.0, max_uncompressed_bytes=10**8
    )
    document = extract_document(name, media_type, data, limits)
    assert document.status == "not-machine-translated"
    assert document.reason == reason
    assert document.paragraphs == []
    assert document.name == name
