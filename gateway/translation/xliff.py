"""XLIFF 2.0 export and import of a request's segments (defusedxml; no translate-toolkit).

One `<unit>` per segment, id `s1`, `s2`, ... and `name` = the segment's path; the segment's
flags travel as `<note category="rogatory-flags">`. Import reads only ids and targets; what the
targets may contain is judged by the review service, never here.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element, SubElement, tostring

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from gateway.domain.errors import DomainError
from gateway.translation.result import TranslationResult
from gateway.translation.review import Decision, segment_ids

NS = "urn:oasis:names:tc:xliff:document:2.0"
MAX_XLIFF_BYTES = 20 * 1024 * 1024


class InvalidXliff(DomainError):
    code = "invalid-xliff"
    status = 400


@dataclass(frozen=True)
class XliffDocument:
    original: str
    source_language: str
    target_language: str
    targets: dict[str, str]  # unit id -> target text (units without a target are left out)


def export_xliff(result: TranslationResult, decisions: dict[str, Decision] | None = None) -> bytes:
    decisions = decisions or {}
    root = Element(
        "xliff",
        {
            "xmlns": NS,
            "version": "2.0",
            "srcLang": result.source_language,
            "trgLang": result.target_language,
        },
    )
    file = SubElement(root, "file", {"id": "f1", "original": result.request_id})
    for sid, segment in segment_ids(result):
        if segment.status == "not-needed":
            continue
        unit = SubElement(file, "unit", {"id": sid, "name": segment.path})
        flags = list(segment.flags)
        decision = decisions.get(sid)
        if decision is not None:
            flags += [f for f in decision.flags if f not in flags]
        if flags:
            notes = SubElement(unit, "notes")
            SubElement(notes, "note", {"category": "rogatory-flags"}).text = " ".join(flags)
        state = "reviewed" if decision and decision.status != "flagged" else "translated"
        target = decision.target if decision is not None else segment.target
        element = SubElement(unit, "segment", {"state": state if target else "initial"})
        SubElement(element, "source").text = segment.source
        if target is not None:
            SubElement(element, "target").text = target
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="unicode").encode(
        "utf-8"
    )


def parse_xliff(data: bytes) -> XliffDocument:
    if len(data) > MAX_XLIFF_BYTES:
        raise InvalidXliff("XLIFF file is larger than 20 MiB")
    try:
        root = SafeET.fromstring(data)
    except (SafeET.ParseError, DefusedXmlException) as exc:
        raise InvalidXliff(f"XLIFF is not well-formed XML: {exc}") from None
    if root.tag != f"{{{NS}}}xliff" or not str(root.get("version", "")).startswith("2."):
        raise InvalidXliff("not an XLIFF 2.x document")
    files = root.findall(f"{{{NS}}}file")
    if len(files) != 1:
        raise InvalidXliff("an XLIFF for one request has exactly one <file>")
    targets: dict[str, str] = {}
    for unit in files[0].iter(f"{{{NS}}}unit"):
        unit_id = unit.get("id")
        if not unit_id:
            raise InvalidXliff("a <unit> has no id")
        if unit_id in targets:
            raise InvalidXliff(f"unit id {unit_id} appears twice")
        pieces = ["".join(target.itertext()) for target in unit.iter(f"{{{NS}}}target")]
        if pieces:
            targets[unit_id] = "".join(pieces)
    return XliffDocument(
        original=files[0].get("original", ""),
        source_language=root.get("srcLang", ""),
        target_language=root.get("trgLang", ""),
        targets=targets,
    )
