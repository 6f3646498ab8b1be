"""Reading a maximum penalty or a sentence written in words, in the languages of the forms.

EAW Art 2 thresholds (3 years, 12 months, 4 months) are checked against what the issuer
typed: "3 years", "drie jaar", "cinq ans", "zwei Jahre", "4 años", "1 year and 6 months",
"2½ years", "life imprisonment". `penalty_months` answers the longest duration named, in
months (infinity for life), or None when nothing in the text can be read as a duration,
so the caller warns instead of passing silently.
"""

from __future__ import annotations

import math
import re
import unicodedata

# Number words 0-20 and the tens, per language (en, nl, fr, de, es), accents removed.
_UNITS: dict[str, int] = {}
for _words in (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty",
    "nul een twee drie vier vijf zes zeven acht negen tien elf twaalf dertien veertien "
    "vijftien zestien zeventien achttien negentien twintig",
    "zero un deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze "
    "quinze seize dix-sept dix-huit dix-neuf vingt",
    "null ein zwei drei vier funf sechs sieben acht neun zehn elf zwolf dreizehn vierzehn "
    "funfzehn sechzehn siebzehn achtzehn neunzehn zwanzig",
    "cero un dos tres cuatro cinco seis siete ocho nueve diez once doce trece catorce "
    "quince dieciseis diecisiete dieciocho diecinueve veinte",
):
    for _value, _word in enumerate(_words.split()):
        _UNITS.setdefault(_word, _value)
_UNITS.update({"a": 1, "an": 1, "one": 1, "een": 1, "une": 1, "eine": 1, "einem": 1, "uno": 1})
_UNITS.update({"una": 1, "zwei": 2, "zwo": 2, "single": 1})
_TENS = {
    **dict.fromkeys(("thirty", "dertig", "trente", "dreissig", "treinta"), 30),
    **dict.fromkeys(("forty", "veertig", "quarante", "vierzig", "cuarenta"), 40),
    **dict.fromkeys(("fifty", "vijftig", "cinquante", "funfzig", "cincuenta"), 50),
}
_TENS.update({"twenty": 20, "twintig": 20, "vingt": 20, "zwanzig": 20, "veinte": 20})
# Compound number words: twenty-five, vingt-cinq, vijfentwintig, fünfundzwanzig,
# veinticinco / treinta y cinco.
_ALL_NUMBERS: dict[str, float] = {word: float(value) for word, value in _UNITS.items()}
for _ten, _tens_value in _TENS.items():
    _ALL_NUMBERS[_ten] = _tens_value
    for _unit, _unit_value in list(_UNITS.items()):
        if 1 <= _unit_value <= 9 and _unit not in ("a", "an", "single"):
            _ALL_NUMBERS[f"{_ten}-{_unit}"] = _tens_value + _unit_value
            _ALL_NUMBERS[f"{_ten} y {_unit}"] = _tens_value + _unit_value
            _ALL_NUMBERS[f"{_ten} et {_unit}"] = _tens_value + _unit_value
            _ALL_NUMBERS[f"{_unit}en{_ten}"] = _tens_value + _unit_value
            _ALL_NUMBERS[f"{_unit}und{_ten}"] = _tens_value + _unit_value
            _ALL_NUMBERS[f"veinti{_unit}"] = 20 + _unit_value
_ALL_NUMBERS.update({"veintiun": 21, "veintidos": 22, "veintitres": 23, "veintiseis": 26})
_ALL_NUMBERS.update({"anderhalf": 1.5, "eineinhalb": 1.5, "anderthalb": 1.5})

_YEARS = r"(?:years?|yrs?|jaar|jaren|ans?|annees?|jahre?n?|anos?)"
_MONTHS = r"(?:months?|maand(?:en)?|mois|monate?n?|mes(?:es)?)"
_WEEKS = r"(?:weeks?|weken|semaines?|wochen|semanas?)"
_DAYS = r"(?:days?|dagen|dag|jours?|tage?n?|dias?)"
_UNIT_MONTHS = ((_YEARS, 12.0), (_MONTHS, 1.0), (_WEEKS, 12.0 / 52), (_DAYS, 12.0 / 365))
_HALF = r"(?:\s+(?:and\s+a\s+half|en\s+een\s+half|et\s+demi|y\s+medio|einhalb))?"
_NUMBER_WORD = "|".join(sorted((re.escape(w) for w in _ALL_NUMBERS), key=len, reverse=True))
_AMOUNT = rf"(\d+(?:[.,]\d+)?\s*½?|½|(?:{_NUMBER_WORD}))"
_DURATION = re.compile(
    rf"(?<![\w-]){_AMOUNT}({_HALF})(?:\s|-)*({_YEARS}|{_MONTHS}|{_WEEKS}|{_DAYS})(?!\w)"
    rf"({_HALF})",
    re.IGNORECASE,
)
# "1 year and 6 months", "1 jaar en 6 maanden", "un an et six mois", "1 Jahr und 6 Monate"
_JOINER = re.compile(r"^\s*(?:,|and|en|et|und|y|plus|\+)?\s*$", re.IGNORECASE)
_LIFE = re.compile(
    r"\b(life|lifelong|levenslang\w*|perpetuite|lebenslang\w*|perpetua|permanente)\b",
    re.IGNORECASE,
)


def _plain(text: str) -> str:
    """Lower case without accents (fünf → funf, años → anos), so one table serves."""
    decomposed = unicodedata.normalize("NFKD", text.replace("½", "\x00"))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.replace("\x00", "½").lower()


def _amount(raw: str, halves: str) -> float | None:
    raw = raw.strip()
    value: float
    if raw in _ALL_NUMBERS:
        value = float(_ALL_NUMBERS[raw])
    else:
        digits = raw.replace("½", "").strip().replace(",", ".")
        value = float(digits) if digits else 0.0
        if "½" in raw:
            value += 0.5
    if halves.strip():
        value += 0.5
    return value if value > 0 else None


def penalty_months(text: object) -> float | None:
    """The longest duration named in a penalty text, in months (math.inf for life); None
    when no duration can be read. Durations joined by "and" (1 year and 6 months) add up."""
    if not isinstance(text, str) or not text.strip():
        return None
    plain = _plain(text)
    found: list[float] = []
    previous_end, running = -1, 0.0
    for match in _DURATION.finditer(plain):
        amount = _amount(match.group(1), (match.group(2) or "") + (match.group(4) or ""))
        if amount is None:
            continue
        unit = match.group(3)
        months = amount * next(f for pattern, f in _UNIT_MONTHS if re.fullmatch(pattern, unit))
        joined = previous_end >= 0 and _JOINER.match(plain[previous_end : match.start()])
        running = running + months if joined else months
        found.append(running)
        previous_end = match.end()
    if _LIFE.search(plain):
        found.append(math.inf)
    return max(found) if found else None
