"""Stored glossaries: import (CSV, TBX), replace, select per request, refuse bad input."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy.engine import Engine

from gateway.config import Settings
from gateway.domain.errors import NotFound
from gateway.domain.forms import RequestForm
from gateway.persistence.db import make_engine, transaction
from gateway.persistence.requests_store import RequestRow
from gateway.services.glossaries import (
    glossary_for_request,
    import_glossary,
    list_glossaries,
    remove_glossary,
)
from gateway.services.translation_progress import ProgressReporter
from gateway.translation.glossary import InvalidGlossary
from gateway.translation.request_translation import translate_request

PAIR = {"issuing": "nl-om-rotterdam", "executing": "es-fiscalia-madrid"}
TBX = b"""<?xml version="1.0"?>
<martif type="TBX" xmlns:xml="http://www.w3.org/XML/1998/namespace"><text><body>
<termEntry><langSet xml:lang="en"><tig><term>letter rogatory</term></tig></langSet>
<langSet xml:lang="es"><tig><term>comision rogatoria</term></tig></langSet></termEntry>
</body></text></martif>"""


@pytest.fixture
def engine(make_settings: Callable[..., Settings]) -> Iterator[Engine]:
    created = make_engine(make_settings().database_url)
    yield created
    created.dispose()


def _request(source: str, target: str) -> RequestRow:
    """Only what glossary selection reads (RequestRow gains columns other areas own)."""
    row = SimpleNamespace(
        issuing_authority_id=PAIR["issuing"],
        executing_authority_id=PAIR["executing"],
        source_language=source,
        target_language=target,
    )
    return row  # type: ignore[return-value]


def test_import_replaces_and_the_request_gets_its_language_pairs_glossary(engine: Engine) -> None:
    first, previous = import_glossary(
        engine, b"source,target\nfacts,hechos\n", "csv", **PAIR, source="en", target="es",
        actor="admin:test",
    )  # fmt: skip
    assert previous is None
    second, previous = import_glossary(
        engine, TBX, "tbx", **PAIR, source="en", target="es", actor="admin:test"
    )
    assert previous == first
    assert second.sha256 != first.sha256
    import_glossary(
        engine, b"nl,es\nfeiten,hechos\n", "csv", **PAIR, source="nl", target="es",
        actor="admin:test",
    )  # fmt: skip
    assert [(g.source_language, g.entry_count) for g in list_glossaries(engine)] == [
        ("en", 1),
        ("nl", 1),
    ]
    with transaction(engine) as conn:
        chosen = glossary_for_request(conn, _request("en", "es"))
        assert chosen is not None
        assert chosen.terms() == {"letter rogatory": "comision rogatoria"}
        assert glossary_for_request(conn, _request("en", "fr")) is None
        reversed_pair = _request("en", "es")
        reversed_pair.issuing_authority_id = PAIR["executing"]  # type: ignore[misc]
        reversed_pair.executing_authority_id = PAIR["issuing"]  # type: ignore[misc]
        assert glossary_for_request(conn, reversed_pair) is None
    remove_glossary(engine, **PAIR, source="en", target="es", actor="admin:test")
    with pytest.raises(NotFound):
        remove_glossary(engine, **PAIR, source="en", target="es", actor="admin:test")


@pytest.mark.parametrize(
    ("data", "fmt", "source", "target"),
    [
        (b"source,target\nfacts,hechos\n", "csv", "en", "en"),
        (b"wrong,header\nfacts,hechos\n", "csv", "en", "es"),
        (b"source,target\n\xff\xfe,x\n", "csv", "en", "es"),
        (b"<!DOCTYPE x [<!ENTITY a 'b'>]><martif/>", "tbx", "en", "es"),
    ],
)
def test_bad_glossaries_are_refused_and_nothing_is_stored(
    engine: Engine, data: bytes, fmt: str, source: str, target: str
) -> None:
    with pytest.raises(InvalidGlossary) as refused:
        import_glossary(
            engine,
            data,
            fmt,
            **PAIR,
            source=source,
            target=target,
            actor="admin:test",  # type: ignore[arg-type]
        )
    assert refused.value.code == "invalid-glossary"
    assert list_glossaries(engine) == []


def test_glossary_for_unknown_authority_is_refused(engine: Engine) -> None:
    with pytest.raises(NotFound):
        import_glossary(
            engine, b"source,target\na,b\n", "csv", issuing="nobody",
            executing=PAIR["executing"], source="en", target="es", actor="admin:test",
        )  # fmt: skip
    assert list_glossaries(engine) == []


@pytest.mark.parametrize(
    ("done", "total", "mark"),
    [(0, 8, 0), (1, 8, 0), (2, 8, 25), (5, 8, 50), (7, 8, 75), (8, 8, 0), (3, 0, 0)],
)
def test_progress_is_audited_at_25_percent_marks_only(done: int, total: int, mark: int) -> None:
    assert ProgressReporter._mark(done, total) == mark


def test_same_language_is_not_needed_and_never_calls_the_engine(mla_form: RequestForm) -> None:
    class Refuses:
        name = "refuses"

        def pairs(self) -> set[tuple[str, str]]:
            return set()

        def translate_batch(self, texts: object, source: str, target: str) -> list[object]:
            raise AssertionError("the engine must not be called")

    result = translate_request(
        mla_form,
        [],
        Refuses(),  # type: ignore[arg-type]
        target=mla_form.language,
        glossary=None,
        request_id="r-1",
        now=datetime(2026, 11, 21, tzinfo=UTC),
    )
    assert result.status == "not-needed"
    assert {(s.status, s.target, s.provenance.engine) for s in result.fields} == {
        ("not-needed", None, "none")
    }
