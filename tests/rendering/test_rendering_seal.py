"""The gateway seal: PAdES B-B over the PDF/A, verifiable against the issuing CA."""

from __future__ import annotations

from io import BytesIO

import pytest
from asn1crypto import pem, x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader
from rendering_support import Rendered, SealPki, make_pki

from workers.rendering import ORIGINAL_NAME, SealError, seal_pdf
from workers.rendering.seal import SEAL_FIELD


@pytest.fixture(scope="module")
def sealed(
    rendered: dict[tuple[str, str, str], Rendered], seal_pki: SealPki
) -> tuple[Rendered, bytes]:
    doc = rendered[("mla", "en", "es")]
    return doc, seal_pdf(doc.pdf, key_pem=seal_pki.key_pem, cert_pem=seal_pki.cert_pem)


def _status(pdf: bytes, trust_root_pem: bytes) -> tuple[EmbeddedPdfSignature, PdfSignatureStatus]:
    _, _, der = pem.unarmor(trust_root_pem)
    reader = PdfFileReader(BytesIO(pdf))
    (signature,) = reader.embedded_signatures
    context = ValidationContext(trust_roots=[x509.Certificate.load(der)])
    return signature, validate_pdf_signature(signature, context)


def test_seal_validates_against_the_test_ca_as_pades(
    sealed: tuple[Rendered, bytes], seal_pki: SealPki
) -> None:
    _, pdf = sealed
    signature, status = _status(pdf, seal_pki.ca_pem)
    assert status.intact
    assert status.valid
    assert status.trusted
    assert status.bottom_line
    assert signature.field_name == SEAL_FIELD
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert status.md_algorithm == "sha256"
    assert status.signing_cert.subject.native["common_name"] == "Rogatory Gateway Seal"
    assert status.docmdp_ok
    assert status.coverage.name == "ENTIRE_FILE"


def test_seal_is_not_trusted_by_another_ca(sealed: tuple[Rendered, bytes]) -> None:
    _, pdf = sealed
    _, status = _status(pdf, make_pki("Some Other Root").ca_pem)
    assert status.intact
    assert not status.trusted
    assert not status.bottom_line


def test_a_changed_byte_breaks_the_seal(sealed: tuple[Rendered, bytes], seal_pki: SealPki) -> None:
    _, pdf = sealed
    at = pdf.index(b"/Type /Catalog") if b"/Type /Catalog" in pdf else len(pdf) // 3
    tampered = bytearray(pdf)
    tampered[at + 1] ^= 0x01
    _, status = _status(bytes(tampered), seal_pki.ca_pem)
    assert not status.intact
    assert not status.bottom_line


def test_sealed_pdf_keeps_the_original_and_the_pdf_a_metadata(
    sealed: tuple[Rendered, bytes],
) -> None:
    doc, pdf = sealed
    reader = PdfReader(BytesIO(pdf))
    assert reader.attachments[ORIGINAL_NAME] == [doc.message]
    root = reader.trailer["/Root"]
    assert b"pdfaid:part" in root["/Metadata"].get_object().get_data()
    assert "/OutputIntents" in root
    assert len(reader.pages) == doc.pages()


def test_unreadable_seal_key_is_refused_with_a_code(
    rendered: dict[tuple[str, str, str], Rendered], seal_pki: SealPki
) -> None:
    doc = rendered[("mla", "en", "es")]
    with pytest.raises(SealError) as caught:
        seal_pdf(doc.pdf, key_pem=b"not a key", cert_pem=seal_pki.cert_pem)
    assert caught.value.code == "seal-key-invalid"
