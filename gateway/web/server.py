"""`rogatory serve`: the Flask app on gunicorn's threaded worker (gthread).

Why gthread: the gateway is synchronous code (Flask, SQLAlchemy on psycopg or SQLite,
OpenSSL crypto) that releases the GIL while it waits on sockets, disks and OpenSSL, so a
few processes with a bounded thread pool each use both cores without monkey-patching
(gevent/eventlet would have to patch psycopg, kombu and the standard library under us).
Unlike the sync worker, gthread parks connections that wait for bytes in a selector, not
in a thread, so idle or kept-alive clients cost a file descriptor, never a thread.

Two changes to gthread: gunicorn 27 hands every *new* connection to a pool thread that
waits up to 5 s for its first byte, so a flood of silent connections queues legitimate
requests behind minutes of waiting. `GatewayThreadWorker` parks new connections in the
selector like kept-alive ones and closes them after the keep-alive timeout if they never
send a byte; a thread is taken only once a request has started to arrive. And a
kept-alive connection is closed after `http_keepalive_requests` requests, so that a few
long-lived clients do not all stay on the worker that happened to accept them.
"""

from __future__ import annotations

import selectors
import time
from functools import partial
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.config import Setting, validate_pos_int
from gunicorn.workers.gthread import TConn, ThreadWorker

from gateway.config import Settings


class KeepaliveRequests(Setting):  # type: ignore[misc]
    """gunicorn has no such knob: defining the class registers it (GatewayThreadWorker)."""

    name = "keepalive_requests"
    section = "Server Mechanics"
    validator = validate_pos_int
    type = int
    default = 0
    desc = "Requests one kept-alive connection may carry before it is closed (0: no limit)."


class GatewayThreadWorker(ThreadWorker):  # type: ignore[misc]
    """gthread whose new connections wait for their first byte in the selector, and
    whose kept-alive connections close after `http_keepalive_requests` requests."""

    def accept(self, listener: Any) -> None:
        try:
            client_sock, client_addr = listener.accept()
        except BlockingIOError:
            return
        except OSError as exc:  # a client that gave up between SYN and accept
            self.log.debug("accept failed: %s", exc)
            return
        self.nr_conns += 1
        conn = TConn(self.cfg, client_sock, client_addr, listener.getsockname())
        # same deadline as a kept-alive connection: murder_pending() closes it when silent
        conn.timeout = time.monotonic() + max(self.cfg.keepalive, 1)
        self.pending_conns.append(conn)
        self.poller.register(
            conn.sock, selectors.EVENT_READ, partial(self.on_pending_socket_readable, conn)
        )

    def handle_request(self, req: Any, conn: Any) -> bool:
        # The worker that accepts a connection keeps it for good, so a few long-lived
        # clients (a proxy's upstream pool, a counterpart's client) may all sit on one
        # worker while the others idle. Closing after N requests makes them reconnect,
        # and the least busy worker is the first to accept.
        conn.requests_served = getattr(conn, "requests_served", 0) + 1
        limit = self.cfg.keepalive_requests
        if limit and conn.requests_served >= limit:
            req.must_close = True  # answered with "Connection: close"
        return bool(super().handle_request(req, conn))


def gunicorn_options(settings: Settings, host: str, port: int) -> dict[str, Any]:
    """Every gunicorn knob we set, from Settings (documented in README's table)."""
    return {
        "bind": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"],
        "worker_class": f"{__name__}.GatewayThreadWorker",
        "workers": settings.http_workers,
        "threads": settings.http_threads,
        "worker_connections": settings.http_worker_connections,
        "timeout": settings.http_timeout,
        "graceful_timeout": settings.http_graceful_timeout,
        "keepalive": settings.http_keepalive,
        "keepalive_requests": settings.http_keepalive_requests,
        "max_requests": settings.http_max_requests,
        "max_requests_jitter": settings.http_max_requests // 10,
        "backlog": 2048,
        # gunicorn's own lines as JSON on stderr like ours; no access log (no URLs with
        # message ids in logs by default)
        "accesslog": None,
        "errorlog": "-",
        "loglevel": settings.log_level.lower(),
        "logconfig_dict": _json_log_config(settings.log_level),
        "proc_name": "rogatory-gateway",
        # the app (engine, keys) is built in each worker after fork, never shared
        "preload_app": False,
        "control_socket_disable": True,
    }


def _json_log_config(level: str) -> dict[str, Any]:
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "gateway.logs.JsonFormatter"}},
        "handlers": {"json_stderr": handler},
        "loggers": {
            "gunicorn.error": {"handlers": ["json_stderr"], "level": level, "propagate": False},
        },
        "root": {"handlers": ["json_stderr"], "level": level},
    }


class GatewayServer(BaseApplication):  # type: ignore[misc]
    """gunicorn's arbiter running `create_app(settings)` in every worker process."""

    def __init__(self, settings: Settings, host: str, port: int) -> None:
        self._settings = settings
        self._options = gunicorn_options(settings, host, port)
        super().__init__()

    def load_config(self) -> None:
        known = self.cfg.settings
        for key, value in self._options.items():
            if key in known:
                self.cfg.set(key, value)

    def load(self) -> Any:
        from gateway.logs import configure_logging
        from gateway.web.app import create_app, runtime_of

        configure_logging(self._settings.log_level)
        app = create_app(self._settings)
        # the keys are read (and RSA keys checked) now, not inside the worker's first request
        runtime_of(app).keys  # noqa: B018
        return app


def serve_forever(settings: Settings, host: str, port: int) -> None:
    """Run the arbiter until SIGTERM/SIGINT (graceful: in-flight requests finish)."""
    GatewayServer(settings, host, port).run()
