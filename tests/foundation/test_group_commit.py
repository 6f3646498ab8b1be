"""Group commit of intake: concurrent submissions share one transaction, each answered only
after it committed, a refused one rolls back alone, and a crash before the commit loses
nothing that was acknowledged (SQLite and PostgreSQL).

Batches are made deterministic, not timed: a first step holds the committer thread
until every submission of the test is queued behind it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from foundation_support import intake, sealed_submission
from process_support import settings_env, wait_for

from gateway.audit import ledger
from gateway.audit.entries import decode_entry
from gateway.config import Settings
from gateway.persistence import requests_store
from gateway.persistence.audit_tables import audit_leaf
from gateway.persistence.db import transaction
from gateway.persistence.group_commit import GroupCommitter
from gateway.persistence.tables import requests
from gateway.runtime.container import Runtime, build_runtime
from gateway.services import evidences
from gateway.services.intake import Accepted, IntakeRefused

BATCH = 12


@pytest.fixture(params=["sqlite", "postgresql"])
def runtime(
    request: pytest.FixtureRequest, make_settings: Callable[..., Settings]
) -> Iterator[Runtime]:
    if request.param == "sqlite":
        settings = make_settings()
    else:
        settings = make_settings(database_url=request.getfixturevalue("fresh_postgres_url"))
    rt = build_runtime(settings)
    yield rt
    rt.close()


def _intake(rt: Runtime, committer: GroupCommitter, data: bytes) -> Accepted:
    return intake(rt, data, sealer=rt.sealer(), committer=committer)


class HeldCommitter:
    """A committer whose thread is held by a first step until `release`."""

    def __init__(self, committer: GroupCommitter) -> None:
        self.committer = committer
        self._gate = threading.Event()
        self._entered = threading.Event()
        self._holder = threading.Thread(target=committer.run, args=(self._hold,))
        self._holder.start()
        self._entered.wait(timeout=30)

    def _hold(self, _conn: Any) -> None:
        self._entered.set()
        self._gate.wait(timeout=120)

    def queued(self) -> int:
        return self.committer._queue.qsize()

    def release(self) -> None:
        self._gate.set()
        self._holder.join(timeout=60)


def _submit_in_one_batch(rt: Runtime, bodies: list[bytes]) -> list[Future[Accepted]]:
    committer = GroupCommitter(rt.engine, max_batch=len(bodies))
    held = HeldCommitter(committer)
    pool = ThreadPoolExecutor(max_workers=len(bodies))
    futures = [pool.submit(_intake, rt, committer, body) for body in bodies]
    wait_for(lambda: held.queued() == len(bodies), timeout=120, what="all steps queued")
    held.release()
    pool.shutdown(wait=True)
    assert committer.batches == 2  # the holding step's, then every submission in one
    committer.close()
    return futures


def _events_of(rt: Runtime, request_id: str) -> list[tuple[int, str]]:
    with transaction(rt.engine) as conn:
        rows = conn.execute(
            sa.select(audit_leaf.c.idx, audit_leaf.c.entry)
            .where(audit_leaf.c.request_id == request_id)
            .order_by(audit_leaf.c.idx)
        ).all()
    return [(int(idx), decode_entry(bytes(entry)).event) for idx, entry in rows]


def test_concurrent_submissions_commit_together_and_every_receipt_verifies(
    runtime: Runtime,
) -> None:
    rt = runtime
    futures = _submit_in_one_batch(rt, [sealed_submission(rt.settings) for _ in range(BATCH)])
    answers = [future.result() for future in futures]
    assert [a.duplicate for a in answers] == [False] * BATCH
    trust = rt.keys.trust(allow_stale_crl=False, max_skew_seconds=600)
    for answer in answers:
        assert answer.receipt is not None
        body = evidences.verify_evidence(answer.receipt.der, trust, now=datetime.now(UTC))
        assert (body["evidence"], body["request_id"]) == (
            "SubmissionAcceptance",
            answer.request_id,
        )
        events = _events_of(rt, answer.request_id)
        assert [event for _, event in events] == ["received", "verified", "evidence_issued"]
        with transaction(rt.engine) as conn:
            stored = requests_store.get(conn, answer.request_id)
            assert evidences.find(conn, answer.request_id, "SubmissionAcceptance") == (
                answer.receipt
            )
        # the receipt names the index of its request's `received` entry
        assert body["audit_index"] == events[0][0] == stored.received_audit_index
        assert stored.state.value == "verified"
    with transaction(rt.engine) as conn:
        assert ledger.verify_database(conn, rt.keys.log_key.public_key()).ok
        assert ledger.tree_size(conn) == 3 * BATCH


def test_a_refused_submission_rolls_back_alone_within_its_batch(runtime: Runtime) -> None:
    rt = runtime
    shared_id = f"msg-{uuid.uuid4().hex}"
    clashing = [sealed_submission(rt.settings, message_id=shared_id) for _ in range(2)]
    others = [sealed_submission(rt.settings) for _ in range(4)]
    futures = _submit_in_one_batch(rt, [*clashing, *others])
    outcomes = []
    for future in futures[:2]:
        try:
            outcomes.append(future.result().duplicate)
        except IntakeRefused as refused:
            outcomes.append(refused.code)
    assert sorted(map(str, outcomes)) == ["False", "replayed"]
    assert all(not f.result().duplicate for f in futures[2:])
    with transaction(rt.engine) as conn:
        count = conn.execute(
            sa.select(sa.func.count())
            .select_from(requests)
            .where(requests.c.message_id == shared_id)
        ).scalar_one()
        assert count == 1
        # 5 accepted requests x 3 entries, plus the `rejected` entry of the replay
        assert ledger.tree_size(conn) == 5 * 3 + 1
        assert ledger.verify_database(conn, rt.keys.log_key.public_key()).ok


def test_detached_steps_join_the_next_batch_and_a_failing_one_rolls_back_alone(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    rt = runtime
    with transaction(rt.engine) as conn:
        conn.exec_driver_sql("CREATE TABLE detached_marks (x INTEGER NOT NULL)")

    def mark(value: int) -> Callable[[Any], None]:
        def step(conn: Any) -> None:
            conn.execute(sa.text("INSERT INTO detached_marks (x) VALUES (:x)"), {"x": value})
            if value < 0:
                raise RuntimeError("this mark fails")

        return step

    committer = GroupCommitter(rt.engine)
    held = HeldCommitter(committer)
    for value in (1, -1, 2):
        committer.run_detached(mark(value))  # returns at once: nobody waits for these
    assert held.queued() == 3
    held.release()
    committer.close()  # runs what was queued before stopping
    assert committer.batches == 2  # the holding step's, then the three detached ones
    with transaction(rt.engine) as conn:
        marks = [row[0] for row in conn.exec_driver_sql("SELECT x FROM detached_marks")]
    assert sorted(marks) == [1, 2]  # the failing one rolled back alone
    assert "detached group-commit step failed" in caplog.text


def test_a_failed_commit_answers_no_submission_of_its_batch(runtime: Runtime) -> None:
    rt = runtime
    committer = GroupCommitter(rt.engine)
    held = HeldCommitter(committer)

    def poison(conn: Any) -> None:  # a later step makes the commit itself fail
        sa.event.listen(conn, "commit", _fail_commit, once=True)

    pool = ThreadPoolExecutor(max_workers=4)
    accepted = [pool.submit(_intake, rt, committer, sealed_submission(rt.settings)) for _ in "ab"]
    wait_for(lambda: held.queued() == 2, timeout=120, what="both submissions queued")
    poisoned = pool.submit(committer.run, poison)
    wait_for(lambda: held.queued() == 3, timeout=120, what="the poison step queued")
    held.release()
    pool.shutdown(wait=True)
    committer.close()
    for future in [*accepted, poisoned]:
        with pytest.raises(RuntimeError, match="commit refused"):
            future.result()
    with transaction(rt.engine) as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(requests)).scalar_one() == 0
        assert ledger.tree_size(conn) == 0


def _requests_with(conn: Any, message_id: str) -> int:
    query = sa.select(sa.func.count()).select_from(requests)
    return int(conn.execute(query.where(requests.c.message_id == message_id)).scalar_one())


def _fail_commit(_conn: Any) -> None:
    raise RuntimeError("commit refused (test)")


CRASHING_CHILD = """
import os, sys, threading
from gateway.config import load_settings
from gateway.persistence.group_commit import GroupCommitter
from gateway.runtime.container import build_runtime
from gateway.services.intake import accept_submission

rt = build_runtime(load_settings(os.environ))
committer = GroupCommitter(rt.engine)
gate, entered = threading.Event(), threading.Event()
holder = threading.Thread(target=committer.run, args=(lambda c: (entered.set(), gate.wait()),))
holder.start()
entered.wait()
keys = rt.keys

def intake():
    accepted = accept_submission(
        rt.engine, rt.blobs, rt.settings, open(sys.argv[1], "rb").read(),
        recipient_keys=keys.intake,
        trust=keys.trust(allow_stale_crl=False, max_skew_seconds=600),
        sealer=rt.sealer(), committer=committer,
    )
    print("ACKNOWLEDGED", accepted.request_id, flush=True)

threading.Thread(target=intake).start()
while committer._queue.qsize() < 1:
    threading.Event().wait(0.05)

def crash(conn):  # runs after the submission's rows and audit entries, before the commit
    print("CRASHING", flush=True)
    os._exit(9)

threading.Thread(target=committer.run, args=(crash,)).start()
while committer._queue.qsize() < 2:
    threading.Event().wait(0.05)
gate.set()
threading.Event().wait(60)
"""


def test_a_crash_between_append_and_commit_loses_nothing_acknowledged(
    runtime: Runtime, tmp_path: Path
) -> None:
    rt = runtime
    message_id = f"msg-{uuid.uuid4().hex}"
    body = tmp_path / "submission.cms"
    body.write_bytes(sealed_submission(rt.settings, message_id=message_id))
    child = subprocess.run(
        [sys.executable, "-c", CRASHING_CHILD, str(body)],
        env=settings_env(rt.settings),
        capture_output=True,
        timeout=180,
        check=False,
    )
    out = child.stdout.decode()
    assert child.returncode == 9, child.stderr.decode()[-2000:]
    assert "CRASHING" in out
    assert "ACKNOWLEDGED" not in out  # the caller was never answered...
    with transaction(rt.engine) as conn:  # ...and nothing of it is in the database
        stored = conn.execute(
            sa.select(sa.func.count())
            .select_from(requests)
            .where(requests.c.message_id == message_id)
        ).scalar_one()
        assert stored == 0
        assert ledger.tree_size(conn) == 0
        assert ledger.verify_database(conn, rt.keys.log_key.public_key()).ok
    # the sender's retry is accepted as a first submission, with a receipt
    committer = GroupCommitter(rt.engine)
    retried = _intake(rt, committer, body.read_bytes())
    committer.close()
    assert not retried.duplicate
    assert retried.receipt is not None
    assert json.loads(json.dumps(retried.receipt.to_json()))["kind"] == "SubmissionAcceptance"


TURN_HOLDER = """
import os, sys
from gateway.config import load_settings
from gateway.persistence.db import WriterTurn, make_engine

turn = WriterTurn(make_engine(load_settings(os.environ).database_url))
with turn:
    print("HOLDING", flush=True)
    sys.stdin.readline()  # until the test lets go
print("RELEASED", flush=True)
"""


def test_sqlite_committers_of_two_processes_take_turns_for_the_write_lock(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    rt = build_runtime(settings)
    with subprocess.Popen(
        [sys.executable, "-c", TURN_HOLDER],
        env=settings_env(settings),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    ) as holder:
        assert holder.stdout is not None
        assert holder.stdin is not None
        try:
            assert holder.stdout.readline().strip() == b"HOLDING"
            committer = GroupCommitter(rt.engine)
            answered = threading.Event()
            waiting = threading.Thread(
                target=lambda: (committer.run(lambda conn: None), answered.set())
            )
            waiting.start()
            # the other process holds the turn: this committer waits in line, not in SQLite
            assert not answered.wait(timeout=1.0)
            holder.stdin.write(b"go\n")
            holder.stdin.flush()
            assert holder.stdout.readline().strip() == b"RELEASED"
            assert answered.wait(timeout=60)
            waiting.join(timeout=60)
            committer.close()
        finally:
            holder.kill()
            rt.close()
