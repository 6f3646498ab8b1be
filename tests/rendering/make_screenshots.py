"""Regenerate docs/screenshots/pdf-*.png: first two pages of each printed type at 60 dpi.

Run: /tmp/venv/bin/python tests/rendering/make_screenshots.py  (needs poppler-utils)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1])]

from rendering_samples import make_cover, make_form, make_reply, make_translation, segment  # noqa: E402

from workers.rendering import render_reply_pdf, render_request_pdf  # noqa: E402

OUT = HERE.parents[1] / "docs" / "screenshots"
REPLY_ES = "Se adjuntan los extractos bancarios solicitados.\nLa cuenta fue cerrada en julio."
REPLY_NL = "Hierbij de gevraagde bankafschriften.\nDe rekening werd in juli gesloten."


def main() -> None:
    message = b"0\x82 signed CMS message"
    pdfs = {}
    for request_type in ("mla", "witness-examination", "extradition"):
        request_id = f"req-{request_type}-0001"
        pdfs[request_type] = render_request_pdf(
            make_form(request_type, "en"),
            make_translation(request_type, "en", "es", request_id),
            make_cover(request_id, message),
            original_message=message,
            target_language="es",
        )
    translation = {
        "format": "rogatory.translation/1",
        "request_id": "req-reply-0001",
        "source_language": "es",
        "target_language": "nl",
        "status": "complete",
        "documents": [],
        "fields": [segment("body", REPLY_ES, REPLY_NL, "translated", [], "es", "nl")],
    }
    pdfs["reply"] = render_reply_pdf(
        make_reply("es", REPLY_ES),
        translation,
        make_cover("req-reply-0001", message),
        original_message=message,
        target_language="nl",
    )
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, pdf in pdfs.items():
            path = Path(tmp) / f"{name}.pdf"
            path.write_bytes(pdf)
            subprocess.run(
                [
                    "pdftoppm",
                    "-r",
                    "60",
                    "-f",
                    "1",
                    "-l",
                    "2",
                    "-png",
                    str(path),
                    str(OUT / f"pdf-{name}"),
                ],
                check=True,
            )
    for png in sorted(OUT.glob("pdf-*.png")):
        print(png.relative_to(OUT.parents[1]))


if __name__ == "__main__":
    main()
