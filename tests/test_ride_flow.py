"""Ride handshake, both parties talking through sealed envelopes: the happy paths.

``Pair`` is the tiny loop the other ride tests share: it plays both Peers,
seals every ``Send`` with the sender's key, opens every frame with
``open_ride_message`` before the receiving machine sees it, keeps one timer
per party in virtual time, and answers ``SignReceipt`` with the real ledger
(``propose_receipt`` / ``countersign``).
"""

from __future__ import annotations

import dataclasses
import random
from collections import deque

import pytest

from protocol.envelope import Signed
from protocol.errors import LazoozError
from protocol.fields import GeoPoint
from protocol.identity import Identity
from protocol.ledger.chain import MemberLog, open_entry
from protocol.ledger.cosign import countersign, propose_receipt, receipt_half
from protocol.ledger.receipt import Receipt
from protocol.ride.actions import Action, Notice, Notify, Send, SetTimer, SignReceipt
from protocol.ride.machine import RideHandshake
from protocol.ride.messages import ReceiptEntry, RideMessage
from protocol.ride.policy import MINUTE_MS
from protocol.ride.states import RideState, Role
from protocol.ride.terms import RideTerms
from protocol.ride.validation import open_ride_message
from protocol.signing import seal
from tests.strategies import NOW_MS, offer, request

RIDER = Identity.from_seed(bytes([11]) * 32)
DRIVER = Identity.from_seed(bytes([12]) * 32)
MALLORY = Identity.from_seed(bytes([13]) * 32)
RIDE_ID = bytes(range(100, 116))
OTHER_RIDE_ID = bytes(range(200, 216))

#: Exact points inside ``tests.strategies.request()``'s cells (north and south Tel Aviv).
PICKUP = GeoPoint.from_degrees(32.0950, 34.7840)
DROPOFF = GeoPoint.from_degrees(32.0740, 34.7815)
TERMS = RideTerms.between(offer(), request())
IDENTITIES = {Role.RIDER: RIDER, Role.DRIVER: DRIVER}


def snapshot(machine: RideHandshake) -> dict[str, object]:
    """Everything a handshake holds, to check that a failed call changed nothing."""
    return {
        k: (list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v)
        for k, v in vars(machine).items()
    }


class Pair:
    """A rider and a driver handshake joined by two in-memory queues, in virtual time."""

    def __init__(self, *, real_ledger: bool = True, now_ms: int = NOW_MS) -> None:
        self.now_ms = now_ms
        self.rng = random.Random(7)
        self.machines = {
            Role.RIDER: RideHandshake.rider(
                ride_id=RIDE_ID, me=RIDER.public_key, driver=DRIVER.public_key, terms=TERMS
            ),
            Role.DRIVER: RideHandshake.driver(
                ride_id=RIDE_ID, me=DRIVER.public_key, rider=RIDER.public_key
            ),
        }
        #: Frames in flight *to* each role.
        self.inbox: dict[Role, deque[bytes]] = {Role.RIDER: deque(), Role.DRIVER: deque()}
        #: Every frame each role has sent, in order (a Peer could resend any of them).
        self.sent_log: dict[Role, list[bytes]] = {Role.RIDER: [], Role.DRIVER: []}
        self.timers: dict[Role, int | None] = {Role.RIDER: None, Role.DRIVER: None}
        self.notices: dict[Role, list[Notify]] = {Role.RIDER: [], Role.DRIVER: []}
        self.sign_requests: dict[Role, list[SignReceipt]] = {Role.RIDER: [], Role.DRIVER: []}
        self.real_ledger = real_ledger
        self.logs = {role: MemberLog(IDENTITIES[role].public_key) for role in Role}
        #: Fake ledger: entry bytes -> the receipt they carry.
        self.fake_entries: dict[bytes, Receipt] = {}

    @property
    def rider(self) -> RideHandshake:
        return self.machines[Role.RIDER]

    @property
    def driver(self) -> RideHandshake:
        return self.machines[Role.DRIVER]

    def run(self, role: Role, actions: list[Action]) -> list[Action]:
        """Execute ``role``'s actions as its Peer would."""
        for action in actions:
            assert action.ride_id == RIDE_ID
            if isinstance(action, Send):
                assert action.to == self.machines[role].counterparty
                raw = seal(IDENTITIES[role], action.message).raw
                self.inbox[role.other].append(raw)
                self.sent_log[role].append(raw)
            elif isinstance(action, SetTimer):
                self.timers[role] = action.at_ms
            elif isinstance(action, Notify):
                self.notices[role].append(action)
            elif isinstance(action, SignReceipt):
                self.sign_requests[role].append(action)
        return actions

    def do(self, role: Role, command: str, *args: object, **kwargs: object) -> list[Action]:
        machine = self.machines[role]
        return self.run(role, getattr(machine, command)(*args, now_ms=self.now_ms, **kwargs))

    def deliver(self, to: Role) -> list[Action]:
        """Open the oldest frame in flight to ``to`` and feed it to its machine."""
        return self.feed(to, self.inbox[to].popleft())

    def feed(self, to: Role, raw: bytes) -> list[Action]:
        signed = open_ride_message(raw)
        receipt = self.decode_receipt(signed)
        return self.run(to, self.machines[to].receive(signed, now_ms=self.now_ms, receipt=receipt))

    def deliver_all(self) -> None:
        while any(self.inbox.values()):
            for role in Role:
                while self.inbox[role]:
                    self.deliver(role)

    def decode_receipt(self, signed: Signed[RideMessage]) -> Receipt | None:
        if not isinstance(signed.message, ReceiptEntry):
            return None
        entry = signed.message.entry
        if self.real_ledger:
            return receipt_half(open_entry(entry)).receipt
        return self.fake_entries[entry]

    def sign(self, role: Role) -> list[Action]:
        """Answer ``role``'s last ``SignReceipt`` as its Peer would."""
        request = self.sign_requests[role][-1]
        assert self.machines[role].pending_signature == request
        identity = IDENTITIES[role]
        if self.real_ledger:
            if request.proposal is None:
                entry = propose_receipt(identity, self.logs[role], request.receipt, self.now_ms)
            else:
                entry = countersign(
                    identity,
                    self.logs[role],
                    request.proposal,
                    self.now_ms,
                    expected=request.receipt,
                )
            raw = entry.raw
        else:
            half = b"agreement:" if request.proposal else b"proposal:"
            raw = half + repr(request.receipt).encode()
            self.fake_entries[raw] = request.receipt
        if role is Role.DRIVER:
            return self.do(role, "receipt_proposed", raw, request.receipt)
        return self.do(role, "receipt_countersigned", raw, request.receipt)

    def fire(self, role: Role) -> list[Action]:
        """Advance virtual time to ``role``'s timer and fire it."""
        at = self.timers[role]
        assert at is not None
        self.now_ms = max(self.now_ms, at)
        self.timers[role] = None
        return self.run(role, self.machines[role].timer_fired(self.now_ms))

    def notices_of(self, role: Role) -> list[Notice]:
        return [n.notice for n in self.notices[role]]

    def pin(self) -> str:
        pin = self.rider.pin
        assert pin is not None
        return pin

    # -- the ride, step by step

    def to_proposed(self) -> Pair:
        self.do(Role.RIDER, "propose", expires_ms=self.now_ms + 10 * MINUTE_MS)
        self.deliver(Role.DRIVER)
        return self

    def to_accepted(self) -> Pair:
        self.to_proposed().do(Role.DRIVER, "accept")
        self.deliver(Role.RIDER)
        return self

    def to_revealed(self) -> Pair:
        self.to_accepted().do(Role.RIDER, "reveal", PICKUP, DROPOFF, rng=self.rng)
        self.deliver(Role.DRIVER)
        return self

    def to_confirmed(self) -> Pair:
        self.to_revealed().do(Role.DRIVER, "confirm", self.now_ms + 5 * MINUTE_MS)
        self.deliver(Role.RIDER)
        return self

    def to_picked_up(self) -> Pair:
        self.to_confirmed()
        self.now_ms += 6 * MINUTE_MS
        self.do(Role.DRIVER, "picked_up", self.pin())
        self.deliver(Role.RIDER)
        return self

    def to_dropped_off(self) -> Pair:
        self.to_picked_up()
        self.now_ms += 12 * MINUTE_MS
        self.do(Role.DRIVER, "dropped_off", 2_300)
        self.deliver(Role.RIDER)
        return self

    def to_receipt_proposed(self) -> Pair:
        self.to_dropped_off().sign(Role.DRIVER)
        self.deliver(Role.RIDER)
        return self

    def to_done(self) -> Pair:
        self.to_receipt_proposed().sign(Role.RIDER)
        self.deliver(Role.DRIVER)
        return self


def states(pair: Pair) -> tuple[RideState, RideState]:
    return pair.rider.state, pair.driver.state


# -- tests


def test_ride_completes_with_one_receipt_signed_by_both_in_both_logs() -> None:
    pair = Pair().to_done()

    assert states(pair) == (RideState.DONE, RideState.DONE)
    assert pair.rider.halves == pair.driver.halves
    assert pair.rider.halves is not None
    proposal, agreement = (open_entry(raw) for raw in pair.rider.halves)
    assert proposal.author == DRIVER.public_key and agreement.author == RIDER.public_key
    assert receipt_half(agreement).link_hash == proposal.message_id
    assert receipt_half(proposal).receipt == receipt_half(agreement).receipt
    assert [e.raw for e in pair.logs[Role.DRIVER]] == [proposal.raw]
    assert [e.raw for e in pair.logs[Role.RIDER]] == [agreement.raw]
    assert pair.rider.deadline_ms is None and pair.driver.deadline_ms is None
    assert not any(pair.inbox.values())


def test_receipt_is_the_ride_both_saw() -> None:
    pair = Pair().to_done()
    receipt = pair.rider.receipt
    assert receipt == pair.driver.receipt
    assert receipt is not None
    assert receipt.ride_id == RIDE_ID
    assert (receipt.offer_id, receipt.request_id) == (TERMS.offer_id, TERMS.request_id)
    assert (receipt.driver, receipt.rider) == (DRIVER.public_key, RIDER.public_key)
    assert (receipt.pickup_cell, receipt.dropoff_cell) == (TERMS.pickup_cell, TERMS.dropoff_cell)
    assert receipt.distance_m == 2_300
    assert receipt.ended_ms - receipt.started_ms == 12 * MINUTE_MS
    assert receipt.cost_minor == TERMS.cost.for_distance(2_300) == 500 + 184


def test_each_party_is_told_each_step_in_order() -> None:
    pair = Pair().to_done()
    assert pair.notices_of(Role.RIDER) == [
        Notice.PROPOSED,
        Notice.ACCEPTED,
        Notice.PIN_SHOWN,
        Notice.CONFIRMED,
        Notice.PICKED_UP,
        Notice.DROPPED_OFF,
        Notice.RECEIPT_NEEDED,
        Notice.DONE,
    ]
    assert pair.notices_of(Role.DRIVER) == [
        Notice.PROPOSED,
        Notice.ACCEPTED,
        Notice.REVEALED,
        Notice.CONFIRMED,
        Notice.PICKED_UP,
        Notice.DROPPED_OFF,
        Notice.RECEIPT_NEEDED,
        Notice.DONE,
    ]
    shown = [n for n in pair.notices[Role.RIDER] if n.notice is Notice.PIN_SHOWN]
    assert shown[0].pin == pair.rider.pin


def test_both_parties_walk_the_same_states() -> None:
    pair = Pair()
    seen = [states(pair)]
    for step in ("to_proposed", "to_accepted", "to_revealed", "to_confirmed", "to_picked_up"):
        fresh = Pair()
        getattr(fresh, step)()
        seen.append(states(fresh))
    assert all(rider is driver for rider, driver in seen)


def test_exact_points_reach_the_driver_only_after_accepting() -> None:
    pair = Pair().to_proposed()
    assert pair.driver.revealed is None
    with pytest.raises(LazoozError):
        pair.do(Role.RIDER, "reveal", PICKUP, DROPOFF, rng=pair.rng)
    pair.do(Role.DRIVER, "accept")
    pair.deliver(Role.RIDER)
    pair.do(Role.RIDER, "reveal", PICKUP, DROPOFF, rng=pair.rng)
    pair.deliver(Role.DRIVER)
    assert pair.driver.revealed == (PICKUP, DROPOFF)
    assert pair.driver.pin is None  # only the hash travels


def test_pin_is_drawn_from_the_rng_passed_in() -> None:
    a, b = Pair().to_revealed(), Pair().to_revealed()
    assert a.pin() == b.pin()
    assert len(a.pin()) == 4 and a.pin().isdigit()


def test_every_timer_is_for_the_state_entered() -> None:
    pair = Pair().to_confirmed()
    assert pair.rider.pickup_ms is not None
    assert pair.driver.deadline_ms == pair.rider.pickup_ms + 15 * MINUTE_MS
    # The party waiting on the other gives it the grace period.
    assert pair.rider.deadline_ms == pair.driver.deadline_ms + 30_000
    assert pair.timers[Role.DRIVER] == pair.driver.deadline_ms


def test_proposal_deadline_is_capped_by_its_expiry() -> None:
    pair = Pair()
    pair.do(Role.RIDER, "propose", expires_ms=pair.now_ms + 45_000)
    pair.deliver(Role.DRIVER)
    assert pair.driver.deadline_ms == pair.now_ms + 45_000
    assert pair.rider.deadline_ms == pair.now_ms + 75_000


def test_ride_over_a_fake_ledger_completes_too() -> None:
    pair = Pair(real_ledger=False).to_done()
    assert states(pair) == (RideState.DONE, RideState.DONE)


def test_resend_after_done_changes_nothing() -> None:
    pair = Pair().to_done()
    before = {role: snapshot(m) for role, m in pair.machines.items()}
    for role in Role:
        pair.run(role, pair.machines[role].resend())
    pair.deliver_all()
    assert {role: snapshot(m) for role, m in pair.machines.items()} == before


def test_ride_terms_are_the_proposal() -> None:
    pair = Pair().to_proposed()
    assert pair.driver.terms == TERMS
    assert dataclasses.asdict(pair.driver.terms) == dataclasses.asdict(TERMS)


def test_driver_must_answer_before_the_proposal_expires() -> None:
    pair = Pair()
    pair.do(Role.RIDER, "propose", expires_ms=pair.now_ms + 45_000)
    pair.deliver(Role.DRIVER)
    pair.now_ms += 46_000
    before = snapshot(pair.driver)
    with pytest.raises(LazoozError):
        pair.do(Role.DRIVER, "accept")
    assert snapshot(pair.driver) == before
