"""The answers the law requires, as reply kinds: who may send them, what they must carry.

A reply is a signed submission of type `reply` naming the request it answers. Each kind
applies to some instruments, is sent by the executing side (only `withdrawal` comes from
the issuer), may require a date, a decision or grounds, and becomes a legal fact that
moves the request's clocks (`gateway.domain.legal_clocks`). Grounds are codes from the
hand-kept catalogue `catalogues.REFUSAL_GROUNDS`, never free text run through MT.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from gateway.domain.errors import DomainError
from gateway.domain.legal_clocks import Fact, FactKind

ALL = frozenset({"mla", "witness-examination", "extradition"})
EIO, EAW = frozenset({"mla"}), frozenset({"extradition"})
WITNESS = frozenset({"witness-examination"})


class ReplyNotApplicable(DomainError):
    code = "reply-not-applicable"
    status = 422


@dataclass(frozen=True)
class ReplyKind:
    code: str
    instruments: frozenset[str]
    fact: FactKind | None = None
    needs_date: bool = False
    needs_decision: bool = False
    needs_grounds: bool = False
    from_issuer: bool = False


KINDS: dict[str, ReplyKind] = {
    k.code: k
    for k in (
        ReplyKind("acknowledgement", ALL, FactKind.ACKNOWLEDGED),  # EIO Annex B
        ReplyKind("request-for-information", ALL),
        ReplyKind("execution-result", ALL, FactKind.EXECUTED),
        ReplyKind("recognition-decision", EIO, FactKind.RECOGNISED),
        ReplyKind("postponement", EIO, FactKind.POSTPONED, needs_date=True),
        ReplyKind("refusal", ALL, FactKind.REFUSED, needs_grounds=True),
        ReplyKind("delay-notice", EIO | WITNESS, FactKind.DELAY_NOTICE, needs_date=True),
        ReplyKind("eaw-consent", EAW, FactKind.CONSENT),
        ReplyKind("eaw-no-consent", EAW, FactKind.NO_CONSENT, needs_date=True),
        ReplyKind("eaw-decision", EAW, FactKind.EAW_DECISION, needs_decision=True),
        ReplyKind("eaw-extension", EAW, FactKind.EXTENSION),
        ReplyKind("surrender-date", EAW, FactKind.SURRENDER_DATE, needs_date=True),
        ReplyKind("hearing-arrangement", WITNESS, FactKind.HEARING_ARRANGED, needs_date=True),
        ReplyKind("hearing-outcome", WITNESS, FactKind.HEARING_OUTCOME),
        ReplyKind("withdrawal", ALL, FactKind.WITHDRAWN, from_issuer=True),
    )
}

# Which grounds fit which instrument (EIO Art 10/11, EAW Art 3/4/4a).
GROUND_PREFIX = {"mla": "eio-", "extradition": "eaw-", "witness-examination": "mla-"}


def reply_kind(code: str) -> ReplyKind:
    return KINDS[code]


def check_reply(section: Mapping[str, Any], original_type: str, *, from_issuer: bool) -> None:
    """Raise ReplyNotApplicable when a reply cannot answer this request or lacks a part."""
    kind = KINDS[str(section["reply_kind"])]
    if original_type not in kind.instruments:
        raise ReplyNotApplicable(f"a '{kind.code}' reply does not apply to {original_type}")
    if kind.from_issuer != from_issuer:
        side = "issuing" if kind.from_issuer else "executing"
        raise ReplyNotApplicable(f"a '{kind.code}' reply comes from the {side} authority")
    if kind.needs_date and not section.get("effective_date"):
        raise ReplyNotApplicable(f"a '{kind.code}' reply needs sections.R.effective_date")
    if kind.needs_decision and not section.get("decision"):
        raise ReplyNotApplicable(f"a '{kind.code}' reply needs sections.R.decision")
    grounds = list(section.get("grounds") or ())
    if kind.needs_grounds and not grounds:
        raise ReplyNotApplicable(f"a '{kind.code}' reply needs sections.R.grounds")
    prefix = GROUND_PREFIX.get(original_type, "")
    foreign = [g for g in grounds if not str(g).startswith(prefix)]
    if foreign:
        raise ReplyNotApplicable(f"grounds {', '.join(foreign)} do not apply to {original_type}")


def fact_of(section: Mapping[str, Any], recorded_on: date) -> Fact | None:
    """The legal fact a (valid) reply establishes, or None for kinds that move no clock."""
    kind = KINDS[str(section["reply_kind"])]
    if kind.fact is None:
        return None
    raw = section.get("effective_date")
    decision = section.get("decision")
    if kind.fact is FactKind.RECOGNISED and decision is None:
        decision = "execute"
    return Fact(
        kind.fact,
        recorded_on,
        date.fromisoformat(str(raw)) if raw else None,
        str(decision) if decision else None,
    )
