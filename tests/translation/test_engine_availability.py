"""Issue 13: engines known, never silent: `auto`, `unavailable` delivery, start-up warnings."""

from __future__ import annotations

import io
import json
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner
from process_support import WorkerProcess, wait_for
from worker_support import mla_form, sealed_submission

from gateway.config import load_settings
from gateway.crypto import RecipientKey, decrypt_envelope
from gateway.crypto.keyfiles import load_certificate, load_private_key
from gateway.domain.states import State
from gateway.persistence import requests_store
from gateway.persistence.db import transaction
from gateway.runtime.container import Runtime
from gateway.services.packaging import _translation_summary
from gateway.services.translation_engines import (
    authority_pairs_without_engine,
    engine_for_pair,
    translation_outlook,
)
from gateway.translation.engine_pairs import EnginePairs
from gateway.translation.model_packages import install_package
from gateway.web.app import create_app
from gateway.web.cli_models import models
from workers.engines import AutoTranslator


def _package_member(rt: Runtime, package: bytes, name: str) -> bytes:
    """Open the sealed package as Madrid would (its dev-PKI encryption key)."""
    from asn1crypto import cms

    pki = rt.settings.keys_dir / "dev-pki"
    madrid = RecipientKey(
        load_private_key(pki / "authority-b-enc.key"),  # type: ignore[arg-type]
        load_certificate(pki / "authority-b-enc.pem"),
    )
    signed = cms.ContentInfo.load(decrypt_envelope(package, [madrid]))
    content = signed["content"]["encap_content_info"]["content"].native
    return zipfile.ZipFile(io.BytesIO(content)).read(name)


def test_auto_is_the_default_and_prefers_argos_then_apertium(
    tmp_path: Path, tiny_packages: dict[str, Path]
) -> None:
    settings = load_settings({}, overrides={"data_dir": str(tmp_path)})
    assert settings.translation_engine == "auto"
    assert engine_for_pair(settings, "en", "es") == "apertium"  # no argos model yet
    assert engine_for_pair(settings, "nl", "es") is None
    outlook = translation_outlook(settings, "nl", ["de", "es"])
    assert (outlook.status, outlook.target) == ("unavailable", "de")
    assert translation_outlook(settings, "es", ["es"]).status == "not-needed"
    install_package(tmp_path, tiny_packages["en_es"])
    assert engine_for_pair(settings, "en", "es") == "argos"
    installed = [EnginePairs("argos", frozenset()), EnginePairs("apertium", frozenset())]
    assert engine_for_pair(settings, "en", "es", installed) is None
    forced = load_settings(
        {}, overrides={"data_dir": str(tmp_path), "translation_engine": "apertium"}
    )
    assert engine_for_pair(forced, "en", "es") == "apertium"


def test_auto_translator_routes_each_pair_to_the_engine_that_serves_it(
    argos_data_dir: Path,
) -> None:
    # argostranslate points at one data dir per process: the session's (en->es, nl->en)
    settings = load_settings({}, overrides={"data_dir": str(argos_data_dir)})
    auto = AutoTranslator(settings)
    assert {("en", "es"), ("nl", "en"), ("nl", "es"), ("es", "en")} <= auto.pairs()
    [spanish] = auto.translate_batch(["The bank account."], "en", "es")
    assert spanish.engine == "argostranslate"  # an installed model wins over Apertium
    [english] = auto.translate_batch(["La cuenta bancaria."], "es", "en")
    assert english.engine == "apertium"
    assert english.text == "The banking account."


def test_models_list_shows_the_pairs_of_each_engine(
    tmp_path: Path, tiny_packages: dict[str, Path]
) -> None:
    install_package(tmp_path, tiny_packages["nl_en"])
    listed = CliRunner().invoke(models, ["--data-dir", str(tmp_path), "list"])
    assert listed.exit_code == 0, listed.output
    assert "engine argos: nl->en" in listed.output
    assert "engine apertium: en->es, es->en" in listed.output


def test_a_pair_no_engine_serves_is_delivered_unavailable_in_one_pass_with_a_warning(
    runtime_for: Callable[..., Runtime], start_worker: Callable[..., WorkerProcess]
) -> None:
    # the new installation: argos chosen, no model installed
    rt = runtime_for(translation_engine="argos")
    unserved = authority_pairs_without_engine(rt.engine, rt.settings)
    assert {(p.issuing_authority, p.source) for p in unserved} == {
        ("nl-om-rotterdam", "nl"),
        ("es-fiscalia-madrid", "es"),
    }
    worker = start_worker(rt.settings, beat=False)
    log = worker.log_path.read_text()
    assert "no translation engine for nl->es (nl-om-rotterdam -> es-fiscalia-madrid)" in log
    assert "no translation engine for es->nl/en" in log

    app = create_app(rt.settings, runtime=rt)
    response = app.test_client().post(
        "/api/v1/submissions",
        data=sealed_submission(rt.settings, mla_form()),
        content_type="application/pkcs7-mime",
    )
    assert response.status_code == 202, response.get_data(as_text=True)
    assert response.get_json()["translation"] == "unavailable"
    request_id = response.get_json()["request_id"]
    from gateway.services.dispatch import flush_outbox

    flush_outbox(rt.engine, rt.sender)

    def state() -> State:
        with transaction(rt.engine) as conn:
            return requests_store.get(conn, request_id).state

    wait_for(lambda: state() is State.AVAILABLE, timeout=300, what="delivery")
    with transaction(rt.engine) as conn:
        row = requests_store.get(conn, request_id)
        translation = rt.blobs.read(conn, rt.blobs.find(conn, request_id, "translation").id)
        pdf = rt.blobs.read(conn, rt.blobs.find(conn, request_id, "pdf").id)
        package = rt.blobs.read(conn, rt.blobs.find(conn, request_id, "package").id)
    assert row.attempts == 0  # one pass: no failure, no retry
    result = json.loads(translation)
    assert result["status"] == "unavailable"
    assert {s["status"] for s in result["fields"]} == {"unavailable"}
    assert all(s["target"] is None for s in result["fields"])
    manifest = json.loads(_package_member(rt, package, "manifest.json"))
    assert manifest["translation_status"] == "unavailable"
    assert _translation_summary(translation)["translation_status"] == "unavailable"
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True, timeout=60
    ).stdout.decode()
    assert "ningún motor de traducción" in " ".join(text.split())
    assert "no translation engine for en->es" in worker.log_path.read_text()
