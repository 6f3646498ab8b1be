"""Send the outbox's tasks once the transaction that wrote them has committed."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.engine import Connection, Engine

from gateway.persistence import outbox_store
from gateway.persistence.db import transaction
from gateway.persistence.group_commit import GroupCommitter
from gateway.persistence.outbox_store import OutboxMessage
from gateway.services.legal_clocks import urgent_among

log = logging.getLogger(__name__)

TASK_QUEUES = {
    "rogatory.translate": "translate",
    "rogatory.render": "render",
    "rogatory.package": "render",
    "rogatory.render_review": "render",
    "rogatory.deliver": "deliver",
    "rogatory.notify": "deliver",
    "rogatory.notify_failure": "deliver",
    # issue 20: a magistrate's translation preview waits behind the pipeline's work
    "rogatory.preview_translation": "preview",
}
# Work on urgent requests (section B urgency or the `urgent` handling label) goes to this
# queue, which workers consume before the others (see celery_config).
URGENT_QUEUE = "urgent"


class TaskSender(Protocol):
    def send(self, task: str, payload: dict[str, Any], *, queue: str) -> None: ...


def flush_outbox(engine: Engine, sender: TaskSender, *, limit: int = 100) -> int:
    """Claim pending outbox messages and send them; at-least-once, tasks are idempotent.

    Rows are claimed before sending, so the web process and every worker may flush at
    once without sending a row twice (only a crash between send and mark repeats one).
    """
    with transaction(engine) as conn:
        messages = outbox_store.claim(conn, limit=limit)
        urgent = urgent_among(conn, {str(m.payload.get("request_id")) for m in messages})
    if not messages:
        return 0
    return _send_claimed(engine, sender, messages, urgent)


def send_claimed(
    engine: Engine,
    sender: TaskSender,
    message: OutboxMessage,
    *,
    urgent: bool,
    committer: GroupCommitter | None = None,
) -> int:
    """Send one row its writer claimed in its own transaction (intake's first task); with
    `committer`, marking it sent shares a transaction with other threads' writes."""
    request_id = str(message.payload.get("request_id"))
    return _send_claimed(
        engine, sender, [message], {request_id} if urgent else set(), committer=committer
    )


def _send_claimed(
    engine: Engine,
    sender: TaskSender,
    messages: list[OutboxMessage],
    urgent: set[str],
    *,
    committer: GroupCommitter | None = None,
) -> int:
    sent: list[int] = []
    try:
        for message in messages:
            queue = TASK_QUEUES.get(message.task, "default")
            if queue != "default" and message.payload.get("request_id") in urgent:
                queue = URGENT_QUEUE
            sender.send(message.task, message.payload, queue=queue)
            sent.append(message.id)
    finally:
        settled = _Settled(sent, [m.id for m in messages if m.id not in set(sent)])
        # one short transaction for the batch, even when a later send failed; with the
        # committer nobody waits for it (a lost mark re-sends the task, as a crash would)
        # and the marks of its batch are one statement
        if committer is not None:
            committer.run_detached_together(_settle_many, settled)
        else:
            with transaction(engine) as conn:
                _settle_many(conn, [settled])
        if sent:
            log.info("outbox flushed", extra={"sent": len(sent)})
    return len(sent)


@dataclass(frozen=True)
class _Settled:
    sent: list[int]
    unsent: list[int]


def _settle_many(conn: Connection, settled: list[_Settled]) -> list[None]:
    sent = [key for one in settled for key in one.sent]
    unsent = [key for one in settled for key in one.unsent]
    if sent:
        outbox_store.mark_sent(conn, sent)
    if unsent:
        outbox_store.release(conn, unsent)
    return [None] * len(settled)
