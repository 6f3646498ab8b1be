"""A worker's pool process reads the keyring when it starts (celery's
worker_process_init), so its first package task does not pay for it; a keyring that
cannot be read is logged then and left to the tasks that need it, as before."""

from __future__ import annotations

import json
import logging

import pytest
from process_support import settings_env

from workers import tasks


@pytest.fixture
def worker_settings(make_settings, monkeypatch):
    settings = make_settings()
    for name, value in settings_env(settings).items():
        monkeypatch.setenv(name, value)
    tasks.runtime.cache_clear()
    yield settings
    tasks.runtime().close()
    tasks.runtime.cache_clear()


def test_a_pool_process_reads_its_keyring_when_it_starts(worker_settings):
    assert "keys" not in vars(tasks.runtime())
    tasks._read_keys_at_start()
    keys = vars(tasks.runtime())["keys"]  # the cached property, filled
    assert tasks.runtime().keys is keys


def test_an_unreadable_keyring_at_start_is_logged_not_raised(worker_settings, caplog):
    keyring = json.loads((worker_settings.keys_dir / "keyring.json").read_text())
    (worker_settings.keys_dir / keyring["seal"]["key"]).chmod(0o644)  # refused
    with caplog.at_level(logging.ERROR, logger="workers.tasks"):
        tasks._read_keys_at_start()
    assert "the keyring could not be read at worker start" in caplog.text
    assert "keys" not in vars(tasks.runtime())
