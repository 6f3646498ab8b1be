"""Session fixture: one real gateway for the exchange tests (see exchange_support)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest
from exchange_support import Gateway, register_clients
from live_gateway import RecordingSender
from werkzeug.serving import make_server

from gateway.config import load_settings
from gateway.runtime.container import build_runtime
from gateway.runtime.setup import initialise
from gateway.web.app import create_app


@pytest.fixture(scope="session")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    data_dir = tmp_path_factory.mktemp("exchange-gateway")
    settings = load_settings({}, overrides={"data_dir": data_dir})
    for _line in initialise(settings, dev_pki=True, demo_authorities=True):
        pass
    runtime = build_runtime(settings)
    runtime.sender = RecordingSender()  # type: ignore[assignment]
    app = create_app(settings, runtime=runtime)
    app.config["ROGATORY_RATE_PER_SECOND"] = 1000.0
    app.config["ROGATORY_RATE_BURST"] = 1000
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # the token audience comes from the configured public URL, never the Host header
    runtime.settings = replace(settings, public_url=f"http://127.0.0.1:{server.server_port}")
    pki = settings.keys_dir / "dev-pki"
    clients = register_clients(runtime, pki)
    yield Gateway(settings, runtime, f"http://127.0.0.1:{server.server_port}", pki, clients, app)
    server.shutdown()
    thread.join(timeout=5)
    runtime.engine.dispose()
