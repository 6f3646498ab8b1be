"""Helpers of the issue 19 worker tests: runtimes, submissions, audit entries, translations."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from process_support import REPO, settings_env
from worker_support import sealed_submission

from gateway.audit.entries import AuditEntry, decode_entry
from gateway.config import Settings
from gateway.persistence.audit_tables import audit_leaf
from gateway.persistence.db import transaction
from gateway.runtime.broker import ensure_embedded_broker
from gateway.runtime.container import Runtime, build_runtime
from gateway.services.dispatch import flush_outbox
from gateway.services.intake import accept_submission


@pytest.fixture
def runtime_for(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., Runtime]]:
    made: list[Runtime] = []

    def make(**overrides: object) -> Runtime:
        settings = make_settings(**overrides)
        if settings.embedded_broker:
            ensure_embedded_broker(settings)
        made.append(build_runtime(settings))
        return made[-1]

    yield make
    for rt in made:
        rt.close()


@pytest.fixture
def apertium_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An `apertium` first on the worker's PATH that logs each call, then runs the real one."""
    shim_dir = tmp_path / "shim"
    shim_dir.mkdir()
    log = tmp_path / "apertium-calls.log"
    log.touch()
    shim = shim_dir / "apertium"
    shim.write_text(f'#!/bin/sh\necho "$@" >> {log}\nexec /usr/bin/apertium "$@"\n')
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{shim_dir}{os.pathsep}{os.environ['PATH']}")
    return log


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


def submit(
    rt: Runtime, form: dict[str, Any], attachments: list[tuple[str, str, bytes]] | None = None
) -> str:
    """Accept `form` (sealed like a magistrate's client would) and send its first task."""
    accepted = accept_submission(
        rt.engine,
        rt.blobs,
        rt.settings,
        sealed_submission(rt.settings, form, attachments=attachments or []),
        recipient_keys=rt.keys.intake,
        trust=rt.keys.trust(allow_stale_crl=False, max_skew_seconds=600),
    )
    flush_outbox(rt.engine, rt.sender)
    return accepted.request_id


def entries(rt: Runtime, request_id: str | None) -> list[AuditEntry]:
    with transaction(rt.engine) as conn:
        rows = conn.execute(
            sa.select(audit_leaf.c.entry)
            .where(audit_leaf.c.request_id == request_id)
            .order_by(audit_leaf.c.idx)
        ).scalars()
        return [decode_entry(bytes(row)) for row in rows]


def translation(rt: Runtime, request_id: str) -> dict[str, Any]:
    with transaction(rt.engine) as conn:
        stored = rt.blobs.find(conn, request_id, "translation")
        assert stored is not None
        return json.loads(rt.blobs.read(conn, stored.id))


def translated(rt: Runtime, request_id: str) -> AuditEntry | None:
    return next((e for e in entries(rt, request_id) if e.event == "translated"), None)
