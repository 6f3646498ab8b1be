"""Issue 19 through a real worker: XLIFF round trip, sign-off, reviewed PDF, authorization."""

from __future__ import annotations

import json
import re
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from defusedxml import ElementTree as SafeET
from process_support import WorkerProcess, wait_for
from review_support import entries, rogatory, submit, translated
from worker_support import mla_form

from gateway.domain.errors import NotFound
from gateway.persistence import authorities_store, requests_store
from gateway.persistence.authorities_store import Authority
from gateway.persistence.db import transaction
from gateway.persistence.tables import leases
from gateway.runtime.container import Runtime
from gateway.services import accounts, exchange, roles
from gateway.services import translation_review as review
from gateway.services.tokens import Caller
from gateway.services.translation_memory import list_entries, pair_of

NS = {"x": "urn:oasis:names:tc:xliff:document:2.0"}
PASSWORD = "correct horse battery staple"


def translator(rt: Runtime, username: str, authority: str, name: str) -> review.Reviewer:
    accounts.create_user(
        rt.engine, username, authority, PASSWORD, kek=rt.blobs.kek, display_name=name
    )
    roles.set_role(rt.engine, username, "translator", actor="admin:test")
    return review.Reviewer(username, name, authority)


def edit_units(data: bytes, edits: dict[str, Callable[[str], str]]) -> tuple[bytes, dict[str, str]]:
    """Apply `edits` (unit name -> change) to the exported XLIFF; returns it and name -> id."""
    text = data.decode("utf-8")
    root = SafeET.fromstring(data)
    ids = {u.get("name"): u.get("id") for u in root.iterfind(".//x:unit", NS)}
    for name, change in edits.items():
        unit = next(u for u in root.iterfind(".//x:unit", NS) if u.get("name") == name)
        old = unit.find(".//x:target", NS).text  # type: ignore[union-attr]
        assert old is not None
        text = text.replace(f"<target>{old}</target>", f"<target>{change(old)}</target>", 1)
    return text.encode("utf-8"), ids


def test_xliff_round_trip_flags_a_lost_item_then_sign_off_makes_a_reviewed_sealed_version(
    runtime_for: Callable[..., Runtime],
    start_worker: Callable[..., WorkerProcess],
    tmp_path: Path,
) -> None:
    rt = runtime_for(translation_engine="apertium")
    start_worker(rt.settings, beat=False)
    form = mla_form()
    form["sections"]["G"]["facts"] = (
        "The suspect sold false invoices to a company on 12 January 2026. "
        "The money was sent to a bank account in Madrid."
    )
    form["handling"] = ["speciality"]  # the issuer's signed use restriction
    request_id = submit(rt, form)
    wait_for(lambda: translated(rt, request_id), timeout=240, what="translation")
    wait_for(
        lambda: "made_available" in [e.event for e in entries(rt, request_id)],
        timeout=300,
        what="machine-translated package",
    )
    ana = translator(rt, "ana.translator", "es-fiscalia-madrid", "Ana Traductora")
    with transaction(rt.engine) as conn:
        authorities_store.add(
            conn,
            Authority(
                "fr-parquet-lyon", "Parquet de Lyon", "FR", ["fr"], ["mla"], None, None, True
            ),
        )
    outsider = translator(rt, "luc.translator", "fr-parquet-lyon", "Luc")

    # Another authority's translator: 404, exactly like a request that does not exist.
    with pytest.raises(NotFound):
        review.open_review(rt.engine, rt.blobs, outsider, request_id)
    refused = rogatory(
        rt.settings,
        "review",
        "xliff-export",
        request_id,
        str(tmp_path / "x.xlf"),
        "--user",
        "luc.translator",
    )
    assert refused.returncode == 2
    assert "error[not-found]" in refused.stderr

    exported = tmp_path / "request.xlf"
    result = rogatory(
        rt.settings, "review", "xliff-export", request_id, str(exported), "--user", ana.user
    )
    assert result.returncode == 0, result.stderr
    edited, ids = edit_units(
        exported.read_bytes(),
        {
            # the date, a protected item, is dropped: this segment must stay flagged
            "sections.G.facts": lambda t: re.sub(r"12 January 2026", "enero", t),
            "sections.G.legal_qualification": lambda t: "Estafa y blanqueo de capitales.",
            "sections.G.maximum_penalty": lambda t: "Pena máxima: cuatro años de cárcel.",
        },
    )
    edited_file = tmp_path / "edited.xlf"
    edited_file.write_bytes(edited)
    result = rogatory(
        rt.settings, "review", "xliff-import", request_id, str(edited_file), "--user", ana.user
    )
    assert result.returncode == 0, result.stderr
    assert f"flagged {ids['sections.G.facts']}: missing-items" in result.stdout
    assert ", 2 edited, 1 flagged" in result.stdout

    view = review.open_review(rt.engine, rt.blobs, ana, request_id)
    facts = next(s for s in view.segments if s.segment.path == "sections.G.facts")
    assert facts.decision is not None
    assert facts.decision.status == "flagged"
    assert "missing-items" in facts.decision.flags
    done, total = view.progress
    assert done == total - 1

    blocked = rogatory(rt.settings, "review", "sign-off", request_id, "--user", ana.user)
    assert blocked.returncode == 2
    assert "error[review-incomplete]" in blocked.stderr

    fixed = facts.segment.target
    assert fixed is not None
    review.decide_segment(rt.engine, rt.blobs, ana, request_id, facts.id, fixed + " ")
    result = rogatory(rt.settings, "review", "sign-off", request_id, "--user", ana.user)
    assert result.returncode == 0, result.stderr
    assert f"signed off: {request_id} version 2" in result.stdout

    def reviewed_ready() -> list[int]:
        with transaction(rt.engine) as conn:
            return review.reviewed_versions(conn, rt.blobs, request_id)

    wait_for(reviewed_ready, timeout=180, what="reviewed PDF and package")

    # The counterpart sees the reviewed version in its inbox, pulls the latest, then v1.
    caller = Caller("client-b", "es-fiscalia-madrid")
    items, _ = exchange.list_inbox(rt.engine, caller, blobs=rt.blobs)
    assert next(i for i in items if i["request_id"] == request_id)["translation_versions"] == [1, 2]
    pki = rt.settings.keys_dir / "dev-pki"
    latest = open_package(rt, caller, request_id, None, pki, tmp_path)
    machine = open_package(rt, caller, request_id, 1, pki, tmp_path)
    with pytest.raises(NotFound):
        open_package(rt, caller, request_id, 3, pki, tmp_path)
    with transaction(rt.engine) as conn:
        request = requests_store.get(conn, request_id)
    assert json.loads(latest["manifest.json"])["translation_version"] == 2
    # the reviewed package carries the issuer's use restrictions like the machine one
    assert json.loads(latest["manifest.json"])["handling"] == ["speciality"]
    assert json.loads(machine["manifest.json"])["handling"] == ["speciality"]
    notice = pdf_text(tmp_path, latest["request.pdf"])
    assert "Traducción revisada por un traductor" in notice
    assert "revisada y corregida por Ana Traductora, Fiscalía Provincial de Madrid" in notice
    assert "reviewed and corrected by Ana Traductora" in notice  # the source language too
    assert "not a certified translation" not in notice
    assert "no es una traducción jurada" in pdf_text(tmp_path, machine["request.pdf"])
    assert b"/ByteRange" in latest["request.pdf"]  # sealed (PAdES)
    assert "review" not in json.loads(machine["translation.json"])  # v1 unchanged
    reviewed_json = latest["translation.json"]

    document = json.loads(reviewed_json)
    assert document["version"] == 2
    assert document["review"]["by"] == "human:ana.translator"
    origin = {s["path"]: s["provenance"]["engine"] for s in document["fields"]}
    assert origin["sections.G.legal_qualification"] == "human:ana.translator"
    assert origin["sections.G.maximum_penalty"] == "human:ana.translator"
    assert origin["sections.G.facts"] == "human:ana.translator"
    assert origin["sections.B.urgency_reason"] == "apertium"  # accepted as it was
    assert all("reviewed" in s["flags"] for s in document["fields"])

    names = [e.event for e in entries(rt, request_id)]
    assert "translation_reviewed" in names
    evidence = [e for e in entries(rt, request_id) if e.event == "evidence_issued"]
    assert any(e.detail["kind"] == "TranslationReviewed" for e in evidence)
    memory = list_entries(rt.engine, rt.blobs.kek, pair_of(request))
    assert "Estafa y blanqueo de capitales." in {m.target for m in memory}


def open_package(
    rt: Runtime, caller: Caller, request_id: str, version: int | None, pki: Path, tmp_path: Path
) -> dict[str, bytes]:
    lease = exchange.take_lease(rt.engine, caller, request_id, lease_seconds=60)
    try:
        sealed = exchange.retrieve_package(
            rt.engine,
            rt.blobs,
            caller,
            request_id,
            lease.lease_token,
            rt.sealer(),
            version=version,
        )
    finally:
        with transaction(rt.engine) as conn:
            conn.execute(sa.delete(leases).where(leases.c.request_id == request_id))
    (tmp_path / "package.p7m").write_bytes(b"".join(sealed.chunks))
    subprocess.run(
        ["openssl", "cms", "-decrypt", "-binary", "-inform", "DER",
         "-in", str(tmp_path / "package.p7m"), "-inkey", str(pki / "authority-b-enc.key"),
         "-recip", str(pki / "authority-b-enc.pem"), "-out", str(tmp_path / "sealed.der")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    subprocess.run(
        ["openssl", "cms", "-verify", "-binary", "-inform", "DER",
         "-in", str(tmp_path / "sealed.der"), "-CAfile", str(pki / "ca.pem"),
         "-purpose", "any", "-out", str(tmp_path / "package.zip")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    with zipfile.ZipFile(tmp_path / "package.zip") as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def pdf_text(tmp_path: Path, pdf: bytes) -> str:
    path = tmp_path / "out.pdf"
    path.write_bytes(pdf)
    completed = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, timeout=60
    )
    return " ".join(completed.stdout.decode("utf-8").split())
