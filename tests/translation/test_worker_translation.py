"""Issue 6 end to end through real workers: glossaries, progress, same-language, failures."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from documents_support import DOCX_PARAGRAPHS, PDF_PARAGRAPHS, make_docx, make_pdf
from process_support import REPO, WorkerProcess, settings_env, wait_for
from review_support import entries, submit
from worker_support import mla_form

from gateway.config import Settings
from gateway.domain.forms import field_values, translatable_segments, validate_form
from gateway.persistence import requests_store
from gateway.persistence.db import transaction
from gateway.runtime.container import Runtime
from gateway.translation.model_packages import install_package, remove_package
from workers.extraction.extract import DOCX, PDF

PROTECTED = [
    "Pieter Jansen",
    "12 January 2026",
    "EUR 12.500,00",
    "NL91 ABNA 0417 1643 00",
    "+31 10 123 4567",
    "ROT-2026-00123",
    "art. 326 Sr",
    "€1,000",
]
PAIR = ["--issuing", "nl-om-rotterdam", "--executing", "es-fiscalia-madrid"]


def rogatory(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        env=settings_env(settings),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def events(rt: Runtime, request_id: str) -> list[str]:
    return [entry.event for entry in entries(rt, request_id)]


def stored_json(rt: Runtime, request_id: str, kind: str, name: str | None = None) -> Any:
    with transaction(rt.engine) as conn:
        stored = rt.blobs.find(conn, request_id, kind, name)
        assert stored is not None, f"no {kind} object"
        return json.loads(rt.blobs.read(conn, stored.id))


def segments_of(result: dict[str, Any]) -> list[dict[str, Any]]:
    return result["fields"] + [s for d in result["documents"] for s in d["segments"]]


def test_glossary_terms_are_forced_and_progress_shows_in_events_and_cli(
    runtime_for: Callable[..., Runtime],
    start_worker: Callable[..., WorkerProcess],
    tmp_path: Path,
) -> None:
    rt = runtime_for(translation_engine="apertium")
    settings = rt.settings
    glossary = tmp_path / "nl-es.csv"
    glossary.write_text(
        "en,es\nfalse invoices,facturas simuladas\nmoney laundering,blanqueo de capitales\n"
    )
    imported = rogatory(
        settings, "glossary", "import", str(glossary), *PAIR, "--source", "en", "--target", "es"
    )
    assert imported.returncode == 0, imported.stderr
    listed = rogatory(settings, "glossary", "list")
    assert "nl-om-rotterdam -> es-fiscalia-madrid\ten->es\t2 term(s)\tcsv" in listed.stdout
    start_worker(settings, beat=False)
    statement = "\n\n".join(
        f"Paragraph {i}: the suspect sent money to the account." for i in range(1600)
    )
    request_id = submit(rt, mla_form(), [("statement.txt", "text/plain", statement.encode())])
    wait_for(lambda: "translated" in events(rt, request_id), timeout=240, what="translation")

    result = stored_json(rt, request_id, "translation")
    by_path = {s["path"]: s for s in result["fields"]}
    assert "facturas simuladas" in by_path["sections.G.facts"]["target"]
    assert "facturas falsas" not in by_path["sections.G.facts"]["target"]
    assert "glossary" in by_path["sections.G.facts"]["flags"]
    assert "blanqueo de capitales" in by_path["sections.G.legal_qualification"]["target"]
    assert all(s["provenance"]["engine"] == "apertium" for s in segments_of(result))

    audit = entries(rt, request_id)
    progress = [e.detail for e in audit if e.event == "translation_progress"]
    total = len(segments_of(result))
    assert [p["percent"] for p in progress] == [25, 50, 75]
    assert all(p["total"] == total and 0 < int(str(p["done"])) < total for p in progress)
    names = [e.event for e in audit]
    assert names.index("translation_started") < names.index("translation_progress")
    assert names.index("translated") > max(
        i for i, n in enumerate(names) if n == "translation_progress"
    )
    with transaction(rt.engine) as conn:
        row = requests_store.get(conn, request_id)
    assert (row.progress_done, row.progress_total) == (total, total)

    shown = rogatory(settings, "requests", "show", request_id, "--events", "50")
    assert shown.returncode == 0, shown.stderr
    assert f"progress: {total}/{total} (100%)" in shown.stdout
    assert "translation_progress by worker:translate done=" in shown.stdout
    assert "percent=75" in shown.stdout
    assert "languages: en -> es" in shown.stdout
    assert "Paragraph" not in shown.stdout  # never document text
    listed_requests = rogatory(settings, "requests", "list")
    assert request_id in listed_requests.stdout

    removed = rogatory(settings, "glossary", "remove", *PAIR, "--source", "en", "--target", "es")
    assert removed.returncode == 0, removed.stderr
    admin = [e for e in entries(rt, None) if e.event == "admin_action"]
    assert [e.detail["action"] for e in admin] == ["glossary-imported", "glossary-removed"]
    assert all(e.detail["entries"] == 2 and e.artefacts["glossary"] for e in admin)


def test_same_language_request_is_marked_not_needed_and_still_delivered(
    runtime_for: Callable[..., Runtime], start_worker: Callable[..., WorkerProcess]
) -> None:
    rt = runtime_for(translation_engine="apertium")
    start_worker(rt.settings, beat=False)
    form = mla_form(language="es")
    form["sections"]["G"]["facts"] = "El sospechoso vendió facturas falsas a una empresa."
    request_id = submit(rt, form, [("acta.pdf", "application/pdf", make_pdf())])
    wait_for(lambda: "made_available" in events(rt, request_id), timeout=240, what="package")

    result = stored_json(rt, request_id, "translation")
    assert (result["source_language"], result["target_language"]) == ("es", "es")
    assert result["status"] == "not-needed"
    expected = [s.path for s in translatable_segments(validate_form(form))]
    assert [s["path"] for s in result["fields"]] == expected
    for segment in result["fields"]:
        assert segment["status"] == "not-needed"
        assert segment["target"] is None  # never the source passed off as a translation
        assert segment["flags"] == ["same-language"]
        assert segment["provenance"]["engine"] == "none"
        assert segment["provenance"]["legs"] == []
        assert len(segment["provenance"]["source_sha256"]) == 64
    [document] = result["documents"]
    assert (document["status"], document["reason"], document["segments"]) == (
        "not-machine-translated",
        "same-language",
        [],
    )
    assert "rendered" in events(rt, request_id)


def test_request_with_attachments_through_argos_worker_then_unavailable_without_model(
    runtime_for: Callable[..., Runtime],
    start_worker: Callable[..., WorkerProcess],
    tiny_packages: dict[str, Path],
) -> None:
    rt = runtime_for(translation_engine="argos", translation_beam_size=1)
    data_dir = rt.settings.data_dir
    package = install_package(data_dir, tiny_packages["en_es"])
    start_worker(rt.settings, beat=False)
    docx, pdf = make_docx(), make_pdf()
    form = mla_form()
    form["sections"]["G"]["facts"] = (
        "Pieter Jansen paid EUR 12.500,00 into NL91 ABNA 0417 1643 00 on 12 January 2026 "
        "(case ROT-2026-00123, art. 326 Sr); he called from +31 10 123 4567 and paid €1,000."
    )
    attachments = [
        ("statement.docx", DOCX, docx),
        ("report.pdf", PDF, pdf),
    ]
    request_id = submit(rt, form, attachments)
    wait_for(lambda: "translated" in events(rt, request_id), timeout=240, what="translation")

    result = stored_json(rt, request_id, "translation")
    validated = validate_form(form)
    free_text = {s.path: s.text for s in translatable_segments(validated)}
    assert {s["path"]: s["source"] for s in result["fields"]} == free_text
    codes = {p for p, spec, _ in field_values(validated) if not spec.kind.translatable}
    assert not codes & {s["path"] for s in result["fields"]}  # codes never reach MT
    documents = {d["name"]: d for d in result["documents"]}
    docx_result, pdf_result = documents["statement.docx"], documents["report.pdf"]
    assert [s["source"] for s in docx_result["segments"]][:3] == DOCX_PARAGRAPHS
    assert [s["source"] for s in pdf_result["segments"]] == PDF_PARAGRAPHS
    for segment in segments_of(result):
        assert segment["status"] in ("translated", "needs-review")
        assert segment["target"]
        provenance = segment["provenance"]
        assert provenance["engine"] == "argostranslate"
        assert provenance["model_sha256"] == package.archive_sha256
        assert [leg["model"] for leg in provenance["legs"]] == ["translate-en_es"]
    targets = "\n".join(s["target"] for s in segments_of(result))
    for span in PROTECTED:
        assert span in targets  # byte-exact, from the fields, the DOCX and the PDF
    assert stored_json(rt, request_id, "form") == form  # codes and identifiers untouched

    remove_package(data_dir, package.name)  # the engine breaks after intake
    broken_id = submit(rt, mla_form(), [("report.pdf", "application/pdf", pdf)])
    # issue 13: no engine for the pair any more -> delivered marked, never a retry loop
    wait_for(lambda: "rendered" in events(rt, broken_id), timeout=240, what="delivery")
    assert "step_failed" not in events(rt, broken_id)
    unavailable = stored_json(rt, broken_id, "translation")
    assert unavailable["status"] == "unavailable"
    for segment in segments_of(unavailable):
        assert (segment["status"], segment["target"]) == ("unavailable", None)
    with transaction(rt.engine) as conn:
        assert requests_store.get(conn, broken_id).attempts == 0
