"""The attack suite: every finding of the security review as a test (see `make security`).

Each test's docstring starts with `attack: ...`; the terminal summary prints a table
attack -> result, so `make security` ends with the report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from security_support import LiveGateway, serve

from gateway.config import Settings

_RESULTS: list[tuple[str, str, str]] = []


@pytest.fixture
def gateway(make_settings: Callable[..., Settings]) -> Iterator[LiveGateway]:
    with serve(make_settings()) as live:
        yield live


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" or (report.when == "setup" and report.failed):
        doc = (getattr(item, "obj", None).__doc__ or item.name).strip().splitlines()[0]
        finding = item.get_closest_marker("finding")
        code = str(finding.args[0]) if finding else "-"
        _RESULTS.append((code, doc.removeprefix("attack: "), report.passed))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _RESULTS:
        return
    cases: dict[tuple[str, str], list[bool]] = {}
    for code, attack, passed in _RESULTS:  # parametrized cases share one row
        cases.setdefault((code, attack), []).append(passed)
    width = max(len(attack) for _, attack in cases)
    terminalreporter.section("security: attack -> result")
    terminalreporter.write_line(f"{'finding':8} {'attack':{width}}  result")
    for (code, attack), outcomes in sorted(cases.items()):
        held = sum(outcomes)
        result = "refused" if held == len(outcomes) else "NOT REFUSED"
        if len(outcomes) > 1:
            result += f" ({held}/{len(outcomes)} cases)"
        terminalreporter.write_line(f"{code:8} {attack:{width}}  {result}")
