"""The pure clock rules: every due date names its article; facts move and close clocks."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.domain import catalogues as cat
from gateway.domain.legal_clocks import (
    ClockStatus,
    Fact,
    FactKind,
    Terms,
    compute_clocks,
    parse_offsets,
)
from gateway.domain.reply_kinds import KINDS, ReplyNotApplicable, check_reply, fact_of

D0 = date(2027, 3, 1)


def _day(n: int) -> date:
    return D0 + timedelta(days=n)


def _by_key(terms: Terms, facts: list[Fact]) -> dict[str, tuple[str, date, ClockStatus]]:
    return {c.key: (c.rule, c.due_on, c.status) for c in compute_clocks(terms, facts)}


def test_eio_receipt_starts_annex_b_week_and_thirty_day_recognition() -> None:
    clocks = _by_key(Terms("mla"), [Fact(FactKind.RECEIVED, D0)])
    assert clocks == {
        "acknowledgement": ("Directive 2014/41/EU Art 16(1)", _day(7), ClockStatus.RUNNING),
        "recognition": ("Directive 2014/41/EU Art 12(3)", _day(30), ClockStatus.RUNNING),
    }


def test_eio_issuers_shorter_deadline_replaces_the_statutory_one() -> None:
    clocks = _by_key(Terms("mla", "urgent", _day(12)), [Fact(FactKind.RECEIVED, D0)])
    assert clocks["recognition"][:2] == ("Directive 2014/41/EU Art 12(2)", _day(12))


def test_eio_recognition_starts_ninety_days_and_delays_move_with_their_article() -> None:
    facts = [
        Fact(FactKind.RECEIVED, D0),
        Fact(FactKind.ACKNOWLEDGED, _day(3)),
        Fact(FactKind.RECOGNISED, _day(20), decision="execute"),
        Fact(FactKind.DELAY_NOTICE, _day(100), date=_day(140)),
    ]
    clocks = _by_key(Terms("mla"), facts)
    assert clocks["acknowledgement"][2] is ClockStatus.MET
    assert clocks["recognition"][2] is ClockStatus.MET
    assert clocks["execution"] == ("Directive 2014/41/EU Art 12(6)", _day(140), ClockStatus.RUNNING)
    done = _by_key(Terms("mla"), [*facts, Fact(FactKind.EXECUTED, _day(130))])
    assert done["execution"][2] is ClockStatus.MET


def test_eio_recognition_delay_is_capped_at_thirty_extra_days() -> None:
    facts = [Fact(FactKind.RECEIVED, D0), Fact(FactKind.DELAY_NOTICE, _day(25), date=_day(90))]
    assert _by_key(Terms("mla"), facts)["recognition"][:2] == (
        "Directive 2014/41/EU Art 12(5)",
        _day(60),
    )


def test_eio_refusal_closes_recognition_and_no_execution_clock_starts() -> None:
    facts = [Fact(FactKind.RECEIVED, D0), Fact(FactKind.REFUSED, _day(10))]
    clocks = _by_key(Terms("mla"), facts)
    assert "execution" not in clocks
    assert clocks["recognition"][2] is ClockStatus.MET


def test_eaw_consent_gives_ten_days_then_surrender_ten_days_after_decision() -> None:
    facts = [
        Fact(FactKind.RECEIVED, D0),
        Fact(FactKind.CONSENT, _day(2), date=_day(1)),
        Fact(FactKind.EAW_DECISION, _day(8), decision="execute"),
        Fact(FactKind.SURRENDER_DATE, _day(9), date=_day(15)),
    ]
    clocks = _by_key(Terms("extradition"), facts)
    assert clocks["decision"] == (
        "Framework Decision 2002/584/JHA Art 17(2)",
        _day(11),
        ClockStatus.MET,
    )
    assert clocks["surrender"] == (
        "Framework Decision 2002/584/JHA Art 23(2)",
        _day(15),
        ClockStatus.RUNNING,
    )


def test_eaw_without_consent_sixty_days_from_arrest_extended_once_by_thirty() -> None:
    facts = [
        Fact(FactKind.RECEIVED, D0),
        Fact(FactKind.NO_CONSENT, _day(1), date=_day(-2)),
        Fact(FactKind.EXTENSION, _day(50)),
        Fact(FactKind.EXTENSION, _day(51)),
    ]
    clocks = _by_key(Terms("extradition"), facts)
    assert clocks["decision"][:2] == ("Framework Decision 2002/584/JHA Art 17(4)", _day(88))


def test_eaw_surrender_prevented_gives_ten_days_from_the_new_date() -> None:
    facts = [
        Fact(FactKind.RECEIVED, D0),
        Fact(FactKind.EAW_DECISION, _day(8), decision="execute"),
        Fact(FactKind.SURRENDER_DATE, _day(17), date=_day(30)),
    ]
    clocks = _by_key(Terms("extradition"), facts)
    assert clocks["surrender"][:2] == ("Framework Decision 2002/584/JHA Art 23(3)", _day(40))


def test_witness_examination_has_only_the_issuers_deadline() -> None:
    assert _by_key(Terms("witness-examination"), [Fact(FactKind.RECEIVED, D0)]) == {}
    clocks = _by_key(
        Terms("witness-examination", "normal", _day(40)),
        [Fact(FactKind.RECEIVED, D0), Fact(FactKind.HEARING_ARRANGED, _day(5), date=_day(21))],
    )
    assert clocks["execution"][1] == _day(40)
    assert clocks["hearing"][1] == _day(21)


@given(
    kind=st.sampled_from(["mla", "extradition", "witness-examination"]),
    steps=st.lists(
        st.tuples(st.sampled_from(list(FactKind)), st.integers(0, 200), st.integers(-5, 200)),
        max_size=8,
    ),
)
def test_withdrawal_stops_every_running_clock_whatever_came_before(
    kind: str, steps: list[tuple[FactKind, int, int]]
) -> None:
    facts = [Fact(k, _day(on), _day(d), "execute") for k, on, d in steps]
    last = max((on for _, on, _ in steps), default=0)
    clocks = compute_clocks(
        Terms(kind, "normal", _day(50)),
        [Fact(FactKind.RECEIVED, D0), *facts, Fact(FactKind.WITHDRAWN, _day(last + 1))],
    )
    assert all(c.status is not ClockStatus.RUNNING for c in clocks)
    assert all(c.rule for c in clocks)


def test_reminders_and_breach_follow_the_due_date() -> None:
    (ack, _) = compute_clocks(Terms("mla"), [Fact(FactKind.RECEIVED, D0)])
    assert ack.reminders_due(_day(3), (7, 3, 1)) == (7,)
    assert ack.reminders_due(_day(4), (7, 3, 1)) == (3, 7)
    assert not ack.breached(_day(7))
    assert ack.breached(_day(8))
    assert ack.days_left(_day(8)) == -1
    assert parse_offsets("1, 7,3") == (1, 3, 7)


def test_reply_kinds_match_the_catalogue_and_check_their_parts() -> None:
    assert tuple(KINDS) == cat.REPLY_KINDS
    refusal = {"reply_kind": "refusal", "grounds": ["eaw-art3-1-amnesty"]}
    with pytest.raises(ReplyNotApplicable, match="eaw-art3-1-amnesty"):
        check_reply(refusal, "mla", from_issuer=False)
    check_reply(refusal, "extradition", from_issuer=False)
    with pytest.raises(ReplyNotApplicable, match=r"needs sections\.R\.grounds"):
        check_reply(refusal | {"grounds": []}, "extradition", from_issuer=False)
    with pytest.raises(ReplyNotApplicable, match="comes from the issuing authority"):
        check_reply({"reply_kind": "withdrawal"}, "extradition", from_issuer=False)
    fact = fact_of({"reply_kind": "postponement", "effective_date": "2027-05-01"}, D0)
    assert fact == Fact(FactKind.POSTPONED, D0, date(2027, 5, 1), None)
