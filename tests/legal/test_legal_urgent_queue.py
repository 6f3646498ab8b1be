"""The `urgent` label (or section B urgency) puts a request's work on the queue served first."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from legal_support import day, eio_form, issue

from gateway.config import Settings
from gateway.runtime.celery_sender import celery_config
from gateway.runtime.container import Runtime, build_runtime
from gateway.services.dispatch import URGENT_QUEUE, flush_outbox
from gateway.web.cli import worker


class Recording:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send(self, task: str, payload: dict[str, Any], *, queue: str) -> None:
        self.sent.append((task, str(payload["request_id"]), queue))


@pytest.fixture
def rt(make_settings: Callable[..., Settings]) -> Iterator[Runtime]:
    runtime = build_runtime(make_settings())
    yield runtime
    runtime.close()


def test_urgent_requests_go_to_the_urgent_queue_and_workers_serve_it_first(rt: Runtime) -> None:
    normal = issue(rt, eio_form(), day(0))
    urgent = issue(rt, eio_form(urgency="very-urgent"), day(0))
    labelled = issue(rt, eio_form() | {"handling": ["urgent"]}, day(0))
    sender = Recording()
    assert flush_outbox(rt.engine, sender) == 3
    assert sorted(sender.sent) == sorted(
        [
            ("rogatory.translate", normal, "translate"),
            ("rogatory.translate", urgent, URGENT_QUEUE),
            ("rogatory.translate", labelled, URGENT_QUEUE),
        ]
    )
    options = celery_config(rt.settings)["broker_transport_options"]
    assert options["queue_order_strategy"] == "priority"
    queues = next(p for p in worker.params if p.name == "queues").default
    assert str(queues).split(",")[0] == URGENT_QUEUE
