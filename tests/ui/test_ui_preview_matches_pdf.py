"""What you sign is the PDF's view: the preview before signing and the printed request show
the same section titles and field labels in the same order, and the values typed in the
form (issue 20, point 2). Both draw one document view with one template partial."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import pytest
from ui_support import BASE_URL, add_user, client_for, make_app, sign_in

from gateway.domain.labels import load_catalogue
from gateway.services import ui_requests
from gateway.web.app import runtime_of

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rendering"))
from rendering_samples import TEXTS, make_form, make_translation, render_request_file

_HEADING = re.compile(r'<div class="section-head">.*?<h3>(.*?)</h3>', re.S)
_LABEL = re.compile(r'<div class="field-label">(.*?)</div>', re.S)
_ITEM = re.compile(f"{_HEADING.pattern}|{_LABEL.pattern}", re.S)


@pytest.fixture
def signed_in(make_settings, redis_broker_url):
    app = make_app(make_settings(broker_url=redis_broker_url))
    secret = add_user(app)
    client = client_for(app)
    sign_in(client, "magistrate", secret)
    yield app, client
    runtime_of(app).close()


def _preview_items(page: str) -> list[str]:
    """Section titles and field labels of the preview, in document order."""
    part = page[page.index('id="what-you-sign"') : page.index('id="seal-heading"')]
    return [" ".join(html.unescape(a or b).split()) for a, b in _ITEM.findall(part) if (a or b)]


def _pdf_text(path: Path) -> str:
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-f", "2", str(path), "-"], capture_output=True, check=True
    ).stdout.decode("utf-8")
    return " ".join(out.split())


@pytest.mark.parametrize("request_type", ["mla", "witness-examination", "extradition"])
def test_preview_shows_the_pdfs_sections_and_labels_in_the_pdfs_order(
    signed_in, tmp_path: Path, request_type: str
) -> None:
    app, client = signed_in
    form = make_form(request_type, "nl")
    form["executing_authority"] = "es-fiscalia-madrid"
    typed = next(iter(TEXTS[request_type].values()))["nl"]  # a value the magistrate typed
    rt = runtime_of(app)
    draft_id = ui_requests.save_draft(
        rt.engine,
        rt.blobs,
        username="magistrate",
        authority_id="nl-om-rotterdam",
        form=form,
        attachments=[],
    )
    page = client.get(f"/ui/drafts/{draft_id}", base_url=BASE_URL).text
    items = _preview_items(page)

    translation = make_translation(request_type, "nl", "fr", f"req-preview-{request_type}")
    path = render_request_file(tmp_path / "request.pdf", form, translation, target="fr")
    text = _pdf_text(path)

    nl = load_catalogue("nl")
    sections = [nl.section_title(request_type, key) for key in form["sections"]]
    assert len(items) > len(sections)
    assert set(sections) <= set(items)  # every section the form fills is previewed
    position = 0
    for item in items:  # the PDF prints the source-language labels in the same order
        found = text.find(item, position)
        assert found >= 0, f"{item!r} is not in the PDF after position {position}"
        position = found + len(item)
    assert " ".join(typed.split()) in " ".join(html.unescape(page).split())
    assert " ".join(typed.split()) in text
