"""Issue 19 through a real worker: reviewed sentences come back from the TM, not the engine."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from process_support import WorkerProcess, wait_for
from review_support import (
    entries,
    rogatory,
    submit,
    translated,
    translation,
)
from worker_support import mla_form

from gateway.audit.entries import AuditEntry
from gateway.runtime.container import Runtime
from gateway.services.translation_memory import record_reviewed_for_request

PAIR = ["--issuing", "nl-om-rotterdam", "--executing", "es-fiscalia-madrid"]
LANGS = ["--source", "en", "--target", "es"]


def form_with_date(date: str) -> dict[str, Any]:
    form = mla_form()
    form["sections"]["G"]["facts"] = (
        f"The suspect sold false invoices to a company on {date}. "
        "The money was sent to a bank account in Madrid."
    )
    return form


def test_second_request_with_the_same_sentences_is_translated_from_the_tm_without_the_engine(
    runtime_for: Callable[..., Runtime],
    start_worker: Callable[..., WorkerProcess],
    apertium_calls: Path,
    tmp_path: Path,
) -> None:
    rt = runtime_for(translation_engine="apertium")
    start_worker(rt.settings, beat=False)

    first = submit(rt, form_with_date("12 January 2026"))
    wait_for(lambda: translated(rt, first), timeout=240, what="first translation")
    engine_calls = len(apertium_calls.read_text().splitlines())
    assert engine_calls > 0
    machine = translation(rt, first)["fields"]
    assert all(s["provenance"]["engine"] == "apertium" for s in machine)

    # A translator reviews every segment: here each target gets a visible edit.
    reviewed = [(s["source"], "[revisado] " + s["target"]) for s in machine]
    ids = record_reviewed_for_request(rt.engine, rt.blobs, first, reviewed, actor="human:ana")
    assert len(set(ids)) == len(reviewed)

    second = submit(rt, form_with_date("3 March 2027"))
    done = wait_for(lambda: translated(rt, second), timeout=240, what="second translation")
    assert isinstance(done, AuditEntry)
    assert len(apertium_calls.read_text().splitlines()) == engine_calls  # engine never called

    fields = translation(rt, second)["fields"]
    assert len(fields) == len(machine)
    assert all(s["provenance"]["engine"] == "tm" for s in fields)
    assert {s["provenance"]["model"] for s in fields} == {f"tm:{i}" for i in ids}
    assert all("tm" in s["flags"] and s["status"] == "translated" for s in fields)
    facts = next(s for s in fields if s["path"] == "sections.G.facts")
    assert facts["target"].startswith("[revisado] ")
    assert "3 March 2027" in facts["target"]  # the second request's own date, restored
    assert "12 January 2026" not in facts["target"]
    assert done.detail["tm_hits"] == len(fields)

    # The TM is listed, exported, re-imported and pruned through the CLI, each step audited.
    listed = rogatory(rt.settings, "tm", "list", *PAIR, *LANGS)
    assert listed.returncode == 0, listed.stderr
    assert f"{len(ids)} entries for nl-om-rotterdam -> es-fiscalia-madrid en->es" in listed.stdout
    assert "human:ana" in listed.stdout
    exported = tmp_path / "memory.tmx"
    result = rogatory(rt.settings, "tm", "export", str(exported), *PAIR, *LANGS)
    assert result.returncode == 0, result.stderr
    assert exported.read_text().count("<tu ") == len(ids)
    result = rogatory(rt.settings, "tm", "remove", ids[0])
    assert result.returncode == 0, result.stderr
    result = rogatory(rt.settings, "tm", "import", str(exported), *PAIR, *LANGS)
    assert result.returncode == 0, result.stderr
    assert f"1 added, {len(ids) - 1} corrected" in result.stdout
    missing = rogatory(rt.settings, "tm", "remove", "no-such-entry")
    assert missing.returncode == 2
    assert "error[not-found]" in missing.stderr
    actions = [e.detail["action"] for e in entries(rt, None) if e.event == "admin_action"]
    assert actions == ["tm-exported", "tm-removed", "tm-imported"]
    recorded = [e for e in entries(rt, first) if e.event == "admin_action"]
    assert [e.detail["action"] for e in recorded] == ["tm-recorded"]
    assert "revisado" not in json.dumps([e.detail for e in recorded])  # never the text
