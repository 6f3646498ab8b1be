"""The cover is one page for every request type and long-label language pair, and holds the
legal time limits with the article each comes from, in both languages (issue 18)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rendering_samples import make_form, make_translation, render_request_file
from rendering_support import REQUEST_TYPES, folded, pdf_text

from gateway.domain.labels import load_catalogue
from gateway.domain.legal_clocks import Terms, planned_clocks

# Long-label pairs. The sample texts exist in en, nl, es and fr; a German pair prints the
# en->es (or es->nl) texts under German labels: the cover holds labels and metadata only.
LONG_PAIRS = [("nl", "fr"), ("fr", "nl"), ("es", "nl"), ("de", "es"), ("es", "de")]
_TEXTS_FOR = {("de", "es"): ("en", "es"), ("es", "de"): ("es", "nl")}


def _render(tmp_path: Path, request_type: str, source: str, target: str, **extra) -> Path:
    written, translated = _TEXTS_FOR.get((source, target), (source, target))
    form = make_form(request_type, written)
    form["handling"] = ["speciality", "no-onward-transmission", "urgent"]  # the longest cover
    form["sections"].setdefault("B", {}).update(extra)
    translation = make_translation(request_type, written, translated, f"req-cover-{request_type}")
    form["language"] = translation["source_language"] = source
    translation["target_language"] = target
    path = tmp_path / f"{request_type}-{source}-{target}.pdf"
    return render_request_file(path, form, translation, target=target)


@pytest.mark.parametrize(("source", "target"), LONG_PAIRS)
@pytest.mark.parametrize("request_type", REQUEST_TYPES)
def test_cover_holds_the_legal_clocks_and_ends_on_page_one(
    tmp_path: Path, request_type: str, source: str, target: str
) -> None:
    path = _render(tmp_path, request_type, source, target, deadline="2027-01-15")
    first, second = pdf_text(path, 1), pdf_text(path, 2)
    plans = planned_clocks(Terms(request_type, "normal", None))
    for language in (target, source):
        labels = load_catalogue(language)
        assert labels.text("legal_clocks") in first
        assert labels.code_meaning("legal_clock", "deadline") in first
        for plan in plans:
            assert labels.code_meaning("legal_clock", plan.key) in first
            assert plan.counted_from is not None
            within = labels.code_meaning("clock_within", plan.counted_from)
            assert within.replace("{days}", str(plan.days)) in first
            # no clock runs before the executing side has the request: no date for these
            assert labels.code_meaning("clock_starts", plan.counted_from) in first
        # the cover's last block (translation status) is still on page 1 ...
        assert labels.text("translation_status") in first
        # ... and none of the cover continues on page 2, which opens the form
        for cover_only in ("legal_clocks", "integrity", "translation_status", "mt_notice_title"):
            assert labels.text(cover_only) not in second, (language, cover_only)
        assert folded(labels.text("clocks_note")) not in second
    for plan in planned_clocks(Terms(request_type, "normal", None)):
        assert plan.rule.partition(" Art ")[2] in first  # the article each limit comes from
    assert "2027-01-15" in first  # the issuer's own deadline is a date
    assert load_catalogue(target).form(request_type, "preamble")[:40] in second


def test_witness_request_without_deadline_says_no_limit_is_set(tmp_path: Path) -> None:
    path = _render(tmp_path, "witness-examination", "nl", "fr")
    first = pdf_text(path, 1)
    for language in ("fr", "nl"):
        assert folded(load_catalogue(language).text("no_statutory_limit")) in first
