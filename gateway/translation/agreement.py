"""Agreement with inserted glossary terms: the engine saw a placeholder, not a feminine noun.

Engines inflect determiners around an unknown token as masculine singular ("el [[1]]",
"un [[1]]", "del [[1]]"). When the glossary entry carries gender and number for the
target, the determiner before the placeholder and an adjective-like word right after it
are set to agree (Spanish, French, Italian, Portuguese).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from gateway.translation.spans import PLACEHOLDER_RE

Grammar = tuple[str | None, str | None]  # (gender "m"/"f"/"n", number "sg"/"pl")
_KEYS = (("m", "sg"), ("f", "sg"), ("m", "pl"), ("f", "pl"))
_FAMILIES: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    "es": (
        ("el", "la", "los", "las"),
        ("un", "una", "unos", "unas"),
        ("del", "de la", "de los", "de las"),
        ("al", "a la", "a los", "a las"),
        ("este", "esta", "estos", "estas"),
        ("ese", "esa", "esos", "esas"),
        ("aquel", "aquella", "aquellos", "aquellas"),
        ("dicho", "dicha", "dichos", "dichas"),
        ("otro", "otra", "otros", "otras"),
        ("nuestro", "nuestra", "nuestros", "nuestras"),
        ("todo el", "toda la", "todos los", "todas las"),
    ),
    "fr": (
        ("le", "la", "les", "les"),
        ("un", "une", "des", "des"),
        ("du", "de la", "des", "des"),
        ("au", "à la", "aux", "aux"),
        ("ce", "cette", "ces", "ces"),
    ),
    "it": (
        ("il", "la", "i", "le"),
        ("un", "una", "dei", "delle"),
        ("del", "della", "dei", "delle"),
        ("al", "alla", "ai", "alle"),
        ("questo", "questa", "questi", "queste"),
    ),
    "pt": (
        ("o", "a", "os", "as"),
        ("um", "uma", "uns", "umas"),
        ("do", "da", "dos", "das"),
        ("no", "na", "nos", "nas"),
        ("ao", "à", "aos", "às"),
        ("este", "esta", "estes", "estas"),
    ),
}
# Adjective and participle endings whose gender/number show in the last letters.
_ADJECTIVE = re.compile(
    r"^(?P<stem>\w+?(?:ad|id|iv|os|ic|ari|er|tori|ont|al))(?P<end>o|a|os|as)$", re.UNICODE
)
_ADJECTIVE_ENDINGS = {("m", "sg"): "o", ("f", "sg"): "a", ("m", "pl"): "os", ("f", "pl"): "as"}


def agreement_forms(language: str) -> dict[str, tuple[str, str, str, str]]:
    """Every determiner form of `language` mapped to its family."""
    forms: dict[str, tuple[str, str, str, str]] = {}
    for family in _FAMILIES.get(language, ()):
        for form in family:
            forms.setdefault(form, family)
    return forms


def fix_agreement(text: str, grammar: Mapping[int, Grammar], language: str) -> tuple[str, int]:
    """(text, changes): determiners/adjectives around glossary placeholders made to agree.

    `grammar` maps a placeholder's span index to the gender and number of its target term.
    """
    forms = agreement_forms(language)
    if not forms or not grammar:
        return text, 0
    matches = list(PLACEHOLDER_RE.finditer(text))
    wanted = [_key(grammar.get(int(m.group(1)) - 1)) for m in matches]
    # the gaps around placeholders: gap k lies between placeholder k-1 and placeholder k
    edges = [0] + [x for m in matches for x in (m.start(), m.end())] + [len(text)]
    gaps = [text[edges[i] : edges[i + 1]] for i in range(0, len(edges), 2)]
    changes = 0
    for k, gap in enumerate(gaps):
        if k > 0 and wanted[k - 1] is not None:  # adjective right after the term
            gap, changed = _fix_adjective(gap, wanted[k - 1], language)  # type: ignore[arg-type]
            changes += changed
        if k < len(matches) and wanted[k] is not None:  # determiner right before it
            gap, changed = _fix_determiner(gap, wanted[k], forms)  # type: ignore[arg-type]
            changes += changed
        gaps[k] = gap
    out = [gaps[0]]
    for k, match in enumerate(matches):
        out.append(match.group(0))
        out.append(gaps[k + 1])
    return "".join(out), changes


def _key(grammar: Grammar | None) -> tuple[str, str] | None:
    if grammar is None or grammar[0] not in ("m", "f"):
        return None
    return grammar[0], grammar[1] if grammar[1] in ("sg", "pl") else "sg"


def _fix_determiner(
    before: str, wanted: tuple[str, str], forms: dict[str, tuple[str, str, str, str]]
) -> tuple[str, int]:
    for words in (3, 2, 1):  # "todo el", "de la" before "la"
        match = re.search(rf"((?:[^\W\d_]+ ){{{words - 1}}}[^\W\d_]+)(\s+)$", before)
        if match is None:
            continue
        found = match.group(1)
        family = forms.get(found.lower())
        if family is None:
            continue
        replacement = family[_KEYS.index(wanted)]
        if replacement.lower() == found.lower():
            return before, 0
        if found[0].isupper():
            replacement = replacement[0].upper() + replacement[1:]
        return before[: match.start(1)] + replacement + match.group(2), 1
    return before, 0


def _fix_adjective(after: str, wanted: tuple[str, str], language: str) -> tuple[str, int]:
    """The adjective right after the term, or the participle of a passive right after it
    ("[[1]] estuvo informado" -> "... estuvieron informados" for a feminine plural term)."""
    changes = 0
    auxiliary = re.match(r"(\s+)(ha sido|han sido|[^\W\d_]+)(?=\s)", after)
    if language == "es" and auxiliary is not None and auxiliary.group(2).lower() in _AUXILIARIES:
        forms = _AUXILIARIES[auxiliary.group(2).lower()]
        verb = forms[0] if wanted[1] == "sg" else forms[1]
        if verb != auxiliary.group(2):
            after = after[: auxiliary.start(2)] + verb + after[auxiliary.end(2) :]
            changes += 1
        head, rest = (
            after[: auxiliary.start(2) + len(verb)],
            after[auxiliary.start(2) + len(verb) :],
        )
        fixed, changed = _fix_word(rest, wanted)
        return head + fixed, changes + changed
    return _fix_word(after, wanted)


def _fix_word(after: str, wanted: tuple[str, str]) -> tuple[str, int]:
    match = re.match(r"(\s+)([^\W\d_]+)", after)
    if match is None:
        return after, 0
    word = match.group(2)
    adjective = _ADJECTIVE.match(word)
    if adjective is None or word[0].isupper():
        return after, 0
    replacement = adjective.group("stem") + _ADJECTIVE_ENDINGS[wanted]
    if replacement == word:
        return after, 0
    return after[: match.start(2)] + replacement + after[match.end(2) :], 1


# Spanish auxiliaries of the passive and of predicates: (singular, plural)
_AUXILIARY_PAIRS = (
    ("estuvo", "estuvieron"),
    ("fue", "fueron"),
    ("es", "son"),
    ("está", "están"),
    ("era", "eran"),
    ("estaba", "estaban"),
    ("ha sido", "han sido"),
    ("será", "serán"),
)
_AUXILIARIES = {form: pair for pair in _AUXILIARY_PAIRS for form in pair}
