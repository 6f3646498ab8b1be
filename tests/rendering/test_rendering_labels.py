"""The hand-kept label catalogues are complete for every form, field and code."""

from __future__ import annotations

import pytest

from gateway.domain import catalogues as cat
from gateway.domain.fields import FieldKind
from gateway.domain.labels import (
    CATALOGUE_LANGUAGES,
    CODE_LISTS,
    UnknownLabel,
    UnsupportedLanguage,
    catalogue_for,
    code_list_name,
    load_catalogue,
    missing_entries,
)
from gateway.domain.request_types import SCHEMAS


@pytest.mark.parametrize("language", CATALOGUE_LANGUAGES)
def test_catalogue_has_every_label_of_every_form(language: str) -> None:
    labels = load_catalogue(language)
    assert missing_entries(labels, load_catalogue("en")) == []
    assert missing_entries(load_catalogue("en"), labels) == []
    for schema in SCHEMAS.values():
        assert labels.form(schema.request_type.value, "title")
        for section in schema.sections:
            assert labels.section_title(schema.request_type.value, section.key)
            for spec in section.fields:
                assert labels.field_label(spec.key)
                if spec.kind in (FieldKind.CODE, FieldKind.CODES):
                    list_name = code_list_name(spec.codes)
                    assert all(labels.has_code(list_name, c) for c in spec.codes)
    for list_name, codes in CODE_LISTS.items():
        assert set(labels.codes[list_name]) == set(codes), list_name


@pytest.mark.parametrize("language", CATALOGUE_LANGUAGES)
def test_all_32_list_offences_have_distinct_meanings(language: str) -> None:
    offences = load_catalogue(language).codes["list_offences"]
    assert len(cat.LIST_OFFENCES) == 32
    assert len(set(offences[c] for c in cat.LIST_OFFENCES)) == 32


def test_languages_without_a_catalogue_fall_back_to_english_only_on_request() -> None:
    assert catalogue_for("bg").language == "en"
    with pytest.raises(UnsupportedLanguage) as caught:
        load_catalogue("bg")
    assert caught.value.code == "unsupported-language"


def test_missing_label_raises_a_coded_error() -> None:
    with pytest.raises(UnknownLabel) as caught:
        load_catalogue("fr").field_label("no-such-field")
    assert caught.value.code == "unknown-label"
