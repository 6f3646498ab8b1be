"""TMX 1.4b reader and writer (defusedxml; translate-toolkit is not a dependency).

Only what a translation memory exchange needs: one `<tu>` per entry with one `<tuv>` per
language, `<seg>` holding plain text. Inline markup inside `<seg>` is flattened to its text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.etree.ElementTree import Element, SubElement, tostring

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from gateway.domain.errors import DomainError

_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
MAX_TMX_BYTES = 50 * 1024 * 1024


class InvalidTmx(DomainError):
    code = "invalid-tmx"
    status = 400


@dataclass(frozen=True)
class TmxUnit:
    source: str
    target: str
    created_by: str | None = None
    tuid: str | None = None


def parse_tmx(data: bytes, source_language: str, target_language: str) -> list[TmxUnit]:
    """Units that hold both languages (matched on the primary subtag, case-insensitive)."""
    if len(data) > MAX_TMX_BYTES:
        raise InvalidTmx("TMX file is larger than 50 MiB")
    try:
        root = SafeET.fromstring(data)
    except (SafeET.ParseError, DefusedXmlException) as exc:
        raise InvalidTmx(f"TMX is not well-formed XML: {exc}") from None
    if root.tag != "tmx":
        raise InvalidTmx("not a TMX document (root element is not <tmx>)")
    body = root.find("body")
    if body is None:
        raise InvalidTmx("TMX has no <body>")
    units = []
    for index, tu in enumerate(body.findall("tu")):
        segments: dict[str, str] = {}
        for tuv in tu.findall("tuv"):
            lang = (tuv.get(_XML_LANG) or tuv.get("lang") or "").split("-")[0].lower()
            seg = tuv.find("seg")
            if not lang or seg is None:
                raise InvalidTmx(f"<tu> #{index + 1}: <tuv> without xml:lang or <seg>")
            segments[lang] = "".join(seg.itertext())
        source = segments.get(source_language)
        target = segments.get(target_language)
        if source is None or target is None:
            continue
        if not source.strip() or not target.strip():
            raise InvalidTmx(f"<tu> #{index + 1}: empty segment")
        units.append(TmxUnit(source, target, tu.get("creationid"), tu.get("tuid")))
    return units


def write_tmx(units: Sequence[TmxUnit], source_language: str, target_language: str) -> bytes:
    root = Element("tmx", version="1.4")
    SubElement(
        root,
        "header",
        {
            "creationtool": "rogatory",
            "creationtoolversion": "1",
            "segtype": "sentence",
            "o-tmf": "rogatory",
            "adminlang": "en",
            "srclang": source_language,
            "datatype": "plaintext",
        },
    )
    body = SubElement(root, "body")
    for unit in units:
        attributes = {}
        if unit.tuid:
            attributes["tuid"] = unit.tuid
        if unit.created_by:
            attributes["creationid"] = unit.created_by
        tu = SubElement(body, "tu", attributes)
        for lang, text in ((source_language, unit.source), (target_language, unit.target)):
            tuv = SubElement(tu, "tuv", {_XML_LANG: lang})
            SubElement(tuv, "seg").text = text
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="unicode").encode(
        "utf-8"
    )
