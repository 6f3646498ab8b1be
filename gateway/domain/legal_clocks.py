"""The clocks the law sets for a request, computed from dated facts (pure, calendar days).

A fact is something the gateway can prove: the executing authority retrieved the
package (Retrieval evidence), or sent a signed reply of a given kind. Each clock names
the rule (article) that produced its due date, so a reader can check it.

- EIO, Directive 2014/41/EU: Annex B within one week of receipt (Art 16(1)); recognition
  within 30 days of receipt (Art 12(3)), postponable by at most 30 days with notice
  (Art 12(5)); execution within 90 days of the decision (Art 12(4)), or the issuer's
  shorter deadline (Art 12(2)); execution delays notified with a new estimate (Art 12(6));
  postponement of recognition or execution with an expected date (Art 15).
- EAW, Framework Decision 2002/584/JHA: final decision within 10 days after consent
  (Art 17(2)), otherwise 60 days after arrest (Art 17(3)), +30 days with reasons
  (Art 17(4)); surrender within 10 days of the final decision (Art 23(2)), within 10 days
  of a new agreed date if prevented (Art 23(3)).
- Witness examination, MLA Convention 2000: no statutory limit; the issuer's deadline
  (Art 4(2)) is the clock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum

EIO = "Directive 2014/41/EU"
EAW = "Framework Decision 2002/584/JHA"
MLA2000 = "MLA Convention 2000"


class FactKind(StrEnum):
    RECEIVED = "received"  # Retrieval / Delivery evidence: the executing side has it
    ACKNOWLEDGED = "acknowledgement"  # EIO Annex B
    RECOGNISED = "recognition-decision"
    POSTPONED = "postponement"  # Art 15, with an expected date
    REFUSED = "refusal"
    DELAY_NOTICE = "delay-notice"  # Art 12(5)/(6), with a new estimate
    EXECUTED = "execution-result"
    CONSENT = "eaw-consent"  # date: consent given
    NO_CONSENT = "eaw-no-consent"  # date: arrest
    EAW_DECISION = "eaw-decision"  # decision: execute | refuse
    EXTENSION = "eaw-extension"  # Art 17(4)
    SURRENDER_DATE = "surrender-date"  # date: agreed surrender date
    HEARING_ARRANGED = "hearing-arrangement"  # date: hearing date
    HEARING_OUTCOME = "hearing-outcome"
    WITHDRAWN = "withdrawal"


class ClockStatus(StrEnum):
    RUNNING = "running"
    MET = "met"
    STOPPED = "stopped"  # refused, withdrawn or otherwise no longer owed


@dataclass(frozen=True)
class Fact:
    kind: FactKind
    on: date  # the day the gateway recorded it (its evidence's time, UTC)
    date: date | None = None  # a date the reply carries (estimate, consent, surrender...)
    decision: str | None = None  # eaw-decision / recognition-decision: execute | refuse


@dataclass(frozen=True)
class Terms:
    """What the signed request itself says about time."""

    request_type: str  # mla | extradition | witness-examination
    urgency: str = "normal"
    issuer_deadline: date | None = None


@dataclass(frozen=True)
class Clock:
    key: str
    rule: str
    starts_on: date
    due_on: date
    status: ClockStatus = ClockStatus.RUNNING
    closed_on: date | None = None

    def days_left(self, today: date) -> int:
        return (self.due_on - today).days

    def breached(self, today: date) -> bool:
        return self.status is ClockStatus.RUNNING and today > self.due_on

    def reminders_due(self, today: date, offsets: tuple[int, ...]) -> tuple[int, ...]:
        """The reminder offsets (days before due) that have been reached while running."""
        if self.status is not ClockStatus.RUNNING:
            return ()
        return tuple(sorted(o for o in offsets if self.due_on - timedelta(days=o) <= today))


def _days(n: int) -> timedelta:
    return timedelta(days=n)


def _close(clocks: dict[str, Clock], key: str, status: ClockStatus, on: date) -> None:
    clock = clocks.get(key)
    if clock is not None and clock.status is ClockStatus.RUNNING:
        clocks[key] = replace(clock, status=status, closed_on=on)


def _move(clocks: dict[str, Clock], key: str, due: date, rule: str) -> None:
    clock = clocks.get(key)
    if clock is not None and clock.status is ClockStatus.RUNNING:
        clocks[key] = replace(clock, due_on=due, rule=rule)


def _running(clocks: dict[str, Clock], key: str) -> bool:
    clock = clocks.get(key)
    return clock is not None and clock.status is ClockStatus.RUNNING


def _eio(terms: Terms, fact: Fact, clocks: dict[str, Clock]) -> None:
    k = fact.kind
    if k is FactKind.RECEIVED and "recognition" not in clocks:
        clocks["acknowledgement"] = Clock(
            "acknowledgement", f"{EIO} Art 16(1)", fact.on, fact.on + _days(7)
        )
        due, rule = fact.on + _days(30), f"{EIO} Art 12(3)"
        if terms.issuer_deadline is not None and terms.issuer_deadline < due:
            due, rule = terms.issuer_deadline, f"{EIO} Art 12(2)"
        clocks["recognition"] = Clock("recognition", rule, fact.on, due)
    elif k is FactKind.ACKNOWLEDGED:
        _close(clocks, "acknowledgement", ClockStatus.MET, fact.on)
    elif k is FactKind.RECOGNISED or (k is FactKind.REFUSED and _running(clocks, "recognition")):
        _close(clocks, "acknowledgement", ClockStatus.MET, fact.on)
        _close(clocks, "recognition", ClockStatus.MET, fact.on)
        if k is FactKind.RECOGNISED and fact.decision != "refuse":
            due, rule = fact.on + _days(90), f"{EIO} Art 12(4)"
            if terms.issuer_deadline is not None and terms.issuer_deadline < due:
                due, rule = terms.issuer_deadline, f"{EIO} Art 12(2)"
            clocks["execution"] = Clock("execution", rule, fact.on, due)
    elif k is FactKind.REFUSED:
        _close(clocks, "execution", ClockStatus.STOPPED, fact.on)
    elif k in (FactKind.DELAY_NOTICE, FactKind.POSTPONED) and fact.date is not None:
        postponed = k is FactKind.POSTPONED
        if _running(clocks, "recognition"):
            # Art 12(5): recognition may slip by at most 30 days past its limit
            limit = clocks["recognition"].due_on + _days(30)
            new = fact.date if postponed else min(fact.date, limit)
            rule = f"{EIO} Art 15" if postponed else f"{EIO} Art 12(5)"
            _move(clocks, "recognition", new, rule)
        elif _running(clocks, "execution"):
            rule = f"{EIO} Art 15" if postponed else f"{EIO} Art 12(6)"
            _move(clocks, "execution", fact.date, rule)
    elif k is FactKind.EXECUTED:
        for key in ("acknowledgement", "recognition", "execution"):
            _close(clocks, key, ClockStatus.MET, fact.on)


def _eaw(terms: Terms, fact: Fact, clocks: dict[str, Clock]) -> None:
    k = fact.kind
    if k is FactKind.RECEIVED and "decision" not in clocks:
        # until the arrest date is reported, receipt stands in for it (the earliest it can be)
        clocks["decision"] = Clock("decision", f"{EAW} Art 17(3)", fact.on, fact.on + _days(60))
    elif k is FactKind.CONSENT and _running(clocks, "decision"):
        start = fact.date or fact.on
        _move(clocks, "decision", start + _days(10), f"{EAW} Art 17(2)")
    elif k is FactKind.NO_CONSENT and _running(clocks, "decision") and fact.date is not None:
        _move(clocks, "decision", fact.date + _days(60), f"{EAW} Art 17(3)")
    elif k is FactKind.EXTENSION and _running(clocks, "decision"):
        clock = clocks["decision"]
        if not clock.rule.endswith("17(4)"):  # one extension of 30 days
            _move(clocks, "decision", clock.due_on + _days(30), f"{EAW} Art 17(4)")
    elif k is FactKind.EAW_DECISION:
        _close(clocks, "decision", ClockStatus.MET, fact.on)
        if fact.decision == "execute":
            clocks["surrender"] = Clock(
                "surrender", f"{EAW} Art 23(2)", fact.on, fact.on + _days(10)
            )
    elif k is FactKind.REFUSED:
        _close(clocks, "decision", ClockStatus.MET, fact.on)
    elif k is FactKind.SURRENDER_DATE and fact.date is not None and "surrender" in clocks:
        clock = clocks["surrender"]
        if fact.date <= clock.starts_on + _days(10):
            _move(clocks, "surrender", fact.date, f"{EAW} Art 23(2)")
        else:  # prevented: within 10 days of the new agreed date
            _move(clocks, "surrender", fact.date + _days(10), f"{EAW} Art 23(3)")
    elif k is FactKind.EXECUTED:
        for key in ("decision", "surrender"):
            _close(clocks, key, ClockStatus.MET, fact.on)


def _witness(terms: Terms, fact: Fact, clocks: dict[str, Clock]) -> None:
    k = fact.kind
    if k is FactKind.RECEIVED and "execution" not in clocks and terms.issuer_deadline:
        clocks["execution"] = Clock(
            "execution", f"{MLA2000} Art 4(2) (issuer's deadline)", fact.on, terms.issuer_deadline
        )
    elif k is FactKind.HEARING_ARRANGED and fact.date is not None:
        clocks["hearing"] = Clock("hearing", f"{MLA2000} Art 10 (agreed date)", fact.on, fact.date)
    elif k is FactKind.DELAY_NOTICE and fact.date is not None:
        _move(clocks, "execution", fact.date, f"{MLA2000} Art 4(3) (new estimate)")
    elif k in (FactKind.HEARING_OUTCOME, FactKind.EXECUTED):
        for key in ("hearing", "execution"):
            _close(clocks, key, ClockStatus.MET, fact.on)
    elif k is FactKind.REFUSED:
        for key in ("hearing", "execution"):
            _close(clocks, key, ClockStatus.STOPPED, fact.on)


_RULES = {"mla": _eio, "extradition": _eaw, "witness-examination": _witness}


def compute_clocks(terms: Terms, facts: list[Fact] | tuple[Fact, ...]) -> tuple[Clock, ...]:
    """Every clock of a request after its facts, oldest fact first; order of keys is stable."""
    apply = _RULES.get(terms.request_type)
    if apply is None:
        return ()
    clocks: dict[str, Clock] = {}
    for fact in sorted(facts, key=lambda f: f.on):
        if fact.kind is FactKind.WITHDRAWN:
            for key in list(clocks):
                _close(clocks, key, ClockStatus.STOPPED, fact.on)
            break
        apply(terms, fact, clocks)
    return tuple(clocks.values())


@dataclass(frozen=True)
class PlannedClock:
    """A clock as the law sets it before it starts: so many days from an event, or a date."""

    key: str
    rule: str
    days: int | None
    counted_from: str | None  # receipt | decision | consent | arrest
    due_on: date | None = None


_PLANS: dict[str, tuple[PlannedClock, ...]] = {
    "mla": (
        PlannedClock("acknowledgement", f"{EIO} Art 16(1)", 7, "receipt"),
        PlannedClock("recognition", f"{EIO} Art 12(3)", 30, "receipt"),
        PlannedClock("execution", f"{EIO} Art 12(4)", 90, "decision"),
    ),
    "extradition": (
        PlannedClock("decision", f"{EAW} Art 17(2)", 10, "consent"),
        PlannedClock("decision", f"{EAW} Art 17(3)", 60, "arrest"),
        PlannedClock("surrender", f"{EAW} Art 23(2)", 10, "decision"),
    ),
    "witness-examination": (),
}


def planned_clocks(terms: Terms) -> tuple[PlannedClock, ...]:
    """What the PDF cover prints: the statutory limits and the issuer's own deadline."""
    plan = _PLANS.get(terms.request_type, ())
    if terms.issuer_deadline is not None:
        rule = (
            f"{MLA2000} Art 4(2)"
            if terms.request_type == "witness-examination"
            else (f"{EIO} Art 12(2)" if terms.request_type == "mla" else "issuer's deadline")
        )
        plan = (*plan, PlannedClock("deadline", rule, None, None, terms.issuer_deadline))
    return plan


def parse_offsets(text: str) -> tuple[int, ...]:
    """'7,3,1' -> (1, 3, 7); raises ValueError for anything but non-negative integers."""
    values = {int(part) for part in text.split(",") if part.strip()}
    if any(v < 0 or v > 365 for v in values):
        raise ValueError(text)
    return tuple(sorted(values))
