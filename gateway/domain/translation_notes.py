"""Translation segment flags as sentences a reader understands, from the hand-kept catalogues.

The translation pipeline marks segments with technical flags ("unknown-words",
"missing: 12/2026", "untranslated words: foo, bar"...). Printed requests and the web
pages never show those codes: each maps to a hand-written sentence (catalogue list
`translation_flag`), never machine-translated. A flag carrying details keeps them (the
words or items concerned) inside the sentence; an unknown flag gets a generic sentence.
"""

from __future__ import annotations

from gateway.domain.labels import LabelCatalogue

FLAG_LIST = "translation_flag"
OTHER_FLAG = "other"

# Flags that carry details after a prefix: prefix -> catalogue key (its text has "{items}").
DETAILED_FLAGS: dict[str, str] = {
    "missing:": "missing-item",
    "untranslated words:": "untranslated-words",
    "unknown words:": "unknown-words-list",
}

# Every plain flag the pipeline, the engines, the memory and the review can set.
PLAIN_FLAGS: tuple[str, ...] = (
    "unknown-words",
    "untranslated",
    "missing-items",
    "needs-review",
    "low-confidence",
    "placeholders-lost",
    "span-fallback",
    "glossary",
    "pivot",
    "tm",
    "reviewed",
    "same-language",
    "no-engine-for-pair",
    "no-machine-translation",
    "engine-error",
    "engine-timeout",
    "engine-unavailable",
    "unsupported-pair",
    "translation-failed",
    "empty-output",
)

_MAX_DETAIL = 200


def flag_note(flag: str, catalogue: LabelCatalogue) -> str:
    """The sentence for one flag in `catalogue`'s language."""
    for prefix, key in DETAILED_FLAGS.items():
        if flag.startswith(prefix):
            detail = flag[len(prefix) :].strip()[:_MAX_DETAIL]
            # replace, not str.format: the detail is untrusted text
            return catalogue.code_meaning(FLAG_LIST, key).replace("{items}", detail)
    key = flag if catalogue.has_code(FLAG_LIST, flag) else OTHER_FLAG
    return catalogue.code_meaning(FLAG_LIST, key)


def flag_notes(flags: tuple[str, ...] | list[str], catalogue: LabelCatalogue) -> tuple[str, ...]:
    """One sentence per flag, duplicates folded, in the flags' order."""
    notes: list[str] = []
    for flag in flags:
        note = flag_note(str(flag), catalogue)
        if note not in notes:
            notes.append(note)
    return tuple(notes)
