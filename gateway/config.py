"""Settings from the environment and an optional TOML file, validated at start-up.

Every setting has an environment variable (ROGATORY_<NAME>, or the conventional
DATABASE_URL / BROKER_URL) and a key of the same name in `rogatory.toml`.
Environment wins over the file. A bad value stops start-up with one line naming it.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the setting."""

    code = "bad-config"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    gateway_id: str = "rogatory-gateway"
    database_url: str = ""
    broker_url: str = ""
    log_level: str = "INFO"
    keys_dir: Path = field(default=Path())
    allow_legacy_cbc: bool = False
    allow_stale_crl: bool = False
    max_clock_skew_seconds: int = 600
    max_submission_bytes: int = 64 * 1024 * 1024
    max_attachment_bytes: int = 4 * 1024**3
    broker_visibility_timeout: int = 3600
    worker_concurrency: int = 2
    translation_engine: str = "argos"
    translation_beam_size: int = 2
    translation_threads: int = 1
    lease_seconds: int = 300
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    # legal clocks: reminders this many days before a due date (urgent requests: earlier)
    clock_reminder_days: str = "7,3,1"
    clock_urgent_reminder_days: str = "14,7,3,2,1"

    @property
    def embedded_database(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def embedded_broker(self) -> bool:
        return self.broker_url.startswith("redis+socket://") and self.broker_url.endswith(
            str(self.data_dir / "broker" / "redis.sock")
        )

    @property
    def broker_socket(self) -> Path:
        return self.data_dir / "broker" / "redis.sock"


_ENV_ALIASES = {"database_url": "DATABASE_URL", "broker_url": "BROKER_URL"}
_CHOICES = {
    "log_level": ("DEBUG", "INFO", "WARNING", "ERROR"),
    "translation_engine": ("argos", "apertium"),
}
_RANGES = {
    "max_clock_skew_seconds": (0, 86_400),
    "max_submission_bytes": (1024, 2**34),
    "max_attachment_bytes": (1024, 2**40),
    "broker_visibility_timeout": (1, 7 * 86_400),
    "worker_concurrency": (1, 64),
    "translation_beam_size": (1, 16),
    "translation_threads": (1, 64),
    "lease_seconds": (5, 86_400),
    "http_port": (1, 65_535),
}


def load_settings(
    env: Mapping[str, str] | None = None, *, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Read, convert and check every setting; raise ConfigError naming the first bad one."""
    env = os.environ if env is None else env
    raw: dict[str, Any] = {}
    config_file = env.get("ROGATORY_CONFIG")
    if config_file:
        raw.update(_read_toml(Path(config_file)))
    for spec in fields(Settings):
        name = _ENV_ALIASES.get(spec.name, f"ROGATORY_{spec.name.upper()}")
        if name in env:
            raw[spec.name] = env[name]
    raw.update(overrides or {})
    unknown = set(raw) - {spec.name for spec in fields(Settings)}
    if unknown:
        raise ConfigError(f"unknown setting '{sorted(unknown)[0]}'")
    values: dict[str, Any] = {}
    for spec in fields(Settings):
        if spec.name in raw:
            values[spec.name] = _convert(spec.name, spec.type, raw[spec.name])
    values.setdefault("data_dir", Path("var").resolve())
    data_dir = Path(values["data_dir"]).resolve()
    values["data_dir"] = data_dir
    values.setdefault("keys_dir", data_dir / "keys")
    values.setdefault("database_url", f"sqlite:///{data_dir / 'rogatory.sqlite3'}")
    values.setdefault("broker_url", f"redis+socket://{data_dir / 'broker' / 'redis.sock'}")
    settings = Settings(**values)
    _check(settings)
    return settings


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"ROGATORY_CONFIG: cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"ROGATORY_CONFIG: {path} is not valid TOML: {exc}") from None
    return dict(data.get("rogatory", data))


def _convert(name: str, kind: Any, value: Any) -> Any:
    kind_name = kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
    converters: dict[str, Callable[[Any], Any]] = {
        "Path": lambda v: Path(str(v)).expanduser(),
        "bool": _to_bool,
        "int": lambda v: int(str(v)),
        "str": str,
    }
    try:
        return converters[kind_name](value)
    except (ValueError, KeyError):
        raise ConfigError(
            f"setting '{name}': cannot use {value!r} ({kind_name} expected)"
        ) from None


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(value)


def _check(settings: Settings) -> None:
    for name, choices in _CHOICES.items():
        if getattr(settings, name) not in choices:
            raise ConfigError(f"setting '{name}': must be one of {', '.join(choices)}")
    for name, (low, high) in _RANGES.items():
        if not low <= getattr(settings, name) <= high:
            raise ConfigError(f"setting '{name}': must be between {low} and {high}")
    if not settings.database_url.startswith(("sqlite:///", "postgresql")):
        raise ConfigError("setting 'database_url': use sqlite:///PATH or postgresql://...")
    if not settings.broker_url.startswith(("redis://", "redis+socket://", "amqp://", "rediss://")):
        raise ConfigError("setting 'broker_url': use redis://, redis+socket:// or amqp://")
    for name in ("clock_reminder_days", "clock_urgent_reminder_days"):
        parts = [p.strip() for p in str(getattr(settings, name)).split(",") if p.strip()]
        if not all(p.isdigit() and int(p) <= 365 for p in parts):
            raise ConfigError(f"setting '{name}': use day counts like 7,3,1")
    if not settings.gateway_id.replace("-", "").isalnum():
        raise ConfigError("setting 'gateway_id': letters, digits and '-' only")
