"""Deadlines reach the reader: the API's clocks route, `rogatory requests show`."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from click.testing import CliRunner
from legal_support import MADRID, clocks, day, eio_form, issue, make_available, retrieve

from gateway.config import Settings
from gateway.domain.errors import NotFound
from gateway.runtime.container import Runtime, build_runtime
from gateway.services import legal_clocks
from gateway.web.cli import _register_groups, cli


@pytest.fixture
def rt(make_settings: Callable[..., Settings]) -> Iterator[Runtime]:
    runtime = build_runtime(make_settings())
    yield runtime
    runtime.close()


def test_clocks_are_shown_to_both_parties_and_hidden_from_anyone_else(rt: Runtime) -> None:
    request_id = issue(rt, eio_form(), day(0))
    make_available(rt, request_id)
    retrieve(rt, request_id, day(0))
    status = legal_clocks.party_legal_status(rt.engine, MADRID, request_id, now=day(9))
    ack = next(c for c in status["clocks"] if c["clock"] == "acknowledgement")
    assert (ack["due_on"], ack["days_left"], ack["overdue"]) == ("2026-12-14", -2, True)
    assert ack["rule"] == "Directive 2014/41/EU Art 16(1)"
    assert status["handling"] == []
    with pytest.raises(NotFound):
        legal_clocks.party_legal_status(rt.engine, "de-gsta-berlin", request_id)
    assert set(clocks(rt, request_id, day(9))) == {"acknowledgement", "recognition"}
    nearest = legal_clocks.next_due(rt.engine, [request_id, "no-such-request"])
    assert list(nearest) == [request_id]
    assert nearest[request_id].key == "acknowledgement"


def test_requests_show_prints_each_clock_with_its_article(rt: Runtime) -> None:
    request_id = issue(rt, eio_form(), day(0))
    make_available(rt, request_id)
    retrieve(rt, request_id, day(0))
    _register_groups()
    result = CliRunner().invoke(
        cli, ["--data-dir", str(rt.settings.data_dir), "requests", "show", request_id]
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("clock: ")]
    assert lines[0].startswith(
        "clock: acknowledgement due 2026-12-14 (Directive 2014/41/EU Art 16(1)) running, "
    )
    assert lines[1].startswith("clock: recognition due 2027-01-06 (Directive 2014/41/EU Art 12(3))")
    assert all("day(s)" in line for line in lines)


def test_clock_line_says_overdue_and_met() -> None:
    from gateway.domain.legal_clocks import Fact, FactKind, Terms, compute_clocks

    (ack, _) = compute_clocks(Terms("mla"), [Fact(FactKind.RECEIVED, day(0).date())])
    assert legal_clocks.clock_line(ack, day(10).date()).endswith("running, OVERDUE by 3 day(s)")
    (met, _) = compute_clocks(
        Terms("mla"),
        [Fact(FactKind.RECEIVED, day(0).date()), Fact(FactKind.ACKNOWLEDGED, day(2).date())],
    )
    assert legal_clocks.clock_line(met, day(10).date()).endswith("met on 2026-12-09")
