"""What the gateway can translate, asked without loading an MT engine (web process safe).

    served_pairs(settings)                      -> [EnginePairs(engine, pairs)]
    engine_for_pair(settings, source, target)   -> "argos" | "apertium" | None
    translation_outlook(settings, source, languages) -> Outlook(status, target, engine)
    request_outlook(db, settings, request_id)   -> Outlook for a stored request
    authority_pairs_without_engine(db, settings) -> [UnservedPair], for start-up warnings
    report_translation_pairs(db, settings)      -> logs served pairs and one warning per
                                                   unserved authority pair (serve, worker)

`status` is "not-needed" (same language), "available" or "unavailable" (no engine serves
the pair: the request is delivered untranslated and marked, never retried).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.engine import Engine

from gateway.config import Settings
from gateway.persistence import authorities_store, requests_store
from gateway.persistence.db import read_transaction, transaction
from gateway.translation.engine_pairs import EnginePairs, engine_for, installed_engines

log = logging.getLogger(__name__)
OutlookStatus = Literal["not-needed", "available", "unavailable"]


@dataclass(frozen=True)
class Outlook:
    status: OutlookStatus
    target: str
    engine: str | None


@dataclass(frozen=True)
class UnservedPair:
    issuing_authority: str
    executing_authority: str
    source: str
    targets: tuple[str, ...]


def served_pairs(settings: Settings) -> list[EnginePairs]:
    """Per engine the pairs it serves on this machine (argos packages, `apertium -l`)."""
    return installed_engines(settings.data_dir)


def engine_for_pair(
    settings: Settings, source: str, target: str, installed: list[EnginePairs] | None = None
) -> str | None:
    """The engine the configured `translation_engine` (auto/argos/apertium) would use."""
    found = served_pairs(settings) if installed is None else installed
    return engine_for(found, settings.translation_engine, source, target)


def translation_outlook(
    settings: Settings,
    source: str,
    languages: list[str],
    installed: list[EnginePairs] | None = None,
) -> Outlook:
    """The recipient's first working language an engine reaches, else `unavailable`."""
    found = served_pairs(settings) if installed is None else installed
    for language in languages:
        if language == source:
            return Outlook("not-needed", language, None)
        engine = engine_for_pair(settings, source, language, found)
        if engine is not None:
            return Outlook("available", language, engine)
    return Outlook("unavailable", languages[0] if languages else source, None)


def request_outlook(db: Engine, settings: Settings, request_id: str) -> Outlook:
    with read_transaction(db) as conn:
        request = requests_store.get(conn, request_id)
        languages = authorities_store.get(conn, request.executing_authority_id).languages
    return translation_outlook(settings, request.source_language, languages)


def authority_pairs_without_engine(db: Engine, settings: Settings) -> list[UnservedPair]:
    """Registered (issuing, executing) pairs whose languages no installed engine links."""
    with transaction(db) as conn:
        authorities = [a for a in authorities_store.list_all(conn) if a.enabled]
    found = served_pairs(settings)
    unserved = []
    for issuing in authorities:
        for executing in authorities:
            if issuing.id == executing.id or not issuing.languages or not executing.languages:
                continue
            source = issuing.languages[0]
            outlook = translation_outlook(settings, source, executing.languages, found)
            if outlook.status == "unavailable":
                unserved.append(
                    UnservedPair(issuing.id, executing.id, source, tuple(executing.languages))
                )
    return unserved


def report_translation_pairs(db: Engine, settings: Settings) -> int:
    """Log the pairs each engine serves and warn for every authority pair none serves."""
    for found in served_pairs(settings):
        log.info(
            "translation engine %s serves %s",
            found.engine,
            ", ".join(f"{a}->{b}" for a, b in sorted(found.pairs)) or "no pair",
        )
    try:
        unserved = authority_pairs_without_engine(db, settings)
    except Exception:  # no schema yet (`rogatory init` not run): nothing registered to check
        log.warning("could not read the authority registry to check translation pairs")
        return 0
    for pair in unserved:
        log.warning(
            "no translation engine for %s->%s (%s -> %s): requests will be delivered "
            "marked translation unavailable",
            pair.source,
            "/".join(pair.targets),
            pair.issuing_authority,
            pair.executing_authority,
            extra={"engine_setting": settings.translation_engine},
        )
    return len(unserved)
