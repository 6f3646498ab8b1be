"""Session fixtures: tiny real argos packages (built once), an installed data dir, engines.

Every test in this area runs with outbound connections blocked: models must never be
downloaded at runtime.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.domain.forms import RequestForm, validate_form
from gateway.translation.model_packages import install_package
from workers.translation.model_builder import build_argos_package

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"


class NetworkBlocked(RuntimeError):
    pass


@pytest.fixture(scope="session", autouse=True)
def _no_network() -> Iterator[None]:
    original = socket.socket.connect

    def refuse(self: socket.socket, address: Any) -> None:
        # local services (later test folders' servers, PostgreSQL, Redis) stay reachable
        if self.family == socket.AF_UNIX or address[0] in ("127.0.0.1", "::1", "localhost"):
            return original(self, address)
        raise NetworkBlocked(f"network access attempted: {address!r}")

    socket.socket.connect = refuse  # type: ignore[method-assign]
    yield
    socket.socket.connect = original  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def tiny_packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("argosmodels")
    return {
        "en_es": build_argos_package(folder / "en_es.argosmodel", from_code="en", to_code="es"),
        "nl_en": build_argos_package(
            folder / "nl_en.argosmodel", from_code="nl", to_code="en", seed=1
        ),
    }


@pytest.fixture(scope="session")
def argos_data_dir(
    tmp_path_factory: pytest.TempPathFactory, tiny_packages: dict[str, Path]
) -> Path:
    data_dir = tmp_path_factory.mktemp("data")
    for archive in tiny_packages.values():
        install_package(data_dir, archive)
    return data_dir


@pytest.fixture(scope="session")
def argos_engine(argos_data_dir: Path) -> Any:
    from workers.translation.argos_engine import EngineSettings, get_engine

    return get_engine(EngineSettings(argos_data_dir, beam_size=2, intra_threads=2))


@pytest.fixture(scope="session")
def apertium() -> Any:
    from workers.translation.apertium_engine import ApertiumEngine

    return ApertiumEngine()


@pytest.fixture
def mla_form() -> RequestForm:
    return validate_form(json.loads((FIXTURES / "mla_request.json").read_text()))


# Issue 19: fixtures of the review/TM worker tests (runtime_for, apertium_calls).
from review_support import apertium_calls, runtime_for  # noqa: E402, F401
