"""What you sign is what you see: the draft's request as readable sections, before signing.

Built from the same schema, labels and code lists as the compose form and the PDF (the
PDF itself is rendered by the workers, which the web process does not import).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.domain.labels import LabelCatalogue
from gateway.domain.request_types import SCHEMAS, RequestType
from gateway.web.ui import forms


@dataclass(frozen=True)
class PreviewSection:
    key: str
    title: str
    entries: list[list[tuple[str, str]]]


def _shown(view: forms.FieldView) -> str:
    value = view.value
    if value in ("", None, [], False):
        return ""
    options = dict(view.options)
    if isinstance(value, list):
        return "; ".join(options.get(str(v), str(v)) for v in value)
    if value is True:
        return "✓"
    return options.get(str(value), str(value))


def preview(form: dict[str, Any], labels: LabelCatalogue) -> list[PreviewSection]:
    """Filled-in fields only, section by section, in the form's own language labels."""
    schema = SCHEMAS[RequestType(str(form.get("request_type")))]  # a reply too
    sections = []
    for view in forms.section_views(schema, form, labels, {}):
        entries = []
        for entry in view.entries:
            shown = [(f.label, _shown(f)) for f in entry]
            filled = [(label, text) for label, text in shown if text]
            if filled:
                entries.append(filled)
        if entries:
            sections.append(PreviewSection(view.key, view.title, entries))
    return sections
