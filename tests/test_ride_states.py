"""The handshake's transition table is consistent, and the docs show exactly it."""

from __future__ import annotations

from pathlib import Path

from protocol.ride.messages import RIDE_MESSAGES
from protocol.ride.policy import DEFAULT_POLICY
from protocol.ride.states import (
    ENDED,
    TRANSITIONS,
    RideState,
    Role,
    Timeout,
    mover,
    next_state,
    render_diagram,
    render_table,
    senders,
)

DOCS = Path(__file__).parents[1] / "docs" / "handshake.md"
S = RideState
NOW_MS = 1_767_254_400_000


def test_docs_show_the_table_and_diagram_generated_from_the_code() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert render_table() in text, "docs/handshake.md: paste render_table() output"
    assert render_diagram() in text, "docs/handshake.md: paste render_diagram() output"


def test_every_state_with_a_deadline_has_a_timeout_transition_for_that_party() -> None:
    for state in RideState:
        for role in Role:
            deadline = DEFAULT_POLICY.deadline_ms(
                state, role, NOW_MS, expires_ms=NOW_MS + 1, pickup_ms=NOW_MS
            )
            has_timeout = next_state(state, role, Timeout) is not None
            assert (deadline is not None) == has_timeout, (state, role)


def test_every_waiting_state_has_a_deadline_for_both_parties() -> None:
    waiting = set(RideState) - ENDED - {S.IDLE, S.UNSIGNED}
    for state in waiting:
        assert mover(state) is not None, state
        for role in Role:
            assert next_state(state, role, Timeout) is not None, (state, role)


def test_ended_states_lead_nowhere_else() -> None:
    for (state, _, _), nxt in TRANSITIONS.items():
        if state in ENDED:
            assert nxt is state


def test_only_the_rider_can_end_a_ride_whose_receipt_half_is_out() -> None:
    for state in (S.RECEIPT_PROPOSED, S.UNSIGNED):
        enders = {role for (s, role, _), nxt in TRANSITIONS.items() if s is state and nxt in ENDED}
        assert enders == {Role.RIDER}


def test_every_message_kind_is_in_the_table_with_its_senders() -> None:
    for cls in RIDE_MESSAGES:
        assert senders(cls), cls
    assert {cls.KIND for cls in RIDE_MESSAGES if senders(cls) == {Role.RIDER}} == {
        "ride.propose",
        "ride.reveal",
    }
    assert senders(next(c for c in RIDE_MESSAGES if c.KIND == "ride.receipt")) == set(Role)


def test_deadline_grace_goes_to_the_party_that_waits() -> None:
    for state in set(RideState) - ENDED - {S.IDLE, S.UNSIGNED}:
        actor = mover(state)
        assert actor is not None
        times = {
            role: DEFAULT_POLICY.deadline_ms(
                state, role, NOW_MS, expires_ms=NOW_MS + 10**9, pickup_ms=NOW_MS
            )
            for role in Role
        }
        assert times[actor.other] == times[actor] + DEFAULT_POLICY.grace_ms  # type: ignore[operator]
