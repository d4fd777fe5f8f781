"""Ride handshake: cancels, deadlines, wrong PINs, forged, replayed, duplicated and
reordered messages. Every rejection must leave both machines exactly as they were."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from protocol.errors import (
    BadGeometry,
    BadSignature,
    Expired,
    IllegalTransition,
    InvalidMessage,
    LazoozError,
    UnknownKind,
)
from protocol.fields import GeoPoint
from protocol.ride.actions import Notice, Send
from protocol.ride.errors import (
    Equivocation,
    InvalidCommand,
    NotCounterparty,
    OutOfOrder,
    ReceiptMismatch,
    UnexpectedMessage,
    WrongPin,
    WrongRide,
)
from protocol.ride.messages import (
    Accept,
    Cancel,
    CancelReason,
    Confirm,
    Decline,
    DeclineReason,
    PickedUp,
    ReceiptEntry,
    Reveal,
    RideMessage,
)
from protocol.ride.policy import MINUTE_MS
from protocol.ride.states import RideState, Role
from protocol.ride.validation import open_ride_message
from protocol.signing import seal
from tests.strategies import ALICE, offer
from tests.test_ride_flow import (
    DRIVER,
    DROPOFF,
    IDENTITIES,
    MALLORY,
    OTHER_RIDE_ID,
    PICKUP,
    RIDE_ID,
    RIDER,
    TERMS,
    Pair,
    snapshot,
    states,
)

R, D = Role.RIDER, Role.DRIVER
S = RideState

#: Each stage of a ride, as the ``Pair`` method that brings both parties there.
STAGES = {
    S.PROPOSED: "to_proposed",
    S.ACCEPTED: "to_accepted",
    S.REVEALED: "to_revealed",
    S.CONFIRMED: "to_confirmed",
    S.PICKED_UP: "to_picked_up",
    S.DROPPED_OFF: "to_dropped_off",
    S.RECEIPT_PROPOSED: "to_receipt_proposed",
}


def at(stage: RideState) -> Pair:
    pair = Pair()
    getattr(pair, STAGES[stage])()
    assert states(pair) == (stage, stage)
    return pair


def unchanged(pair: Pair, error: type[LazoozError], call: Callable[[], object]) -> LazoozError:
    """``call`` raises ``error`` and changes neither machine."""
    before = {role: snapshot(m) for role, m in pair.machines.items()}
    with pytest.raises(error) as caught:
        call()
    assert {role: snapshot(m) for role, m in pair.machines.items()} == before
    return caught.value


def sealed(role: Role, message: RideMessage) -> bytes:
    return seal(IDENTITIES[role], message).raw


# -- cancels


CANCEL_POINTS = [(stage, role) for stage in STAGES for role in Role] + [(S.IDLE, R)]


@pytest.mark.parametrize(("stage", "by"), CANCEL_POINTS, ids=lambda v: getattr(v, "name", v))
def test_either_party_cancels_at_every_step_and_both_end_cancelled(
    stage: RideState, by: Role
) -> None:
    pair = Pair() if stage is S.IDLE else at(stage)
    if stage is S.RECEIPT_PROPOSED and by is D:
        unchanged(pair, IllegalTransition, lambda: pair.do(D, "cancel", CancelReason.OTHER))
        return
    pair.do(by, "cancel", CancelReason.CHANGED_MIND)
    pair.deliver_all()

    assert states(pair) == (S.CANCELLED, S.CANCELLED)
    assert pair.rider.endings == pair.driver.endings
    [ending] = pair.rider.endings
    assert ending.by is by and isinstance(ending.message, Cancel)
    assert ending.message.reason is CancelReason.CHANGED_MIND
    assert pair.rider.deadline_ms is None and pair.driver.deadline_ms is None
    assert pair.notices_of(by)[-1] is Notice.CANCELLED
    if stage is not S.IDLE:
        assert pair.notices[by.other][-1].ending == ending


@pytest.mark.parametrize("stage", [S.PROPOSED, S.REVEALED])
def test_driver_declines_and_both_end_cancelled_with_the_reason(stage: RideState) -> None:
    pair = at(stage)
    pair.do(D, "decline", DeclineReason.OFF_ROUTE)
    pair.deliver_all()
    assert states(pair) == (S.CANCELLED, S.CANCELLED)
    [ending] = pair.rider.endings
    assert ending == pair.driver.endings[0]
    assert ending.by is D and isinstance(ending.message, Decline)
    assert ending.message.reason is DeclineReason.OFF_ROUTE
    assert pair.notices_of(R)[-1] is Notice.DECLINED


def test_decline_is_not_allowed_after_confirming() -> None:
    pair = at(S.CONFIRMED)
    unchanged(pair, IllegalTransition, lambda: pair.do(D, "decline", DeclineReason.OTHER))


def test_crossed_cancels_are_both_recorded_by_both() -> None:
    pair = at(S.CONFIRMED)
    pair.do(R, "cancel", CancelReason.NO_SHOW)
    pair.do(D, "cancel", CancelReason.NO_SHOW)
    pair.deliver_all()
    assert states(pair) == (S.CANCELLED, S.CANCELLED)
    assert set(pair.rider.endings) == set(pair.driver.endings)
    assert {e.by for e in pair.rider.endings} == {R, D}


def test_cancel_crossing_a_decline_ends_both_with_both_endings() -> None:
    pair = at(S.PROPOSED)
    pair.do(R, "cancel", CancelReason.CHANGED_MIND)
    pair.do(D, "decline", DeclineReason.NO_SEATS)
    pair.deliver_all()
    assert states(pair) == (S.CANCELLED, S.CANCELLED)
    assert set(pair.rider.endings) == set(pair.driver.endings)
    assert len(pair.rider.endings) == 2


def test_ended_party_answers_a_late_message_with_its_cancel() -> None:
    pair = at(S.PROPOSED)
    pair.do(R, "cancel", CancelReason.CHANGED_MIND)
    pair.do(D, "accept")  # crosses the cancel
    pair.deliver(R)  # the accept reaches a cancelled rider, which answers again
    cancel, answer = pair.inbox[D]
    assert cancel == answer
    pair.deliver_all()
    assert states(pair) == (S.CANCELLED, S.CANCELLED)
    assert [e.by for e in pair.driver.endings] == [R]


def test_no_party_ends_a_ride_twice() -> None:
    pair = at(S.ACCEPTED)
    pair.do(R, "cancel", CancelReason.OTHER)
    pair.deliver_all()
    unchanged(pair, IllegalTransition, lambda: pair.do(R, "cancel", CancelReason.OTHER))
    unchanged(pair, IllegalTransition, lambda: pair.do(D, "cancel", CancelReason.OTHER))
    second = Cancel(RIDE_ID, 5, CancelReason.UNSAFE)
    unchanged(pair, UnexpectedMessage, lambda: pair.feed(D, sealed(R, second)))


# -- deadlines


TIMEOUT_POINTS = [(stage, role) for stage in STAGES for role in Role]


@pytest.mark.parametrize(("stage", "who"), TIMEOUT_POINTS, ids=lambda v: getattr(v, "name", v))
def test_every_waiting_state_has_a_deadline_that_ends_it(stage: RideState, who: Role) -> None:
    pair = at(stage)
    assert pair.machines[who].deadline_ms is not None
    pair.fire(who)
    if stage is S.RECEIPT_PROPOSED and who is D:
        # Its signed half is out: the driver stops waiting; only the rider decides.
        assert pair.driver.state is S.UNSIGNED
        assert pair.notices_of(D)[-1] is Notice.UNSIGNED
        assert not pair.inbox[R]
        return
    pair.deliver_all()
    assert states(pair) == (S.CANCELLED, S.CANCELLED)
    [ending] = pair.rider.endings
    assert ending.by is who and isinstance(ending.message, Cancel)
    assert ending.message.reason is CancelReason.TIMEOUT


def test_party_waiting_on_the_other_times_out_later() -> None:
    for stage in STAGES:
        pair = at(stage)
        waiting = {role: pair.machines[role].deadline_ms for role in Role}
        assert None not in waiting.values()
        assert waiting[R] != waiting[D], stage


def test_early_and_stale_timers_do_nothing() -> None:
    pair = at(S.ACCEPTED)
    deadline = pair.rider.deadline_ms
    assert deadline is not None
    before = snapshot(pair.rider)
    assert pair.rider.timer_fired(deadline - 1) == []
    assert snapshot(pair.rider) == before
    done = Pair().to_done()
    assert done.rider.timer_fired(10**15) == [] and done.driver.timer_fired(10**15) == []


def test_unsigned_driver_completes_when_the_countersignature_arrives_late() -> None:
    pair = at(S.RECEIPT_PROPOSED)
    pair.fire(D)
    assert pair.driver.state is S.UNSIGNED
    pair.sign(R)
    pair.deliver_all()
    assert states(pair) == (S.DONE, S.DONE)
    assert pair.rider.halves == pair.driver.halves


def test_a_lost_countersignature_is_sent_again_when_the_driver_repeats_its_half() -> None:
    pair = at(S.RECEIPT_PROPOSED)
    (proposal,) = [raw for raw in pair.sent_log[D] if b"ride.receipt" in raw]
    pair.sign(R)
    pair.inbox[D].clear()  # the rider's countersignature never arrives
    assert states(pair) == (S.DONE, S.RECEIPT_PROPOSED)
    # The driver, back after a restart, resends its half; the done rider answers once.
    answer = pair.feed(R, proposal)
    assert [type(a) for a in answer] == [Send]
    pair.deliver_all()
    assert states(pair) == (S.DONE, S.DONE)
    assert pair.rider.halves == pair.driver.halves
    # The driver does not answer a repeated countersignature: no echo.
    resent = [raw for raw in pair.sent_log[R] if b"ride.receipt" in raw]
    assert len(resent) == 2 and resent[0] == resent[1]  # the very same signed frame
    assert pair.feed(D, resent[-1]) == []


def test_unsigned_driver_ends_cancelled_when_the_rider_never_signs() -> None:
    pair = at(S.RECEIPT_PROPOSED)
    pair.fire(D)
    pair.fire(R)
    pair.deliver_all()
    assert states(pair) == (S.CANCELLED, S.CANCELLED)
    assert [e.by for e in pair.driver.endings] == [R]


def test_countersignature_crossing_the_drivers_deadline_still_completes() -> None:
    pair = at(S.RECEIPT_PROPOSED)
    pair.sign(R)  # in flight...
    pair.fire(D)  # ...while the driver's deadline passes
    pair.deliver_all()
    assert states(pair) == (S.DONE, S.DONE)


def test_timeout_reaches_a_driver_that_never_heard_the_proposal() -> None:
    pair = Pair()
    pair.do(R, "propose", expires_ms=pair.now_ms + 5 * MINUTE_MS)
    pair.inbox[D].clear()  # lost
    pair.fire(R)
    pair.deliver_all()
    assert states(pair) == (S.CANCELLED, S.CANCELLED)


# -- the pickup PIN


def test_wrong_pin_is_rejected_and_only_the_attempt_count_changes() -> None:
    pair = at(S.CONFIRMED)
    wrong = "0000" if pair.pin() != "0000" else "1111"
    actions = pair.do(D, "picked_up", wrong)
    assert [n.notice for n in pair.notices[D][-1:]] == [Notice.PIN_REJECTED]
    assert pair.notices[D][-1].attempts_left == 4
    assert not any(isinstance(a, Send) for a in actions)
    assert states(pair) == (S.CONFIRMED, S.CONFIRMED)
    pair.do(D, "picked_up", f" {pair.pin()[:2]} {pair.pin()[2:]} ")  # spaces are fine
    pair.deliver_all()
    assert states(pair) == (S.PICKED_UP, S.PICKED_UP)


def test_five_wrong_pins_cancel_the_ride() -> None:
    pair = at(S.CONFIRMED)
    wrong = "0000" if pair.pin() != "0000" else "1111"
    for left in (4, 3, 2, 1):
        pair.do(D, "picked_up", wrong)
        assert pair.driver.pin_attempts_left == left
        assert pair.driver.state is S.CONFIRMED
    pair.do(D, "picked_up", wrong)
    pair.deliver_all()
    assert states(pair) == (S.CANCELLED, S.CANCELLED)
    [ending] = pair.rider.endings
    assert isinstance(ending.message, Cancel) and ending.message.reason is CancelReason.WRONG_PIN


@pytest.mark.parametrize("typed", ["", "123", "12345", "12a4", "١٢٣٤"])
def test_malformed_pin_is_a_local_error_that_costs_no_attempt(typed: str) -> None:
    pair = at(S.CONFIRMED)
    unchanged(pair, InvalidCommand, lambda: pair.do(D, "picked_up", typed))


def test_rider_rejects_a_pickup_with_the_wrong_pin() -> None:
    pair = at(S.CONFIRMED)
    wrong = "0000" if pair.pin() != "0000" else "1111"
    forged = sealed(D, PickedUp(RIDE_ID, 2, wrong, pair.now_ms))
    unchanged(pair, WrongPin, lambda: pair.feed(R, forged))


# -- forged, replayed, duplicated, reordered


def test_message_signed_by_a_stranger_is_rejected() -> None:
    pair = at(S.CONFIRMED)
    forged = seal(MALLORY, Cancel(RIDE_ID, 2, CancelReason.UNSAFE)).raw
    unchanged(pair, NotCounterparty, lambda: pair.feed(R, forged))
    unchanged(pair, NotCounterparty, lambda: pair.feed(D, forged))


def test_bad_signature_is_rejected_before_the_machine() -> None:
    pair = at(S.CONFIRMED)
    raw = bytearray(sealed(D, Cancel(RIDE_ID, 2, CancelReason.UNSAFE)))
    raw[-1] ^= 1
    unchanged(pair, BadSignature, lambda: pair.feed(R, bytes(raw)))


def test_own_message_reflected_back_is_rejected() -> None:
    pair = at(S.PROPOSED)
    reflected = sealed(R, Cancel(RIDE_ID, 1, CancelReason.OTHER))
    unchanged(pair, NotCounterparty, lambda: pair.feed(R, reflected))


def test_message_from_another_ride_is_rejected() -> None:
    pair = at(S.ACCEPTED)
    replay = sealed(D, Cancel(OTHER_RIDE_ID, 1, CancelReason.OTHER))
    unchanged(pair, WrongRide, lambda: pair.feed(R, replay))


def test_duplicate_is_ignored_idempotently() -> None:
    pair = at(S.ACCEPTED)
    accept = sealed(D, Accept(RIDE_ID, 0))
    before = {role: snapshot(m) for role, m in pair.machines.items()}
    assert pair.feed(R, accept) == []
    assert {role: snapshot(m) for role, m in pair.machines.items()} == before


def test_duplicate_reaching_an_ended_party_is_ignored_too() -> None:
    pair = at(S.ACCEPTED)
    pair.do(R, "cancel", CancelReason.OTHER)
    pair.deliver_all()
    assert pair.feed(R, sealed(D, Accept(RIDE_ID, 0))) == []


def test_different_message_for_a_processed_step_is_equivocation() -> None:
    pair = at(S.ACCEPTED)
    other = sealed(D, Decline(RIDE_ID, 0, DeclineReason.NO_SEATS))
    unchanged(pair, Equivocation, lambda: pair.feed(R, other))


def test_confirm_before_accept_is_out_of_order() -> None:
    pair = at(S.PROPOSED)
    pair.do(D, "accept")
    accept = pair.inbox[R].popleft()
    confirm = sealed(D, Confirm(RIDE_ID, 1, pair.now_ms + MINUTE_MS))
    unchanged(pair, OutOfOrder, lambda: pair.feed(R, confirm))
    pair.feed(R, accept)
    assert pair.rider.state is S.ACCEPTED


def test_cancel_skipping_lost_messages_still_ends_the_ride() -> None:
    pair = at(S.PROPOSED)
    pair.do(D, "accept")
    pair.inbox[R].clear()  # the accept is lost
    pair.do(D, "cancel", CancelReason.CHANGED_MIND)
    pair.deliver_all()
    assert states(pair) == (S.CANCELLED, S.CANCELLED)
    # The lost accept arriving now is answered with nothing: the driver ended it.
    assert pair.feed(R, sealed(D, Accept(RIDE_ID, 0))) == []


def test_message_of_the_wrong_role_is_unexpected() -> None:
    pair = at(S.PROPOSED)
    # The rider signs an accept: riders never accept.
    unchanged(pair, UnexpectedMessage, lambda: pair.feed(D, sealed(R, Accept(RIDE_ID, 1))))


def test_message_not_allowed_in_the_state_is_unexpected() -> None:
    pair = at(S.ACCEPTED)
    confirm = sealed(D, Confirm(RIDE_ID, 1, pair.now_ms + MINUTE_MS))
    unchanged(pair, UnexpectedMessage, lambda: pair.feed(R, confirm))


def test_gossip_kind_on_the_ride_stream_is_an_unknown_kind() -> None:
    with pytest.raises(UnknownKind):
        open_ride_message(seal(ALICE, offer()).raw)


def test_expired_proposal_is_rejected() -> None:
    pair = Pair()
    pair.do(R, "propose", expires_ms=pair.now_ms + MINUTE_MS)
    pair.now_ms += 2 * MINUTE_MS
    unchanged(pair, Expired, lambda: pair.deliver(D))
    assert pair.driver.state is S.IDLE


def test_a_proposal_open_longer_than_the_policy_allows_is_refused_both_ways() -> None:
    pair = Pair()
    ttl_ms = pair.rider.policy.max_proposal_ttl_ms
    too_late = pair.now_ms + ttl_ms + 1
    unchanged(pair, InvalidCommand, lambda: pair.do(R, "propose", expires_ms=too_late))
    # Received, the bound allows for skew: a driver keeps its ended ride until the
    # proposal expires (§7.3), so an expiry far ahead would make it keep the ride for ever.
    skew_ms = pair.driver.policy.max_skew_ms
    edge = sealed(R, TERMS.proposal(RIDE_ID, 0, pair.now_ms + ttl_ms + skew_ms))
    beyond = sealed(R, TERMS.proposal(RIDE_ID, 0, pair.now_ms + ttl_ms + skew_ms + 1))
    error = unchanged(pair, InvalidMessage, lambda: pair.feed(D, beyond))
    assert str(error).startswith("Propose.expires_ms=")
    pair.feed(D, edge)
    assert pair.driver.state is S.PROPOSED


# -- local misuse


@pytest.mark.parametrize(
    ("role", "command", "args"),
    [
        (D, "propose", ()),
        (R, "accept", ()),
        (R, "confirm", (0,)),
        (D, "reveal", (PICKUP, DROPOFF)),
        (R, "picked_up", ("1234",)),
        (R, "dropped_off", (100,)),
        (D, "decline", (DeclineReason.OTHER,)),
    ],
)
def test_command_out_of_turn_is_an_illegal_transition(
    role: Role, command: str, args: tuple[object, ...]
) -> None:
    pair = at(S.ACCEPTED)
    kwargs: dict[str, object] = {}
    if command == "propose":
        kwargs["expires_ms"] = pair.now_ms + MINUTE_MS
    if command == "reveal":
        kwargs["rng"] = pair.rng
    unchanged(pair, IllegalTransition, lambda: pair.do(role, command, *args, **kwargs))


def test_reveal_outside_the_proposed_cells_is_refused_both_ways() -> None:
    pair = at(S.ACCEPTED)
    far = GeoPoint.from_degrees(31.7683, 35.2137)  # Jerusalem
    unchanged(pair, InvalidCommand, lambda: pair.do(R, "reveal", far, DROPOFF, rng=pair.rng))
    forged = sealed(R, Reveal(RIDE_ID, 1, far, DROPOFF, bytes(32)))
    unchanged(pair, BadGeometry, lambda: pair.feed(D, forged))


def test_confirm_needs_a_pickup_time_ahead() -> None:
    pair = at(S.REVEALED)
    unchanged(pair, InvalidCommand, lambda: pair.do(D, "confirm", pair.now_ms - 1))


def test_receipt_not_of_this_ride_is_refused() -> None:
    pair = at(S.DROPPED_OFF)
    request = pair.sign_requests[D][-1]
    wrong = dataclasses.replace(request.receipt, distance_m=9_999)
    unchanged(pair, InvalidCommand, lambda: pair.do(D, "receipt_proposed", b"entry", wrong))


def test_rider_refuses_a_proposal_for_another_ride() -> None:
    pair = Pair(real_ledger=False).to_dropped_off()
    request = pair.sign_requests[D][-1]
    wrong = dataclasses.replace(request.receipt, distance_m=9_999)
    pair.fake_entries[b"inflated"] = wrong
    forged = sealed(D, ReceiptEntry(RIDE_ID, 4, b"inflated"))
    unchanged(pair, ReceiptMismatch, lambda: pair.feed(R, forged))
    signed = open_ride_message(forged)
    unchanged(pair, InvalidCommand, lambda: pair.rider.receive(signed, now_ms=pair.now_ms))


def test_keys_in_the_harness_are_the_parties() -> None:
    assert IDENTITIES == {R: RIDER, D: DRIVER}


def test_messages_lost_with_a_broken_stream_arrive_after_resend() -> None:
    pair = at(S.CONFIRMED)
    pair.now_ms += 6 * MINUTE_MS
    pair.do(D, "picked_up", pair.pin())
    pair.do(D, "dropped_off", 1_800)
    pair.inbox[R].clear()  # the stream broke with both in flight
    pair.run(D, pair.driver.resend())  # reopened
    pair.deliver_all()
    assert states(pair) == (S.DROPPED_OFF, S.DROPPED_OFF)
    assert pair.rider.receipt == pair.driver.receipt
