"""Progress of a running translation: the request row always, the audit log every 25%.

The callback runs while the translate step holds no transaction; each report is its own
short transaction so readers (`rogatory requests show`, the API) see it at once.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from gateway.domain.states import State
from gateway.persistence import requests_store
from gateway.persistence.db import transaction
from gateway.services.lifecycle import record

AUDIT_STEP_PERCENT = 25


class ProgressReporter:
    """`progress(done, total)` for translate_request; audits each 25% mark once per run.

    0% and 100% are not audited: `translation_started` and `translated`/`step_failed`
    already mark them.
    """

    def __init__(self, engine: Engine, request_id: str, *, actor: str = "worker:translate"):
        self.engine = engine
        self.request_id = request_id
        self.actor = actor
        self.audited_percent = 0

    def __call__(self, done: int, total: int) -> None:
        with transaction(self.engine) as conn:
            # Guarded by state (a withdrawn request is left alone); touching updated_at
            # tells the sweeper this long translation is alive, not stalled.
            if not requests_store.compare_and_set(
                conn,
                self.request_id,
                State.TRANSLATING,
                State.TRANSLATING,
                progress_done=done,
                progress_total=total,
            ):
                return
            mark = self._mark(done, total)
            if mark > self.audited_percent:
                record(
                    conn,
                    requests_store.get(conn, self.request_id),
                    "translation_progress",
                    actor=self.actor,
                    detail={"done": done, "total": total, "percent": mark},
                )
                self.audited_percent = mark

    @staticmethod
    def _mark(done: int, total: int) -> int:
        """The last 25% mark reached, below 100 (e.g. 60% done -> 50)."""
        if total <= 0 or done >= total:
            return 0
        return (done * 100 // total) // AUDIT_STEP_PERCENT * AUDIT_STEP_PERCENT
