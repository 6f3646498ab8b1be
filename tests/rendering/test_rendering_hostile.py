"""Hostile field values print as text: nothing is fetched, no file is read, the PDF renders."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from rendering_samples import make_cover, make_form, make_reply, make_translation, segment
from rendering_support import page_count, pdf_text

from workers.rendering import RenderError, render_html, render_reply_pdf
from workers.rendering.assets import ASSET_FILES, BundledAssetFetcher
from workers.rendering.markup import _css_string
from workers.rendering.pdf import html_to_pdf

_opened: list[str] | None = None


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _opened is not None and event == "open" and isinstance(args[0], str | bytes | Path):
        _opened.append(str(args[0]))


sys.addaudithook(_audit)  # records every file Python opens while `_opened` is a list


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str] = []  # noqa: RUF012 - shared by the handler instances of one server

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.end_headers()
        self.wfile.write(b"body { background: red }")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def http_peer() -> Iterator[tuple[str, list[str]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def hostile_values(base: str, canary: Path) -> list[str]:
    return [
        f'<img src="file://{canary}">',
        '<img src="file:///etc/passwd">',
        f"@import url({base}/import-css);",
        f"<link rel=stylesheet href={base}/link-css>",
        f'<svg xmlns="http://www.w3.org/2000/svg"><image href="{base}/svg-image"/>'
        f'<use href="{base}/svg-use#x"/></svg>',
        f"<style>@font-face{{src:url({base}/font)}}</style>",
        f'<a rel="attachment" href="{base}/attach">x</a>',
        f'"><iframe src="{base}/frame"></iframe>',
        "data:text/html;base64,PHNjcmlwdD4=",
        "{{ 7*7 }} {% raw %}",
    ]


@pytest.fixture(scope="module")
def hostile_render(
    http_peer: tuple[str, list[str]], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    global _opened
    base, hits = http_peer
    tmp = tmp_path_factory.mktemp("hostile")
    canary = tmp / "canary.txt"
    canary.write_text("secret")
    values = hostile_values(base, canary)
    form = make_form("mla", "en")
    sections = form["sections"]
    sections["G"]["facts"] = "\n".join(values) + "\n" + "A" * 1_000_000 + "\n" * 10_000 + "end."
    sections["C"]["measures_description"] = values[2]
    sections["E"][0]["surname"] = values[0]
    sections["E"][0]["address"] = values[4]
    sections["K"]["authority_name"] = values[3]
    form["case_reference"] = values[7]
    request_id = "req-hostile"
    translation = make_translation("mla", "en", "es", request_id)
    for field in translation["fields"]:
        if field["path"] == "sections.G.facts":
            field["source"] = sections["G"]["facts"]
            field["target"] = values[5] + "\n" * 10_000 + values[1]
        if field["path"] == "sections.C.measures_description":
            field["source"] = values[2]
            field["target"] = values[3]
    translation["documents"][0]["name"] = values[4]
    translation["documents"][0]["segments"].append(
        segment("documents[0].p[9]", values[6], values[8], "translated", [values[9]], "en", "es")
    )
    cover = make_cover(request_id, b"msg")
    cover = type(cover)(**{**cover.__dict__, "attachments": [(values[1], "0" * 64)]})
    html = render_html(form, translation, cover, target_language="es")
    fetcher = BundledAssetFetcher()
    _opened = []
    try:
        pdf = html_to_pdf(html, original_message=b"msg", created=cover.received_at, fetcher=fetcher)
    finally:
        opened, _opened = _opened, None
    path = tmp / "hostile.pdf"
    path.write_bytes(pdf)
    return {
        "html": html,
        "pdf": path,
        "fetcher": fetcher,
        "opened": opened,
        "hits": hits,
        "values": values,
        "canary": canary,
    }


def test_hostile_values_fetch_nothing_and_read_no_file(hostile_render: dict[str, Any]) -> None:
    assert hostile_render["hits"] == []
    assert hostile_render["fetcher"].refused == []  # escaped: WeasyPrint never even asked
    assert set(hostile_render["fetcher"].served) <= set(ASSET_FILES)
    opened = hostile_render["opened"]
    assert str(hostile_render["canary"]) not in opened
    assert "/etc/passwd" not in opened


def test_hostile_values_are_printed_as_plain_text(hostile_render: dict[str, Any]) -> None:
    html = hostile_render["html"]
    assert "<img" not in html
    assert "<svg" not in html
    assert "<iframe" not in html
    assert html.count("<link ") == 1  # the bundled stylesheet only
    text = pdf_text(hostile_render["pdf"])
    for value in hostile_render["values"][:3]:
        assert " ".join(value.split()) in text


def test_huge_word_and_ten_thousand_line_breaks_still_render(
    hostile_render: dict[str, Any],
) -> None:
    pages = page_count(hostile_render["pdf"])
    assert 4 <= pages <= 40
    text = pdf_text(hostile_render["pdf"])
    assert "caracteres omitidos" in text  # the display limit is announced, not silent
    assert "end." not in text  # the tail beyond the limit lives only in the embedded original


def test_fetcher_refuses_everything_but_bundled_assets(http_peer: tuple[str, list[str]]) -> None:
    base, hits = http_peer
    fetcher = BundledAssetFetcher()
    refused = [
        f"{base}/direct",
        "https://127.0.0.1/x",
        "file:///etc/passwd",
        "data:text/css,body{}",
        "rogatory-asset:../../etc/passwd",
        "rogatory-asset:fonts/../print.css",
        "rogatory-asset:/print.css",
        "ROGATORY-ASSET:print.css",
    ]
    for url in refused:
        with pytest.raises(ValueError, match="bundled"):
            fetcher.fetch(url)
    assert fetcher.refused == refused
    assert fetcher.fetch("rogatory-asset:print.css").read().startswith(b"/*")
    assert hits == []


def test_raw_external_references_in_markup_are_refused_by_the_fetcher(
    http_peer: tuple[str, list[str]], tmp_path: Path
) -> None:
    """Defence in depth: even unescaped markup cannot make WeasyPrint load anything."""
    base, hits = http_peer
    canary = tmp_path / "canary.css"
    canary.write_text("body { color: red }")
    html = (
        f'<html><head><link rel="stylesheet" href="{base}/link">'
        f"<style>@import url({base}/import); @font-face {{ font-family: X; src: url({base}/f) }}"
        f"</style><link rel=stylesheet href='file://{canary}'></head><body>"
        f'<img src="{base}/img"><img src="file:///etc/passwd">'
        '<img src="data:image/png;base64,AA==">'
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
        f'<image xlink:href="{base}/svg"/></svg><object data="{base}/obj"></object>'
        f'<a rel="attachment" href="{base}/att">a</a><p style="background:url({base}/bg)">x</p>'
        "</body></html>"
    )
    fetcher = BundledAssetFetcher()
    pdf = html_to_pdf(
        html, original_message=b"x", created=make_cover("r", b"x").received_at, fetcher=fetcher
    )
    assert pdf.startswith(b"%PDF-")
    assert hits == []
    assert any(url.startswith("file://") for url in fetcher.refused)
    assert f"{base}/img" in fetcher.refused
    assert f"{base}/link" in fetcher.refused


def test_hostile_reply_renders_and_fetches_nothing(
    http_peer: tuple[str, list[str]], tmp_path: Path
) -> None:
    base, hits = http_peer
    body = f'<img src="{base}/reply"> <link rel=stylesheet href={base}/r>'
    reply = make_reply("es", body)
    reply["kind"] = f"<b>{base}</b>"
    reply["references"] = [f"@import url({base}/ref)"]
    pdf = render_reply_pdf(
        reply, None, make_cover("req-reply", b"m"), original_message=b"m", target_language="nl"
    )
    path = tmp_path / "reply.pdf"
    path.write_bytes(pdf)
    assert hits == []
    text = pdf_text(path)
    assert f'<img src="{base}/reply">' in text
    assert f"@import url({base}/ref)" in text


def test_translation_for_another_request_is_refused() -> None:
    form = make_form("mla", "en")
    translation = make_translation("mla", "en", "es", "req-other")
    with pytest.raises(RenderError) as caught:
        render_html(form, translation, make_cover("req-this", b"m"), target_language="es")
    assert caught.value.code == "translation-mismatch"
    translation = make_translation("mla", "en", "es", "req-this")
    translation["format"] = "something/2"
    with pytest.raises(RenderError) as caught:
        render_html(form, translation, make_cover("req-this", b"m"), target_language="es")
    assert caught.value.code == "translation-format"


def test_css_strings_from_catalogues_are_fully_escaped() -> None:
    escaped = _css_string('a"; } @import url(http://x/) ; content: "')
    assert escaped.startswith('"')
    assert escaped.endswith('"')
    assert set(escaped[1:-1]) <= set("abcdefghijklmnoprstuvwxyz0123456789 \\")
