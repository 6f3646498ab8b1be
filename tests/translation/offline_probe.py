"""Run in a fresh interpreter with sockets blocked: stock argostranslate and our engine, offline."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path


def _refuse(*_args: object) -> None:
    raise OSError("network blocked by offline_probe")


socket.socket.connect = _refuse  # type: ignore[method-assign,assignment]
socket.create_connection = _refuse  # type: ignore[assignment]

data_dir = Path(sys.argv[1])
from workers.translation.argos_env import prepare_argos_environment  # noqa: E402

packages = prepare_argos_environment(data_dir)
import argostranslate.settings  # noqa: E402
import argostranslate.translate  # noqa: E402

from workers.translation.argos_engine import EngineSettings, get_engine  # noqa: E402

stock = argostranslate.translate.translate("The suspect sold false invoices.", "en", "es")
engine = get_engine(EngineSettings(data_dir, beam_size=1))
ours = engine.translate_batch(["The suspect sold false invoices."], "en", "es")[0]
print(
    json.dumps(
        {
            "stock": stock,
            "ours": ours.text,
            "package_dir": str(argostranslate.settings.package_data_dir),
            "data_dir": str(argostranslate.settings.data_dir),
            "cache_dir": str(argostranslate.settings.cache_dir),
            "expected_packages": str(packages),
            "chunk_type": argostranslate.settings.chunk_type.name,
        }
    )
)
