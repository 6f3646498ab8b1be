"""Every interface text in the sources has a Dutch translation, with the same placeholders.

The messages are extracted from the sources with babel, as `pybabel extract` does with
gateway/web/translations/babel.cfg, so a new `_()` without its Dutch text fails here (the
catalogue check in test_ui_accounts_cli only looks at the entries the .po already has).
"""

from __future__ import annotations

import re

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from process_support import REPO

from gateway.web.ui import TRANSLATIONS_DIR

# %(name)s / %(count)d of gettext, {name} of the sealing page's messages (seal.js fills them)
_PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|\{[a-z_]+\}")


def _extracted() -> set[str]:
    with open(TRANSLATIONS_DIR / "babel.cfg", encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    keywords = {**DEFAULT_KEYWORDS, "lazy_gettext": None}
    found = set()
    for _name, _line, message, _comments, _context in extract_from_dir(
        REPO, method_map, options_map, keywords=keywords
    ):
        for text in message if isinstance(message, tuple) else (message,):
            if text:
                found.add(text)
    return found


def _dutch() -> dict[str, str]:
    with open(TRANSLATIONS_DIR / "nl" / "LC_MESSAGES" / "messages.po", "rb") as handle:
        catalogue = read_po(handle)
    return {m.id: m.string for m in catalogue if m.id and isinstance(m.id, str)}


def test_extraction_finds_the_texts_of_templates_and_views() -> None:
    found = _extracted()
    assert "Sign and submit" in found  # templates/ui/draft.html
    assert "Choose at least one ground of refusal from the list." in found  # views (lazy)
    assert len(found) > 300


def test_every_interface_text_has_a_dutch_translation() -> None:
    dutch = _dutch()
    missing = sorted(text for text in _extracted() if not dutch.get(text, "").strip())
    assert missing == [], f"{len(missing)} texts lack a Dutch translation"


def test_dutch_texts_keep_the_placeholders_of_the_english_ones() -> None:
    dutch = _dutch()
    wrong = [
        text
        for text in _extracted()
        if text in dutch
        and sorted(_PLACEHOLDER.findall(text)) != sorted(_PLACEHOLDER.findall(dutch[text]))
    ]
    assert wrong == []
