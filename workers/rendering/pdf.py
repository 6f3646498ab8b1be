"""HTML to PDF/A-3b with the original signed message embedded as an associated file."""

from __future__ import annotations

import warnings
from datetime import datetime
from io import BytesIO

from weasyprint import HTML, Attachment

from workers.rendering.assets import ASSET_SCHEME, BundledAssetFetcher

PDF_VARIANT = "pdf/a-3b"
ORIGINAL_NAME = "original-message.p7m"
ORIGINAL_DESCRIPTION = "Original signed message (CMS) as received by the gateway"


def html_to_pdf(
    html: str,
    *,
    original_message: bytes,
    created: datetime,
    fetcher: BundledAssetFetcher | None = None,
) -> bytes:
    """Lay out `html` with bundled assets only and write PDF/A-3b with the original attached."""
    fetcher = fetcher or BundledAssetFetcher()
    original = Attachment(
        file_obj=BytesIO(original_message),
        url_fetcher=fetcher,
        name=ORIGINAL_NAME,
        description=ORIGINAL_DESCRIPTION,
        created=created,
        modified=created,
        relationship="Source",
    )
    document = HTML(string=html, base_url=ASSET_SCHEME, url_fetcher=fetcher)
    with warnings.catch_warnings():
        # WeasyPrint 70 opens its bundled sRGB profile for PDF/A and never closes it.
        warnings.filterwarnings("ignore", r"unclosed file .*sRGB2014\.icc", ResourceWarning)
        pdf = document.write_pdf(
            pdf_variant=PDF_VARIANT,
            attachments=[original],
            uncompressed_pdf=False,
            custom_metadata=False,
        )
    if not isinstance(pdf, bytes):
        raise TypeError("WeasyPrint returned no PDF")
    return pdf
