"""Attachment -> paragraphs. Every file comes back: extracted, or not-machine-translated + reason.

Inputs are hostile: sizes, page counts, zip member counts, inflation ratios and XML DTDs
(entity expansion) are bounded before any parser sees them.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Callable

from defusedxml import ElementTree as SafeET

from gateway.translation.documents import ExtractedDocument, ExtractionLimits

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT = "application/vnd.oasis.opendocument.text"
PDF = "application/pdf"
TEXT = "text/plain"
_ODF_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\u00a0]+")


class Unextractable(Exception):
    """The file is kept but not machine-translated; `reason` is a stable code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def extract_document(
    name: str,
    media_type: str,
    data: bytes,
    limits: ExtractionLimits = ExtractionLimits(),  # noqa: B008 - frozen default
) -> ExtractedDocument:
    sha256 = hashlib.sha256(data).hexdigest()
    media_type = media_type.split(";")[0].strip().lower()
    try:
        if len(data) > limits.max_bytes:
            raise Unextractable("too-large")
        extractor = _EXTRACTORS.get(_sniff(media_type, data))
        if extractor is None:
            reason = "image-only" if media_type.startswith("image/") else "unsupported-type"
            raise Unextractable(reason)
        paragraphs = _bounded(extractor(data, limits), limits)
    except Unextractable as problem:
        return ExtractedDocument(
            name, media_type, sha256, [], "not-machine-translated", problem.reason
        )
    if not paragraphs:
        return ExtractedDocument(name, media_type, sha256, [], "not-machine-translated", "no-text")
    return ExtractedDocument(name, media_type, sha256, paragraphs, "extracted", None)


def _sniff(media_type: str, data: bytes) -> str:
    """Trust the content over the label when they disagree on the container."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"PK\x03\x04"):
        return media_type if media_type in (DOCX, ODT) else _zip_kind(data)
    return media_type


def _zip_kind(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            if "word/document.xml" in names:
                return DOCX
            if "content.xml" in names and b"opendocument.text" in zf.read("mimetype")[:100]:
                return ODT
    except (zipfile.BadZipFile, KeyError):
        pass
    return "application/zip"


def _text(data: bytes, limits: ExtractionLimits) -> list[str]:
    for encoding in (
        ("utf-8-sig", "utf-16") if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-8-sig",)
    ):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise Unextractable("undecodable-text")
    return _paragraphs_from_text(text)


def _pdf(data: bytes, limits: ExtractionLimits) -> list[str]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise Unextractable("encrypted")
        if len(reader.pages) > limits.max_pages:
            raise Unextractable("too-many-pages")
        paragraphs: list[str] = []
        for page in reader.pages:
            paragraphs.extend(_paragraphs_from_text(page.extract_text() or ""))
            if sum(map(len, paragraphs)) > limits.max_total_chars:
                raise Unextractable("too-much-text")
    except (PdfReadError, ValueError, KeyError, TypeError, RecursionError):
        raise Unextractable("unreadable-pdf") from None
    if not paragraphs:
        raise Unextractable("image-only")  # no text layer: OCR is not performed
    return paragraphs


def _docx(data: bytes, limits: ExtractionLimits) -> list[str]:
    _check_zip(data, limits)
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception:  # python-docx raises assorted errors on damaged packages
        raise Unextractable("unreadable-docx") from None
    paragraphs = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                paragraphs.extend(p.text for p in cell.paragraphs)
    return [_clean(p) for p in paragraphs if p.strip()]


def _odt(data: bytes, limits: ExtractionLimits) -> list[str]:
    _check_zip(data, limits)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        try:
            content = zf.read("content.xml")
        except KeyError:
            raise Unextractable("unreadable-odt") from None
    try:
        root = SafeET.fromstring(content, forbid_dtd=True)
    except Exception:  # defusedxml/expat errors on hostile or broken XML
        raise Unextractable("unreadable-odt") from None
    wanted = {f"{{{_ODF_TEXT}}}p", f"{{{_ODF_TEXT}}}h"}
    paragraphs = []
    for element in root.iter():
        if element.tag in wanted:
            paragraphs.append(_clean("".join(element.itertext())))
    return [p for p in paragraphs if p]


def _check_zip(data: bytes, limits: ExtractionLimits) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            if len(infos) > limits.max_archive_members:
                raise Unextractable("too-many-members")
            total = sum(i.file_size for i in infos)
            if total > limits.max_uncompressed_bytes:
                raise Unextractable("zip-bomb")
            for info in infos:
                ratio = info.file_size / max(info.compress_size, 1)
                if info.file_size > 1024 * 1024 and ratio > limits.max_compression_ratio:
                    raise Unextractable("zip-bomb")
                if info.filename.endswith(".xml") or info.filename.endswith(".rels"):
                    with zf.open(info) as member:
                        head = member.read(4096)
                    if _DTD.search(head):
                        raise Unextractable("xml-dtd-forbidden")
    except zipfile.BadZipFile:
        raise Unextractable("unreadable-archive") from None


def _paragraphs_from_text(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    blocks = re.split(r"\n\s*\n", text)
    paragraphs = []
    for block in blocks:
        # A line ending in sentence punctuation closes a paragraph (PDF text has no blank lines).
        current: list[str] = []
        for line in block.split("\n"):
            if line.strip():
                current.append(line.strip())
            if current and re.search(r"[.!?:;]\s*$", line):
                paragraphs.append(_clean(" ".join(current)))
                current = []
        if current:
            paragraphs.append(_clean(" ".join(current)))
    return [p for p in paragraphs if p]


def _clean(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _bounded(paragraphs: list[str], limits: ExtractionLimits) -> list[str]:
    if len(paragraphs) > limits.max_paragraphs:
        raise Unextractable("too-many-paragraphs")
    if sum(map(len, paragraphs)) > limits.max_total_chars:
        raise Unextractable("too-much-text")
    if any(len(p) > limits.max_paragraph_chars for p in paragraphs):
        raise Unextractable("paragraph-too-long")
    return paragraphs


_EXTRACTORS: dict[str, Callable[[bytes, ExtractionLimits], list[str]]] = {
    TEXT: _text,
    PDF: _pdf,
    DOCX: _docx,
    ODT: _odt,
}
