"""Real Celery workers run the pipeline on every backend; a killed worker loses nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from foundation_support import accept, mla_form, sealed_submission
from process_support import WorkerProcess, wait_for

from gateway.audit.entries import decode_entry
from gateway.config import Settings
from gateway.persistence import requests_store
from gateway.persistence.audit_tables import audit_leaf
from gateway.persistence.db import transaction
from gateway.persistence.tables import stored_objects
from gateway.runtime.broker import ensure_embedded_broker
from gateway.runtime.container import Runtime, build_runtime
from gateway.translation.model_packages import install_package


@pytest.fixture(scope="session")
def tiny_en_es_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from workers.translation.model_builder import build_argos_package

    return build_argos_package(
        tmp_path_factory.mktemp("model") / "en_es.argosmodel", from_code="en", to_code="es"
    )


def _events(rt: Runtime, request_id: str) -> list[str]:
    with transaction(rt.engine) as conn:
        rows = conn.execute(
            sa.select(audit_leaf.c.entry)
            .where(audit_leaf.c.request_id == request_id)
            .order_by(audit_leaf.c.idx)
        ).scalars()
        return [decode_entry(bytes(row)).event for row in rows]


def _prepare(settings: Settings, model: Path) -> Runtime:
    install_package(settings.data_dir, model)
    if settings.embedded_broker:
        ensure_embedded_broker(settings)
    return build_runtime(settings)


BACKENDS = ["embedded", "postgresql+redis", "postgresql+rabbitmq"]


@pytest.fixture(params=BACKENDS)
def backend_settings(
    request: pytest.FixtureRequest, make_settings: Callable[..., Settings]
) -> Settings:
    if request.param == "embedded":
        return make_settings()
    database = request.getfixturevalue("fresh_postgres_url")
    broker = request.getfixturevalue(
        "redis_broker_url" if request.param.endswith("redis") else "amqp_broker_url"
    )
    return make_settings(database_url=database, broker_url=broker)


def test_submitted_request_is_translated_by_a_real_worker(
    backend_settings: Settings,
    tiny_en_es_model: Path,
    start_worker: Callable[..., WorkerProcess],
) -> None:
    rt = _prepare(backend_settings, tiny_en_es_model)
    start_worker(backend_settings)
    request_id = accept(rt, sealed_submission(backend_settings))
    wait_for(lambda: "translated" in _events(rt, request_id), what="translation")
    events = _events(rt, request_id)
    assert events[:4] == ["received", "verified", "translation_started", "translated"]
    with transaction(rt.engine) as conn:
        translation = rt.blobs.read(conn, rt.blobs.find(conn, request_id, "translation").id)
    result = json.loads(translation)
    assert result["target_language"] == "es"
    assert {f["path"] for f in result["fields"]} >= {"sections.G.facts"}
    assert all(f["provenance"]["engine"] == "argostranslate" for f in result["fields"])
    rt.close()


def test_worker_killed_mid_translation_is_redelivered_and_applied_once(
    make_settings: Callable[..., Settings],
    tiny_en_es_model: Path,
    start_worker: Callable[..., WorkerProcess],
) -> None:
    settings = make_settings(broker_visibility_timeout=5, translation_beam_size=8)
    rt = _prepare(settings, tiny_en_es_model)
    long_text = "\n\n".join(
        f"Paragraph {i}: the suspect transferred money to the account in Madrid."
        for i in range(3000)
    ).encode()
    data = sealed_submission(
        settings, mla_form(), attachments=[("statement.txt", "text/plain", long_text)]
    )
    first = start_worker(settings, beat=False)
    request_id = accept(rt, data)

    def translating_in_progress() -> bool:
        with transaction(rt.engine) as conn:
            row = requests_store.get(conn, request_id)
        return row.progress_done > 0 and row.state.value == "translating"

    wait_for(translating_in_progress, what="translation to be under way")
    first.kill()
    with transaction(rt.engine) as conn:
        assert requests_store.get(conn, request_id).state.value == "translating"
    start_worker(settings, beat=False)
    wait_for(
        lambda: "translated" in _events(rt, request_id), timeout=300, what="redelivered translation"
    )
    events = _events(rt, request_id)
    assert events.count("translation_started") == 1
    assert events.count("translated") == 1
    with transaction(rt.engine) as conn:
        stored = conn.execute(
            sa.select(sa.func.count())
            .select_from(stored_objects)
            .where(
                stored_objects.c.request_id == request_id, stored_objects.c.kind == "translation"
            )
        ).scalar()
    assert stored == 1
    rt.close()
