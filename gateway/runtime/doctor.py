"""`rogatory doctor`: every dependency of a deployment checked, one ok/warn/fail line each.

Also the readiness probe of `/ready` (`readiness`): database, broker, object store, keys.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from gateway.config import ConfigError, Settings
from gateway.persistence.db import make_engine
from gateway.persistence.migrations import alembic_config
from gateway.runtime.broker import broker_reachable
from gateway.runtime.keyring import load_keyring
from gateway.runtime.preflight import check_startup
from gateway.translation.model_packages import list_packages

OK, WARN, FAIL = "ok", "warn", "fail"
TEMPLATE_FONTS = Path(__file__).resolve().parents[2] / "templates" / "fonts"
APERTIUM_MODES = Path("/usr/share/apertium/modes")
DISK_WARN_BYTES = 2 * 1024**3
DISK_FAIL_BYTES = 200 * 1024**2
PIVOT = "en"  # argos routes through English when there is no direct model
# Apertium names its modes by ISO 639-3 (the engine in workers/ maps the same codes)
APERTIUM_CODES = {
    "eng": "en", "spa": "es", "cat": "ca", "fra": "fr", "por": "pt", "ita": "it",
    "deu": "de", "nld": "nl", "ron": "ro", "glg": "gl", "oci": "oc", "eus": "eu",
    "dan": "da", "swe": "sv", "nob": "nb", "pol": "pl",
}  # fmt: skip


@dataclass(frozen=True)
class Check:
    status: str  # ok | warn | fail
    name: str
    detail: str

    def line(self) -> str:
        return f"{self.status:<4} {self.name}: {self.detail}"


def _guarded(name: str, probe: Callable[[], list[Check]]) -> list[Check]:
    """A probe that raises becomes one `fail` line naming the error, never a traceback."""
    try:
        return probe()
    except ConfigError as exc:
        return [Check(FAIL, name, str(exc))]
    except Exception as exc:  # a doctor reports every failure, whatever it is
        first_line = (str(exc).strip().splitlines() or [""])[0][:300]
        return [Check(FAIL, name, f"{type(exc).__name__}: {first_line}")]


def check_database(settings: Settings) -> list[Check]:
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            current = set(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()
    heads = set(ScriptDirectory.from_config(alembic_config(settings.database_url)).get_heads())
    where = settings.database_url.split("@")[-1].split("///")[-1]
    if current != heads:
        missing = ", ".join(sorted(heads - current)) or "none"
        return [
            Check(FAIL, "database", f"{where}: migrations missing ({missing}): run 'rogatory init'")
        ]
    return [Check(OK, "database", f"{where}: reachable, {len(heads)} migration head(s) applied")]


def check_broker(settings: Settings) -> list[Check]:
    if broker_reachable(settings):
        return [Check(OK, "broker", _broker_name(settings) + " reachable")]
    if settings.embedded_broker:
        return [Check(WARN, "broker", "embedded broker not running (serve and worker start it)")]
    return [Check(FAIL, "broker", _broker_name(settings) + " unreachable")]


def _broker_name(settings: Settings) -> str:
    return "embedded Redis" if settings.embedded_broker else settings.broker_url.split("@")[-1]


def check_object_store(settings: Settings) -> list[Check]:
    objects = settings.data_dir / "objects"
    objects.mkdir(parents=True, exist_ok=True, mode=0o700)
    probe = objects / f".doctor-{uuid.uuid4().hex}"
    probe.write_bytes(b"probe")
    probe.unlink()
    return [Check(OK, "object store", f"{objects} writable")]


def check_keys(settings: Settings) -> list[Check]:
    warnings = check_startup(settings)
    keys = load_keyring(settings.keys_dir)
    now = datetime.now(UTC)
    checks = [Check(WARN, "keys", warning) for warning in warnings]
    labelled = keys.certificates()
    earliest = min(labelled, key=lambda label: labelled[label].not_valid_after_utc)
    days = (labelled[earliest].not_valid_after_utc - now).days
    checks.append(
        Check(
            OK, "keys", f"keyring, KEK and modes valid; earliest expiry {earliest} in {days} days"
        )
    )
    crls = keys.crls()
    if crls:
        soonest = min(crl.next_update_utc or now for crl in crls)
        state = OK if soonest > now else WARN if settings.allow_stale_crl else FAIL
        checks.append(
            Check(
                state,
                "CRLs",
                f"{len(crls)} cached, earliest nextUpdate {soonest:%Y-%m-%d %H:%M} UTC",
            )
        )
    return checks


def _apertium_pairs() -> set[tuple[str, str]]:
    if shutil.which("apertium") is None:
        return set()
    pairs = set()
    for mode in APERTIUM_MODES.glob("*.mode"):
        parts = mode.stem.split("-")
        if len(parts) == 2 and parts[0] in APERTIUM_CODES and parts[1] in APERTIUM_CODES:
            pairs.add((APERTIUM_CODES[parts[0]], APERTIUM_CODES[parts[1]]))
    return pairs


def _argos_pairs(settings: Settings) -> set[tuple[str, str]]:
    direct = {(p.from_code, p.to_code) for p in list_packages(settings.data_dir)}
    pivots = {(a, c) for (a, b) in direct for (b2, c) in direct if b == PIVOT == b2 and a != c}
    return direct | pivots


def engine_pairs(settings: Settings) -> tuple[str, set[tuple[str, str]]]:
    """The configured engine and the language pairs it can translate (without loading it);
    any other engine setting (`auto`) uses argos where a model is installed, else Apertium."""
    if settings.translation_engine == "apertium":
        return "apertium", _apertium_pairs()
    if settings.translation_engine == "argos":
        return "argos", _argos_pairs(settings)
    return settings.translation_engine, _argos_pairs(settings) | _apertium_pairs()


def check_translation(settings: Settings) -> list[Check]:
    from gateway.persistence import authorities_store

    name, pairs = engine_pairs(settings)
    checks = [Check(OK if pairs else WARN, "translation", f"{name}: {len(pairs)} language pair(s)")]
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            authorities = [a for a in authorities_store.list_all(conn) if a.enabled]
    finally:
        engine.dispose()
    for issuing in authorities:
        for executing in authorities:
            source, target = issuing.languages[0], executing.languages[0]
            if issuing.id == executing.id or source == target:
                continue
            served = (source, target) in pairs
            checks.append(
                Check(
                    OK if served else WARN,
                    "translation",
                    f"{issuing.id} -> {executing.id} ({source}->{target}) "
                    + ("served" if served else "not served: its requests fail translation"),
                )
            )
    return checks


def check_fonts(settings: Settings) -> list[Check]:
    fonts = sorted(TEMPLATE_FONTS.glob("*.ttf"))
    if not fonts:
        return [Check(FAIL, "fonts", f"no bundled fonts in {TEMPLATE_FONTS}")]
    return [Check(OK, "fonts", f"{len(fonts)} bundled fonts")]


def check_disk(settings: Settings) -> list[Check]:
    free = shutil.disk_usage(settings.data_dir).free
    status = FAIL if free < DISK_FAIL_BYTES else WARN if free < DISK_WARN_BYTES else OK
    return [Check(status, "disk", f"{free / 1024**3:.1f} GiB free in {settings.data_dir}")]


CHECKS: tuple[tuple[str, Callable[[Settings], list[Check]]], ...] = (
    ("database", check_database),
    ("broker", check_broker),
    ("object store", check_object_store),
    ("keys", check_keys),
    ("translation", check_translation),
    ("fonts", check_fonts),
    ("disk", check_disk),
)
READINESS = ("database", "broker", "object store", "keys")


def run_doctor(settings: Settings, only: tuple[str, ...] | None = None) -> Iterator[Check]:
    for name, probe in CHECKS:
        if only is None or name in only:
            yield from _guarded(name, lambda probe=probe: probe(settings))  # type: ignore[misc]


def readiness(settings: Settings) -> dict[str, str]:
    """What `/ready` reports: each dependency ok, or the reason it is not."""
    report: dict[str, str] = {}
    for check in run_doctor(settings, READINESS):
        if check.status == FAIL or (check.name == "broker" and check.status != OK):
            report[check.name] = check.detail
        else:
            report.setdefault(check.name, OK)
    return report
