"""The worker's Prometheus metrics: step durations and failures, MT throughput.

`serve_metrics` runs in the worker's main process before Celery forks its children:
it points prometheus_client's multiprocess mode at a fresh directory (children write
their samples there) and serves their sum on ``worker_metrics_port``.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Sequence
from typing import Any

from gateway.config import Settings
from gateway.translation.ports import TranslatedText, Translator

_started: dict[str, float] = {}
FAILED_STATE = "failed"


def serve_metrics(settings: Settings) -> None:
    """Multiprocess metrics on ``settings.worker_metrics_port`` (0: none). Call before any
    prometheus_client import: the mode is chosen when the library loads."""
    if not settings.worker_metrics_port:
        return
    directory = settings.data_dir / "metrics" / f"worker-{os.getpid()}"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, mode=0o700)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    from prometheus_client import start_http_server

    from gateway.runtime.metrics import process_registry

    start_http_server(settings.worker_metrics_port, addr="127.0.0.1", registry=process_registry())
    _connect_signals()


def _connect_signals() -> None:
    from celery.signals import task_postrun, task_prerun

    task_prerun.connect(_task_started, weak=False)
    task_postrun.connect(_task_finished, weak=False)


def _task_started(task_id: str | None = None, **_: Any) -> None:
    if task_id is not None:
        _started[task_id] = time.monotonic()


def _task_finished(
    task_id: str | None = None,
    task: Any = None,
    retval: Any = None,
    state: str | None = None,
    **_: Any,
) -> None:
    from gateway.runtime.metrics import STEP_DURATION, STEP_FAILURES

    started = _started.pop(task_id or "", None)
    step = str(getattr(task, "name", "unknown")).removeprefix("rogatory.")
    if started is not None:
        STEP_DURATION.labels(step).observe(time.monotonic() - started)
    if state != "SUCCESS" or retval == FAILED_STATE:
        STEP_FAILURES.labels(step).inc()


class MeasuredTranslator:
    """A Translator that counts segments and time per engine (segments/s in /metrics)."""

    def __init__(self, inner: Translator) -> None:
        self._inner = inner
        self.name = inner.name

    def pairs(self) -> set[tuple[str, str]]:
        return self._inner.pairs()

    def translate_batch(
        self, texts: Sequence[str], source: str, target: str
    ) -> list[TranslatedText]:
        from gateway.runtime.metrics import record_translation

        started = time.monotonic()
        outputs = self._inner.translate_batch(texts, source, target)
        record_translation(self.name, len(texts), time.monotonic() - started)
        return outputs

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
