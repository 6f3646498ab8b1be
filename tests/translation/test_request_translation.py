"""A whole request through the real argostranslate path on the tiny model, and via Apertium."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from documents_support import DOCX_PARAGRAPHS, PDF_PARAGRAPHS, make_docx, make_pdf

from gateway.domain.forms import RequestForm, field_values, translatable_segments
from gateway.translation.documents import ExtractedDocument
from gateway.translation.glossary import Glossary
from gateway.translation.ports import TranslatedText, TranslationFailed, Translator
from gateway.translation.request_translation import translate_request
from gateway.translation.result import TranslationResult
from workers.extraction.extract import DOCX, PDF, extract_document

NOW = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
PROTECTED = [
    "Pieter Jansen",
    "12 January 2026",
    "EUR 12.500,00",
    "NL91 ABNA 0417 1643 00",
    "+31 10 123 4567",
    "ROT-2026-00123",
    "art. 326 Sr",
    "€1,000",
]


@pytest.fixture(scope="module")
def attachments() -> list[ExtractedDocument]:
    return [
        extract_document("statement.docx", DOCX, make_docx()),
        extract_document("report.pdf", PDF, make_pdf()),
        extract_document("photo.png", "image/png", b"\x89PNG\r\n\x1a\nnot really"),
    ]


def _check_request_result(result: TranslationResult, form: RequestForm) -> None:
    free_text = {s.path: s.text for s in translatable_segments(form)}
    assert [s.path for s in result.fields] == list(free_text)
    # Codes, identifiers, names, dates as fields never reach MT.
    assert not {p for p, spec, _ in field_values(form) if not spec.kind.translatable} & {
        s.path for s in result.fields
    }
    for segment in result.all_segments():
        assert segment.status in ("translated", "needs-review")
        assert segment.target
        assert segment.provenance.engine
        assert segment.provenance.model_sha256
        assert segment.provenance.legs
        assert segment.provenance.translated_at == "2026-11-21T09:30:00Z"
        assert len(segment.provenance.source_sha256) == 64
    targets = "\n".join(s.target or "" for s in result.all_segments())
    for span in PROTECTED:
        assert span in targets  # byte-exact
    docx_result, pdf_result, image_result = result.documents
    assert [s.path for s in docx_result.segments][:3] == ["p[0]", "p[1]", "p[2]"]
    assert [s.source for s in docx_result.segments][:3] == DOCX_PARAGRAPHS
    assert [s.source for s in pdf_result.segments] == PDF_PARAGRAPHS
    assert image_result.status == "not-machine-translated"
    assert image_result.reason == "image-only"
    assert result.status == "needs-review"  # the image needs a human translator
    assert TranslationResult.from_json(json.loads(result.dumps())) == result


def test_mla_form_and_attachments_through_the_real_argos_path(
    mla_form: RequestForm, attachments: list[ExtractedDocument], argos_engine: Any
) -> None:
    calls: list[tuple[int, int]] = []
    result = translate_request(
        mla_form,
        attachments,
        argos_engine,
        target="es",
        glossary=None,
        request_id="req-1",
        now=NOW,
        progress=lambda done, total: calls.append((done, total)),
        chunk_segments=4,
    )
    _check_request_result(result, mla_form)
    total = len(result.all_segments())
    assert calls[0] == (0, total)
    assert calls[-1] == (total, total)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    first = result.fields[0].provenance
    assert first.engine == "argostranslate"
    assert first.model == "translate-en_es"
    assert first.legs[0].source == "en"
    assert first.legs[0].target == "es"


def test_apertium_gives_readable_spanish_with_glossary_terms_forced(
    mla_form: RequestForm, attachments: list[ExtractedDocument], apertium: Any
) -> None:
    glossary = Glossary.from_csv(
        "source,target\nmoney laundering,blanqueo de capitales\nfalse invoices,facturas falsas\n",
        issuing_authority="nl-om-rotterdam",
        executing_authority="es-fiscalia-madrid",
        source_language="en",
        target_language="es",
    )
    result = translate_request(
        mla_form,
        attachments,
        apertium,
        target="es",
        glossary=glossary,
        request_id="req-2",
        now=NOW,
        progress=None,
    )
    _check_request_result(result, mla_form)
    by_path = {s.path: s for s in result.fields}
    facts = by_path["sections.G.facts"].target or ""
    assert "sospechoso" in facts
    assert "facturas falsas" in facts
    qualification = by_path["sections.G.legal_qualification"]
    assert "blanqueo de capitales" in (qualification.target or "")
    assert "glossary" in qualification.flags
    provenance = qualification.provenance
    assert provenance.engine == "apertium"
    assert provenance.model.startswith("apertium-eng-spa ")


class _BrokenEngine:
    name = "broken"

    def pairs(self) -> set[tuple[str, str]]:
        return {("en", "es")}

    def translate_batch(
        self, texts: Sequence[str], source: str, target: str
    ) -> list[TranslatedText]:
        raise TranslationFailed("model file unreadable", code="engine-error")


def test_forced_engine_failure_fails_every_segment_without_copying_the_source(
    mla_form: RequestForm, attachments: list[ExtractedDocument]
) -> None:
    engine: Translator = _BrokenEngine()
    result = translate_request(
        mla_form,
        attachments,
        engine,
        target="es",
        glossary=None,
        request_id="req-3",
        now=NOW,
        progress=None,
    )
    assert result.status == "failed"
    segments = result.all_segments()
    assert segments
    for segment in segments:
        assert segment.status == "failed"
        assert segment.target is None
        assert segment.flags == ("engine-error",)
        assert segment.provenance.engine == "broken"
    assert json.loads(result.dumps())["fields"][0]["target"] is None


def test_pivot_through_english_records_both_legs(argos_engine: Any) -> None:
    assert ("nl", "es") in argos_engine.pairs()
    [output] = argos_engine.translate_batch(["De verdachte."], "nl", "es")
    assert [(leg.source, leg.target) for leg in output.legs] == [("nl", "en"), ("en", "es")]
    assert output.legs[0].model_sha256 != output.legs[1].model_sha256
    assert output.text


def test_unsupported_pair_is_a_failure_not_a_passthrough(argos_engine: Any) -> None:
    with pytest.raises(TranslationFailed) as error:
        argos_engine.translate_batch(["x"], "es", "de")
    assert error.value.code == "unsupported-pair"
