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

from gateway.domain import catalogues as cat
from gateway.domain.errors import DomainError, FieldProblem
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


def kinds_for(original_type: str, *, from_issuer: bool = False) -> list[ReplyKind]:
    """The reply kinds one side may send to a request of this type, in catalogue order."""
    return [
        kind
        for kind in KINDS.values()
        if original_type in kind.instruments and kind.from_issuer == from_issuer
    ]


def reply_fields(kind: ReplyKind) -> tuple[str, ...]:
    """The parts of section R a reply of this kind carries, beyond its kind and target."""
    fields: list[str] = []
    if kind.needs_decision or kind.fact is FactKind.RECOGNISED:
        fields += ["decision", "grounds"]  # grounds when the decision is to refuse
    elif kind.needs_grounds:
        fields.append("grounds")
    if kind.needs_date or kind.fact in (FactKind.CONSENT, FactKind.HEARING_OUTCOME):
        fields.append("effective_date")
    if kind.fact is FactKind.HEARING_ARRANGED:
        fields.append("hearing_means")
    return (*fields, "body", "references")


def grounds_for(original_type: str) -> tuple[str, ...]:
    """The refusal grounds of the instrument this request was issued under."""
    prefix = GROUND_PREFIX.get(original_type)
    if prefix is None:
        return ()
    return tuple(g for g in cat.REFUSAL_GROUNDS if g.startswith(prefix))


def is_refusal(section: Mapping[str, Any]) -> bool:
    """Whether a reply refuses the request (a refusal, or a decision to refuse)."""
    kind = str(section.get("reply_kind", ""))
    return kind == "refusal" or (
        kind in ("eaw-decision", "recognition-decision") and section.get("decision") == "refuse"
    )


def reply_problems(
    section: Mapping[str, Any], original_type: str, *, from_issuer: bool
) -> list[FieldProblem]:
    """What a reply lacks or gets wrong, per field of section R (empty when it is valid)."""
    kind = KINDS[str(section["reply_kind"])]
    at = "sections.R."
    if original_type not in kind.instruments:
        message = f"a '{kind.code}' reply does not apply to {original_type}"
        return [FieldProblem(at + "reply_kind", "kind-not-applicable", message)]
    if kind.from_issuer != from_issuer:
        side = "issuing" if kind.from_issuer else "executing"
        message = f"a '{kind.code}' reply comes from the {side} authority"
        return [FieldProblem(at + "reply_kind", "kind-not-applicable", message)]
    problems = []
    if kind.needs_date and not section.get("effective_date"):
        message = f"a '{kind.code}' reply needs sections.R.effective_date"
        problems.append(FieldProblem(at + "effective_date", "required", message))
    if kind.needs_decision and not section.get("decision"):
        message = f"a '{kind.code}' reply needs sections.R.decision"
        problems.append(FieldProblem(at + "decision", "required", message))
    grounds = [str(g) for g in section.get("grounds") or ()]
    if kind.needs_grounds and not grounds:
        message = f"a '{kind.code}' reply needs sections.R.grounds"
        problems.append(FieldProblem(at + "grounds", "grounds-required", message))
    foreign = [g for g in grounds if g not in grounds_for(original_type)]
    if foreign:
        message = f"grounds {', '.join(foreign)} do not apply to {original_type}"
        problems.append(FieldProblem(at + "grounds", "ground-not-applicable", message))
    return problems


def check_reply(section: Mapping[str, Any], original_type: str, *, from_issuer: bool) -> None:
    """Raise ReplyNotApplicable when a reply cannot answer this request or lacks a part."""
    problems = reply_problems(section, original_type, from_issuer=from_issuer)
    if problems:
        raise ReplyNotApplicable(problems[0].message)


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
