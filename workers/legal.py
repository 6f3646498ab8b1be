"""Celery tasks of the legal workflow: withdrawal evidence and the clocks' periodic job."""

from __future__ import annotations

from gateway.services import legal_notices, legal_workflow
from workers.celery_app import app
from workers.tasks import _after, _leased, runtime


@app.task(name=legal_workflow.WITHDRAWAL_EVIDENCE_TASK, acks_late=True)
def withdrawal_evidence(request_id: str) -> bool:
    rt = runtime()
    return legal_workflow.issue_withdrawal_evidence(rt.engine, rt.sealer(), request_id) is not None


@app.task(name="rogatory.legal_clocks", acks_late=True)
def sweep_clocks() -> int:
    if not _leased("legal-clocks"):  # once per period per cluster
        return 0
    rt = runtime()
    policy = legal_notices.ReminderPolicy.from_text(
        rt.settings.clock_reminder_days, rt.settings.clock_urgent_reminder_days
    )
    raised = legal_notices.sweep_clocks(rt.engine, rt.sealer(), policy=policy)
    _after(rt)
    return raised
