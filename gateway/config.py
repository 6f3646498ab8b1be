"""Settings from the environment and an optional TOML file, validated at start-up.

Every setting has an environment variable (ROGATORY_<NAME>, or the conventional
DATABASE_URL / BROKER_URL) and a key of the same name in `rogatory.toml`.
Environment wins over the file. A bad value stops start-up with one line naming it.
"""

from __future__ import annotations

import os
import re
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
    translation_engine: str = "auto"
    translation_beam_size: int = 2
    translation_threads: int = 1
    lease_seconds: int = 300
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    stall_seconds: int = 900
    heartbeat_seconds: int = 15
    sweep_interval_seconds: int = 30
    max_step_runs: int = 3
    orphan_grace_seconds: int = 3600
    task_soft_time_limit: int = 3300
    task_time_limit: int = 3600
    # security hardening (issue 15): proxies in front, the public address, outbound URLs
    trusted_proxy_hops: int = 0
    public_url: str = ""
    outbound_allow_http: bool = False
    outbound_allow: str = ""
    worker_metrics_port: int = 0  # 0: the worker serves no /metrics
    pkcs11_library: str = "/usr/lib/softhsm/libsofthsm2.so"
    pkcs11_token_label: str = ""
    pkcs11_key_label: str = "rogatory-kek"
    pkcs11_pin: str = field(default="", metadata={"secret": True})
    kek: str = field(default="", metadata={"secret": True})  # base64; else kek.b64 / token
    ui_insecure_cookies: bool = False  # plain-http cookies: local development only
    http_workers: int = 2
    http_threads: int = 8
    http_worker_connections: int = 800
    http_timeout: int = 60
    http_graceful_timeout: int = 30
    http_keepalive: int = 5
    # requests one kept-alive connection may carry (0: no limit); see web/server.py
    http_keepalive_requests: int = 25
    http_max_requests: int = 10_000
    object_store: str = "filesystem"
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
    def base_url(self) -> str:
        """The gateway's public address (never taken from a request's Host header)."""
        return (self.public_url or f"http://{self.http_host}:{self.http_port}").rstrip("/")

    @property
    def broker_socket(self) -> Path:
        return self.data_dir / "broker" / "redis.sock"


_ENV_ALIASES = {"database_url": "DATABASE_URL", "broker_url": "BROKER_URL"}
_CHOICES = {
    "log_level": ("DEBUG", "INFO", "WARNING", "ERROR"),
    "translation_engine": ("auto", "argos", "apertium"),
    "object_store": ("filesystem", "postgresql"),
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
    "stall_seconds": (1, 86_400),
    "heartbeat_seconds": (1, 3600),
    "sweep_interval_seconds": (1, 3600),
    "max_step_runs": (1, 100),
    "orphan_grace_seconds": (1, 30 * 86_400),
    "task_soft_time_limit": (1, 86_400),
    "task_time_limit": (1, 86_400),
    "trusted_proxy_hops": (0, 10),
    "worker_metrics_port": (0, 65_535),
    "http_workers": (1, 64),
    "http_threads": (1, 256),
    "http_worker_connections": (16, 100_000),
    "http_timeout": (5, 86_400),
    "http_graceful_timeout": (1, 3_600),
    "http_keepalive": (1, 300),
    "http_keepalive_requests": (0, 10**6),
    "http_max_requests": (0, 10**9),
}


def env_name(setting: str) -> str:
    """The one name of a setting, in the environment and in the TOML file alike."""
    return _ENV_ALIASES.get(setting, f"ROGATORY_{setting.upper()}")


_SECRET_NAME = re.compile(r"(pin|password|passphrase|secret|kek|_key|token)$")


def is_secret(setting: str) -> bool:
    """Masked by `config show`: marked secret in Settings, or named like one."""
    spec = next((f for f in fields(Settings) if f.name == setting), None)
    marked = bool(spec is not None and spec.metadata.get("secret"))
    return marked or bool(_SECRET_NAME.search(setting))


def describe(settings: Settings) -> list[tuple[str, str]]:
    """(name, effective value) of every setting; secrets and URL passwords masked."""
    described = []
    for spec in fields(Settings):
        value = getattr(settings, spec.name)
        text = str(value)
        if is_secret(spec.name):
            text = "******" if text else "(unset)"
        elif isinstance(value, str) and "://" in text and "@" in text:
            scheme, rest = text.split("://", 1)
            credentials, host = rest.rsplit("@", 1)
            user = credentials.split(":", 1)[0]
            text = f"{scheme}://{user}:******@{host}" if ":" in credentials else text
        described.append((env_name(spec.name), text))
    return described


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
        name = env_name(spec.name)
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
    section = dict(data.get("rogatory", data))
    by_env_name = {env_name(spec.name): spec.name for spec in fields(Settings)}
    # the names of the README table (ROGATORY_LEASE_SECONDS) and the short ones alike
    return {by_env_name.get(key, key): value for key, value in section.items()}


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
    if settings.task_soft_time_limit >= settings.task_time_limit:
        raise ConfigError("setting 'task_soft_time_limit': must be below task_time_limit")
    if settings.object_store == "postgresql" and settings.embedded_database:
        raise ConfigError("setting 'object_store': postgresql needs DATABASE_URL=postgresql://...")
    for name in ("clock_reminder_days", "clock_urgent_reminder_days"):
        parts = [p.strip() for p in str(getattr(settings, name)).split(",") if p.strip()]
        if not all(p.isdigit() and int(p) <= 365 for p in parts):
            raise ConfigError(f"setting '{name}': use day counts like 7,3,1")
    if not settings.gateway_id.replace("-", "").isalnum():
        raise ConfigError("setting 'gateway_id': letters, digits and '-' only")
    if settings.public_url and not (
        settings.public_url.startswith(("https://", "http://"))
        and "?" not in settings.public_url
        and "#" not in settings.public_url
    ):
        raise ConfigError("setting 'public_url': an http(s) URL without query, e.g. https://host")
