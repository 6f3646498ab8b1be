"""Producer side of Celery for the gateway: sends tasks by name, never imports workers."""

from __future__ import annotations

from typing import Any

from celery import Celery

from gateway.config import Settings


def celery_config(settings: Settings) -> dict[str, Any]:
    """The one Celery configuration shared by producers and workers."""
    return {
        "broker_url": settings.broker_url,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "event_serializer": "json",
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_acks_on_failure_or_timeout": False,
        "task_ignore_result": True,
        "worker_prefetch_multiplier": 1,
        # no task holds a worker for ever: SoftTimeLimitExceeded is recorded as a step
        # failure; past the hard limit the child is killed and the run counts as lost
        "task_soft_time_limit": settings.task_soft_time_limit,
        "task_time_limit": settings.task_time_limit,
        "task_default_queue": "default",
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {
            "visibility_timeout": settings.broker_visibility_timeout,
            # Redis: poll the queues in the order given to the worker, `urgent` first
            **(
                {"queue_order_strategy": "priority"}
                if settings.broker_url.startswith("redis")
                else {}
            ),
        },
        "worker_hijack_root_logger": False,
        "worker_send_task_events": False,
        "enable_utc": True,
    }


class CelerySender:
    def __init__(self, settings: Settings) -> None:
        self._app = Celery("rogatory-producer", set_as_current=False)
        self._app.conf.update(celery_config(settings))

    def send(self, task: str, payload: dict[str, Any], *, queue: str) -> None:
        self._app.send_task(task, kwargs=payload, queue=queue)

    def close(self) -> None:
        self._app.close()
