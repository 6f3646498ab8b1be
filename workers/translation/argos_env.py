"""argostranslate fixes its directories at import time: point them into our data dir first."""

from __future__ import annotations

import os
import sys
from pathlib import Path

_ENV_FLAG = "ROGATORY_ARGOS_DATA_DIR"


class ArgosEnvironmentError(RuntimeError):
    code = "argos-environment"


def prepare_argos_environment(data_dir: Path) -> Path:
    """Set argos/XDG variables under `data_dir` before argostranslate is imported.

    Returns the packages directory. Safe to call twice with the same directory; refuses a
    different one once argostranslate is loaded, because its settings cannot change then.
    """
    data_dir = Path(data_dir).resolve()
    models = data_dir / "models"
    packages = models / "packages"
    xdg = models / "xdg"
    if "argostranslate.settings" in sys.modules:
        if os.environ.get(_ENV_FLAG) != str(data_dir):
            raise ArgosEnvironmentError(
                "argostranslate was imported before prepare_argos_environment(); "
                "its directories would point outside the data dir"
            )
        return packages
    for folder in (packages, xdg / "data", xdg / "cache", xdg / "config"):
        folder.mkdir(parents=True, exist_ok=True)
    # argostranslate skips the xx_sent_ud_sm download when this cache marker exists.
    (xdg / "cache" / "argos-translate" / "spacy" / "senter" / "model").mkdir(
        parents=True, exist_ok=True
    )
    os.environ.update(
        {
            _ENV_FLAG: str(data_dir),
            "ARGOS_PACKAGES_DIR": str(packages),
            "XDG_DATA_HOME": str(xdg / "data"),
            "XDG_CACHE_HOME": str(xdg / "cache"),
            "XDG_CONFIG_HOME": str(xdg / "config"),
            "ARGOS_DEVICE_TYPE": "cpu",
            "ARGOS_CHUNK_TYPE": "SPACY",
            "ARGOS_DEBUG": "0",
            "ARGOS_PACKAGE_INDEX": "file:///nonexistent/",
            "HF_HUB_OFFLINE": "1",
            "STANZA_RESOURCES_DIR": str(xdg / "data" / "stanza"),
        }
    )
    return packages
