"""Bundled fonts only: EU scripts render with DejaVu from templates/fonts, no system fonts."""
# ruff: noqa: RUF001 - Greek, Cyrillic and typographic characters are the point of this module

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont
from rendering_support import pdf_text

from gateway.domain.labels import CATALOGUE_LANGUAGES, load_catalogue
from workers.rendering.assets import ASSET_FILES, TEMPLATE_DIR

GREEK = "Η αίτηση δικαστικής συνδρομής αφορά την Θεσσαλονίκη."
BULGARIAN = "Молбата за правна помощ засяга гр. Варна и ул. Шипка."
EU_LETTERS = (
    "AÁÀÂÄÃÅĀĂĄÆBCĆČÇĊDĎĐEÉÈÊËĒĖĘĚFGĞĢĠHĦIÍÌÎÏĪĮİJKĶLĹĻĽŁMNŃŅŇÑOÓÒÔÖÕŐØŒPQRŔŘSŚŠŞȘß"
    "TŤŢȚUÚÙÛÜŪŮŰŲVWXYÝŸZŹŻŽÞÐ"
    "ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩΆΈΉΊΌΎΏΪΫάέήίόύώϊϋΐΰς"
    "АБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЬЮЯѝ"
    "€„“”‚‘’«»–—…·→§°"
)
SANS_SYMBOLS = "☒☐⚠"  # tick boxes and review marks are set in the sans face only
SCRIPT = """
import sys
from datetime import datetime, UTC
from workers.rendering.pdf import html_to_pdf
html = ('<html lang="el"><head><link rel="stylesheet" href="rogatory-asset:print.css"></head>'
        '<body><p>' + sys.argv[2] + '</p><p lang="bg" class="mt-text">' + sys.argv[3] + '</p>'
        '<p class="mono">' + sys.argv[3] + '</p><h1>' + sys.argv[2] + '</h1></body></html>')
open(sys.argv[1], 'wb').write(html_to_pdf(html, original_message=b'x', created=datetime.now(UTC)))
"""


def test_eu_letters_and_symbols_have_glyphs_in_every_bundled_font() -> None:
    text = EU_LETTERS + EU_LETTERS.lower()
    for language in CATALOGUE_LANGUAGES:
        catalogue = load_catalogue(language)
        text += "".join(catalogue.ui.values()) + "".join(catalogue.fields.values())
        text += "".join(v for group in catalogue.codes.values() for v in group.values())
    needed = {ord(c) for c in text if not c.isspace()}
    for name in (n for n in ASSET_FILES if n.endswith(".ttf")):
        cmap = TTFont(TEMPLATE_DIR / name).getBestCmap()
        symbols = {ord(c) for c in SANS_SYMBOLS}
        wanted = needed | symbols if name == "fonts/DejaVuSans.ttf" else needed
        missing = sorted(chr(c) for c in wanted - set(cmap))
        assert missing == [], (name, missing)


def test_greek_and_bulgarian_render_with_bundled_fonts_when_the_system_has_none(
    tmp_path: Path,
) -> None:
    conf = tmp_path / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">'
        f"<fontconfig><cachedir>{tmp_path}/cache</cachedir></fontconfig>"
    )
    out = tmp_path / "scripts.pdf"
    env = {**os.environ, "FONTCONFIG_FILE": str(conf), "PYTHONPATH": str(TEMPLATE_DIR.parent)}
    subprocess.run(
        [sys.executable, "-c", SCRIPT, str(out), GREEK, BULGARIAN],
        env=env,
        check=True,
        timeout=120,
        cwd=TEMPLATE_DIR.parent,
    )
    text = pdf_text(out)
    assert GREEK in text
    assert BULGARIAN in text
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True, check=True)
    names = {line.split()[0].split("+", 1)[1] for line in fonts.stdout.splitlines()[2:]}
    assert names == {"Rogatory-Sans", "Rogatory-Serif", "Rogatory-Mono", "Rogatory-Serif-Bold"}


@pytest.mark.parametrize("name", sorted(n for n in ASSET_FILES if n.endswith(".ttf")))
def test_bundled_font_files_come_with_their_licence(name: str) -> None:
    assert (TEMPLATE_DIR / name).stat().st_size > 100_000
    assert "Bitstream Vera" in (TEMPLATE_DIR / "fonts" / "LICENSE-DejaVu.txt").read_text()
