"""The request lifecycle: one transition table, nothing else decides a state change."""

from __future__ import annotations

from enum import StrEnum

from gateway.domain.errors import IllegalTransition


class State(StrEnum):
    RECEIVED = "received"
    VERIFIED = "verified"
    TRANSLATING = "translating"
    TRANSLATED = "translated"
    RENDERED = "rendered"
    AVAILABLE = "available"
    RETRIEVED = "retrieved"
    ACKNOWLEDGED = "acknowledged"
    REJECTED = "rejected"
    FAILED = "failed"
    WITHDRAWN = "withdrawn"


class Event(StrEnum):
    VERIFY = "verify"
    REJECT = "reject"
    START_TRANSLATION = "start-translation"
    FINISH_TRANSLATION = "finish-translation"
    FAIL_TRANSLATION = "fail-translation"
    RETRY_TRANSLATION = "retry-translation"
    RENDER = "render"
    FAIL_RENDER = "fail-render"
    RETRY_RENDER = "retry-render"
    MAKE_AVAILABLE = "make-available"
    FAIL_PACKAGING = "fail-packaging"
    RETRY_PACKAGING = "retry-packaging"
    RETRIEVE = "retrieve"
    ACKNOWLEDGE = "acknowledge"
    WITHDRAW = "withdraw"
    REFUSE = "refuse"


S, E = State, Event

TRANSITIONS: dict[tuple[State, Event], State] = {
    (S.RECEIVED, E.VERIFY): S.VERIFIED,
    (S.RECEIVED, E.REJECT): S.REJECTED,
    (S.VERIFIED, E.START_TRANSLATION): S.TRANSLATING,
    (S.TRANSLATING, E.FINISH_TRANSLATION): S.TRANSLATED,
    (S.TRANSLATING, E.FAIL_TRANSLATION): S.FAILED,
    (S.FAILED, E.RETRY_TRANSLATION): S.VERIFIED,
    (S.TRANSLATED, E.RENDER): S.RENDERED,
    (S.TRANSLATED, E.FAIL_RENDER): S.FAILED,
    (S.FAILED, E.RETRY_RENDER): S.TRANSLATED,
    (S.RENDERED, E.MAKE_AVAILABLE): S.AVAILABLE,
    (S.RENDERED, E.FAIL_PACKAGING): S.FAILED,
    (S.FAILED, E.RETRY_PACKAGING): S.RENDERED,
    (S.AVAILABLE, E.RETRIEVE): S.RETRIEVED,
    (S.RETRIEVED, E.RETRIEVE): S.RETRIEVED,
    (S.RETRIEVED, E.ACKNOWLEDGE): S.ACKNOWLEDGED,
    # the executing authority refuses a request it has been given (EIO Art 11, EAW Art 3/4)
    (S.AVAILABLE, E.REFUSE): S.REJECTED,
    (S.RETRIEVED, E.REFUSE): S.REJECTED,
    (S.ACKNOWLEDGED, E.REFUSE): S.REJECTED,
}

# An acknowledged request is still being executed under the law (replies, clocks), so the
# issuer may still withdraw it; only rejected and withdrawn requests are final.
TERMINAL: frozenset[State] = frozenset({S.REJECTED, S.WITHDRAWN})

# The issuing side may withdraw at any time before the request is final.
for _state in State:
    if _state not in TERMINAL:
        TRANSITIONS[(_state, E.WITHDRAW)] = S.WITHDRAWN

# Which retry event undoes the failure recorded for a step.
RETRY_FOR_STEP: dict[str, Event] = {
    "translate": E.RETRY_TRANSLATION,
    "render": E.RETRY_RENDER,
    "package": E.RETRY_PACKAGING,
}


def next_state(current: State, event: Event) -> State:
    """The state `event` leads to from `current`; raises IllegalTransition otherwise."""
    try:
        return TRANSITIONS[(current, event)]
    except KeyError:
        raise IllegalTransition(
            f"'{event.value}' is not allowed while a request is '{current.value}'"
        ) from None


def allowed_events(current: State) -> frozenset[Event]:
    return frozenset(event for (state, event) in TRANSITIONS if state is current)


def is_terminal(state: State) -> bool:
    return state in TERMINAL
