"""The real WSGI app behind werkzeug's HTTP server in a thread, the broker recorded:
for tests that speak HTTP to a gateway without starting `rogatory serve`."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from werkzeug.serving import make_server

from gateway.config import Settings
from gateway.runtime.container import build_runtime
from gateway.web.app import create_app


class RecordingSender:
    """Stands in for the Celery broker (an outer boundary): tasks are recorded, not run."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, object]]] = []

    def send(self, task: str, payload: dict[str, object], *, queue: str) -> None:
        self.sent.append((task, payload))

    def close(self) -> None:
        pass


@dataclass
class LiveGateway:
    settings: Settings
    url: str
    sender: RecordingSender


@contextlib.contextmanager
def serving(settings: Settings) -> Iterator[LiveGateway]:
    """The app on 127.0.0.1 (a free port) until the block ends."""
    runtime = build_runtime(settings)
    sender = RecordingSender()
    runtime.sender = sender  # type: ignore[assignment]
    server = make_server("127.0.0.1", 0, create_app(settings, runtime=runtime), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveGateway(settings, f"http://127.0.0.1:{server.server_port}", sender)
    server.shutdown()
    thread.join(timeout=5)
    runtime.engine.dispose()
