"""Attachments generated in the tests: a DOCX (python-docx) and a text-layer PDF (WeasyPrint)."""

from __future__ import annotations

import io
import zipfile

DOCX_PARAGRAPHS = [
    "Statement of the witness Pieter Jansen.",
    "On 12 January 2026 the sum of EUR 12.500,00 was transferred to NL91 ABNA 0417 1643 00.",
    "The transfer was ordered by telephone from +31 10 123 4567.",
]
PDF_PARAGRAPHS = [
    "Police report ROT-2026-00123.",
    "The suspect admitted the offence under art. 326 Sr and paid €1,000 in cash.",
]


def make_docx() -> bytes:
    import docx

    document = docx.Document()
    for paragraph in DOCX_PARAGRAPHS:
        document.add_paragraph(paragraph)
    table = document.add_table(rows=1, cols=1)
    table.rows[0].cells[0].text = "Seized: one laptop."
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def make_pdf(paragraphs: list[str] = PDF_PARAGRAPHS) -> bytes:
    from weasyprint import HTML

    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return bytes(HTML(string=f"<html><body>{body}</body></html>").write_pdf())


def make_odt(paragraphs: list[str]) -> bytes:
    body = "".join(f"<text:p>{p}</text:p>" for p in paragraphs)
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0">'
        f"<office:body><office:text>{body}</office:text></office:body></office:document-content>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        zf.writestr("content.xml", content)
    return buffer.getvalue()
