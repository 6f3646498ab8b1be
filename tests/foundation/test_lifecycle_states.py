"""The request lifecycle table, exercised by hypothesis as a state machine."""

from __future__ import annotations

import pytest
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from gateway.domain.errors import IllegalTransition
from gateway.domain.states import (
    RETRY_FOR_STEP,
    TERMINAL,
    TRANSITIONS,
    Event,
    State,
    allowed_events,
    next_state,
)

HAPPY_PATH = [
    Event.VERIFY,
    Event.START_TRANSLATION,
    Event.FINISH_TRANSLATION,
    Event.RENDER,
    Event.MAKE_AVAILABLE,
    Event.RETRIEVE,
    Event.ACKNOWLEDGE,
]


def test_happy_path_reaches_acknowledged_through_every_stage() -> None:
    state = State.RECEIVED
    seen = [state]
    for event in HAPPY_PATH:
        state = next_state(state, event)
        seen.append(state)
    assert seen == [
        State.RECEIVED,
        State.VERIFIED,
        State.TRANSLATING,
        State.TRANSLATED,
        State.RENDERED,
        State.AVAILABLE,
        State.RETRIEVED,
        State.ACKNOWLEDGED,
    ]


def test_illegal_transition_names_event_and_state() -> None:
    with pytest.raises(
        IllegalTransition, match="'acknowledge' is not allowed while a request is 'received'"
    ):
        next_state(State.RECEIVED, Event.ACKNOWLEDGE)


def test_terminal_states_allow_nothing() -> None:
    for state in TERMINAL:
        assert allowed_events(state) == frozenset()


def test_the_executing_side_refuses_only_a_request_it_was_given() -> None:
    delivered = {State.AVAILABLE, State.RETRIEVED, State.ACKNOWLEDGED}
    for state in State:
        if state in delivered:
            assert next_state(state, Event.REFUSE) is State.REJECTED
        else:
            assert Event.REFUSE not in allowed_events(state)


def test_every_failure_has_a_retry_that_resumes_the_failed_step() -> None:
    resumes = {"translate": State.VERIFIED, "render": State.TRANSLATED, "package": State.RENDERED}
    for step, event in RETRY_FOR_STEP.items():
        assert next_state(State.FAILED, event) is resumes[step]


_FAILURE_OF = {
    Event.FAIL_TRANSLATION: "translate",
    Event.FAIL_RENDER: "render",
    Event.FAIL_PACKAGING: "package",
}


class Lifecycle(RuleBasedStateMachine):
    """Random event sequences: the table is the only authority, nothing else moves a state."""

    def __init__(self) -> None:
        super().__init__()
        self.state = State.RECEIVED
        self.history: list[State] = [self.state]
        self.failed_step: str | None = None

    @rule(event=st.sampled_from(list(Event)))
    def apply(self, event: Event) -> None:
        retry_of = {retry: step for step, retry in RETRY_FOR_STEP.items()}
        # the sweeper retries the step that failed (requests.failed_step), never another one
        assume(
            not (
                self.state is State.FAILED
                and retry_of.get(event, self.failed_step) != self.failed_step
            )
        )
        if (self.state, event) in TRANSITIONS:
            if event in _FAILURE_OF:
                self.failed_step = _FAILURE_OF[event]
            self.state = next_state(self.state, event)
            self.history.append(self.state)
        else:
            before = self.state
            with pytest.raises(IllegalTransition):
                next_state(self.state, event)
            assert self.state is before

    @invariant()
    def terminal_is_final(self) -> None:
        for earlier, later in zip(self.history, self.history[1:], strict=False):
            assert earlier not in TERMINAL, f"left terminal {earlier} for {later}"

    @invariant()
    def acknowledged_only_after_retrieval(self) -> None:
        if State.ACKNOWLEDGED in self.history:
            assert State.RETRIEVED in self.history
            assert self.history.index(State.RETRIEVED) < self.history.index(State.ACKNOWLEDGED)

    @invariant()
    def available_only_after_translation_and_rendering(self) -> None:
        if State.AVAILABLE in self.history:
            first = self.history.index(State.AVAILABLE)
            assert State.TRANSLATED in self.history[:first]
            assert State.RENDERED in self.history[:first]


TestLifecycle = Lifecycle.TestCase
