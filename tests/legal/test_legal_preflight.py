"""Pre-flight checks warn (never refuse): per instrument, in the 202 answer and compose page."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from legal_support import eaw_form, submit

from gateway.config import Settings
from gateway.domain.preflight import preflight_warnings
from gateway.runtime.container import Runtime, build_runtime

TODAY = date(2026, 12, 7)
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
BELOW, EXECUTION = "listed-offence-below-threshold", "execution-custodial-sentence"


def _codes(form: dict[str, Any]) -> set[str]:
    return {w.code for w in preflight_warnings(form, today=TODAY)}


def _eio() -> dict[str, Any]:
    return json.loads((FIXTURES / "mla_request.json").read_text())


def test_eio_without_annex_d_category_or_validation_is_flagged() -> None:
    form = _eio()
    assert "no-listed-offence" not in _codes(form)
    form["sections"]["G"].pop("list_offences", None)
    form["sections"]["K"]["authority_name"] = "Politie Eenheid Rotterdam"
    form["sections"].pop("L", None)
    assert {"no-listed-offence", "validation-needed"} <= _codes(form)
    form["sections"]["L"] = {"validating_authority": "Officier van justitie Rotterdam"}
    assert "validation-needed" not in _codes(form)


@pytest.mark.parametrize(
    ("c", "e_listed", "purpose", "expected"),
    [
        ({"maximum_sentence": "8 jaar gevangenisstraf."}, True, "prosecution", set()),
        ({"maximum_sentence": "2 years"}, True, "prosecution", {"listed-offence-below-threshold"}),
        ({}, True, "prosecution", {"penalty-unknown"}),
        ({"maximum_sentence": "18 months"}, False, "prosecution", set()),
        ({"maximum_sentence": "6 mois"}, False, "prosecution", {"penalty-below-threshold"}),
        (
            {"sentence_imposed": "3 Monate"},
            False,
            "execution-custodial-sentence",
            {"sentence-below-threshold"},
        ),
        ({"sentence_imposed": "5 meses"}, False, "execution-custodial-sentence", set()),
        # in words too; text naming no duration warns instead of passing silently
        ({"maximum_sentence": "drie jaar"}, True, "prosecution", set()),
        ({"maximum_sentence": "zwei Jahre"}, True, "prosecution", {BELOW}),
        ({"maximum_sentence": "levenslang"}, True, "prosecution", set()),
        ({"maximum_sentence": "zware straf"}, True, "prosecution", {"penalty-unreadable"}),
        ({"maximum_sentence": "dieciocho meses"}, False, "prosecution", set()),
        ({"maximum_sentence": "une amende"}, False, "prosecution", {"penalty-unreadable"}),
        ({"sentence_imposed": "cinq mois"}, False, EXECUTION, set()),
        ({"sentence_imposed": "lang"}, False, EXECUTION, {"penalty-unreadable"}),
    ],
)
def test_eaw_thresholds_of_article_2(
    c: dict[str, str], e_listed: bool, purpose: str, expected: set[str]
) -> None:
    form = eaw_form()
    form["sections"]["a"]["nationality"] = "GR"
    form["sections"]["c"] = c
    form["sections"]["b"]["purpose"] = purpose
    if not e_listed:
        form["sections"]["e"].pop("list_offences")
    assert _codes(form) == expected


def test_witness_video_hearing_needs_dates_and_language() -> None:
    form = {
        "request_type": "witness-examination",
        "sections": {
            "C": [{"status": "witness", "surname": "Dubois"}],
            "D": {"mode": "videoconference", "proposed_start": "2026-11-01T10:00:00+01:00"},
            "F": {"legal_qualification": " "},
        },
    }
    assert _codes(form) == {
        "hearing-date-past",
        "witness-language-missing",
        "identity-incomplete",
        "qualification-missing",
    }
    broken = copy.deepcopy(form)
    broken["sections"] = {"C": "not a list", "D": ["nonsense"]}  # a draft: never crashes
    assert "qualification-missing" in _codes(broken)


@pytest.fixture
def rt(make_settings: Callable[..., Settings]) -> Iterator[Runtime]:
    runtime = build_runtime(make_settings())
    yield runtime
    runtime.close()


def test_intake_accepts_and_reports_warnings(rt: Runtime) -> None:
    form = eaw_form()
    form["sections"]["c"] = {"maximum_sentence": "2 years"}
    accepted = submit(rt, form, datetime.now(UTC), signer="magistrate-rsa")
    assert accepted.request_id
    codes = {w.code for w in accepted.warnings}
    assert codes == {"listed-offence-below-threshold", "identity-incomplete"}
