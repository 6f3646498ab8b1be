"""What you sign is what you see: the draft's request as the PDF shows it, before signing.

The sections, field labels, values and their order come from the same document view the
PDF templates print (gateway.services.document_view) and are drawn by the same template
partial (templates/_document.html), in the language the request is written in. The PDF
itself is rendered by the workers, which the web process does not import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.domain import catalogues as cat
from gateway.services.document_view.translation import TranslationIndex
from gateway.services.document_view.view import (
    Labeller,
    SectionView,
    request_schema,
    request_sections,
)


@dataclass(frozen=True)
class Preview:
    language: str
    labels: Labeller
    sections: list[SectionView]

    @property
    def entry_word(self) -> str:
        return self.labels.target.text("entry")


def preview(form: dict[str, Any]) -> Preview:
    """The form's filled-in fields as the PDF prints them, labelled in the form's language."""
    language = form.get("language")
    language = language if isinstance(language, str) and language in cat.LANGUAGES else "und"
    labels = Labeller(language, language)
    # no translation yet: free text is shown as written
    index = TranslationIndex(language, language, "none")
    return Preview(language, labels, request_sections(request_schema(form), form, labels, index))
