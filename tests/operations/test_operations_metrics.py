"""`/health`, `/ready` and `/metrics` of the gateway, and the metrics a real worker serves."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from ops_support import REPO, dev_submission
from prometheus_client.parser import text_string_to_metric_families

from gateway.config import Settings
from gateway.runtime.broker import ensure_embedded_broker
from gateway.web.app import create_app


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def _value(samples: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_health_ready_and_metrics_move_with_the_work(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    app = create_app(settings)
    client = app.test_client()
    assert client.get("/health").json == {"status": "ok"}
    not_ready = client.get("/ready")
    assert not_ready.status_code == 503
    assert "broker" in not_ready.json["checks"]
    assert not_ready.json["checks"]["database"] == "ok"
    ensure_embedded_broker(settings)
    ready = client.get("/ready")
    assert ready.status_code == 200, ready.json
    assert ready.json["checks"] == {
        "database": "ok", "broker": "ok", "object store": "ok", "keys": "ok", "CRLs": "ok"
    }  # fmt: skip

    before = _samples(client.get("/metrics").get_data(as_text=True))
    # the dev PKI registers an already expired magistrate certificate: the earliest
    assert _value(before, "rogatory_certificate_expiry_days") < 0
    accepted = client.post(
        "/api/v1/submissions",
        data=dev_submission(settings),
        headers={"Content-Type": "application/pkcs7-mime"},
    )
    assert accepted.status_code == 202, accepted.json
    refused = client.post(
        "/api/v1/submissions",
        data=dev_submission(settings, magistrate="magistrate-revoked"),
        headers={"Content-Type": "application/pkcs7-mime"},
    )
    assert refused.status_code >= 400
    code = refused.json["code"]
    scraped = client.get("/metrics")
    assert scraped.content_type.startswith("text/plain")
    after = _samples(scraped.get_data(as_text=True))
    in_flight = sum(
        value for (name, _), value in after.items() if name == "rogatory_requests"
    ) - sum(value for (name, _), value in before.items() if name == "rogatory_requests")
    assert in_flight >= 1
    assert _value(after, "rogatory_audit_log_entries") > _value(
        before, "rogatory_audit_log_entries"
    )
    waiting = sum(v for (name, _), v in after.items() if name == "rogatory_queue_depth")
    waited = sum(v for (name, _), v in before.items() if name == "rogatory_queue_depth")
    assert waiting == waited + 1  # its translate task (the urgent queue for urgent requests)
    assert _value(after, "rogatory_submissions_rejected_total", code=code) == (
        _value(before, "rogatory_submissions_rejected_total", code=code) + 1
    )
    assert _value(after, "rogatory_outbox_backlog") == 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def apertium_worker(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> Iterator[tuple[Settings, int]]:
    from process_support import settings_env

    port = _free_port()
    settings = make_settings(translation_engine="apertium", worker_metrics_port=port)
    env = settings_env(settings)
    env.update(ROGATORY_WORKER_METRICS_PORT=str(port))
    log_path = tmp_path / "worker.log"
    with log_path.open("ab") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "gateway", "worker", "--concurrency", "1", "--no-beat"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        from process_support import wait_for

        wait_for(lambda: b" ready." in log_path.read_bytes() or worker.poll() is not None,
                 what="worker start")  # fmt: skip
        assert worker.poll() is None, log_path.read_text()[-3000:]
        yield settings, port
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


@pytest.mark.slow
def test_worker_serves_step_durations_and_mt_throughput(
    apertium_worker: tuple[Settings, int],
) -> None:
    from process_support import wait_for

    settings, port = apertium_worker
    url = f"http://127.0.0.1:{port}/metrics"
    before = _samples(httpx.get(url, timeout=10).text)
    assert _value(before, "rogatory_step_duration_seconds_count", step="translate") == 0
    app = create_app(settings)
    accepted = app.test_client().post(
        "/api/v1/submissions",
        data=dev_submission(settings),
        headers={"Content-Type": "application/pkcs7-mime"},
    )
    assert accepted.status_code == 202, accepted.json

    def translated() -> dict | None:  # type: ignore[type-arg]
        samples = _samples(httpx.get(url, timeout=10).text)
        done = _value(samples, "rogatory_step_duration_seconds_count", step="translate")
        return samples if done >= 1 else None

    after = wait_for(translated, timeout=300, what="the translate step in /metrics")
    assert isinstance(after, dict)
    assert _value(after, "rogatory_mt_segments_total", engine="apertium") > 0
    assert _value(after, "rogatory_mt_seconds_total", engine="apertium") > 0
    assert _value(after, "rogatory_step_failures_total", step="translate") == 0
    assert _value(after, "rogatory_step_duration_seconds_sum", step="translate") > 0
