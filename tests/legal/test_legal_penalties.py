"""A penalty is read in words as well as digits, in the forms' languages (EAW Art 2 checks:
test_legal_preflight); text naming no duration is not read."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.domain.penalties import penalty_months


@pytest.mark.parametrize(
    ("text", "months"),
    [
        ("3 years", 36),
        ("three years", 36),
        ("36 months", 36),
        ("18 maanden", 18),
        ("drie jaar", 36),
        ("5 ans", 60),
        ("cinq ans", 60),
        ("2 Jahre", 24),
        ("zwei Jahre", 24),
        ("4 años", 48),
        ("1 year and 6 months", 18),
        ("1 jaar en 6 maanden", 18),
        ("un an et six mois", 18),
        ("1 Jahr und 6 Monate", 18),
        ("2½ years", 30),
        ("2.5 years", 30),
        ("2,5 jaar", 30),
        ("one and a half years", 18),
        ("anderhalf jaar", 18),
        ("twenty-five years", 300),
        ("vijfentwintig jaar", 300),
        ("vingt-cinq ans", 300),
        ("fünfundzwanzig Jahre", 300),
        ("veinticinco años", 300),
        ("treinta y cinco años", 420),
        ("dieciocho meses", 18),
        ("sechs Monate", 6),
        ("Gevangenisstraf van ten hoogste 8 jaar.", 96),
        ("up to 10 years or a fine", 120),
        ("3 years or 6 months", 36),
    ],
)
def test_penalty_in_words_or_digits_is_read_in_months(text: str, months: float) -> None:
    assert penalty_months(text) == pytest.approx(months)


@pytest.mark.parametrize(
    "text",
    [
        "life imprisonment",
        "levenslang",
        "levenslange gevangenisstraf",
        "réclusion à perpétuité",
        "lebenslange Freiheitsstrafe",
        "prisión permanente revisable",
    ],
)
def test_life_imprisonment_is_longer_than_any_term(text: str) -> None:
    assert penalty_months(text) == math.inf


@pytest.mark.parametrize("text", ["", "   ", "a fine", "zware straf", "Art 2 Sr", "12", None, 3])
def test_text_without_a_duration_is_not_read(text: Any) -> None:
    assert penalty_months(text) is None


_NUMBERS = {
    "en": ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"],
    "nl": ["een", "twee", "drie", "vier", "vijf", "zes", "zeven", "acht", "negen", "tien"],
    "fr": ["un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix"],
    "de": ["ein", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun", "zehn"],
    "es": ["un", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve", "diez"],
}
_UNITS = {
    "en": ("years", "months"),
    "nl": ("jaar", "maanden"),
    "fr": ("ans", "mois"),
    "de": ("Jahre", "Monate"),
    "es": ("años", "meses"),
}


@given(
    st.sampled_from(sorted(_NUMBERS)),
    st.integers(min_value=1, max_value=10),
    st.booleans(),
    st.booleans(),
)
def test_a_number_word_reads_as_its_digits(
    language: str, number: int, in_years: bool, capitalised: bool
) -> None:
    word = _NUMBERS[language][number - 1]
    unit = _UNITS[language][0 if in_years else 1]
    text = f"{word} {unit}"
    text = text.capitalize() if capitalised else text
    expected = number * (12 if in_years else 1)
    assert penalty_months(text) == expected
    assert penalty_months(f"{number} {unit}") == expected


@given(st.text(alphabet=st.characters(blacklist_categories=("Nd",)), max_size=60))
def test_text_without_digits_or_number_words_never_crashes(text: str) -> None:
    result = penalty_months(text)
    assert result is None or result > 0
