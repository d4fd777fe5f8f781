"""A ride's journal: every step its handshake took, so a store can rebuild it (SPEC §11.4).

A handshake is rebuilt by replaying its steps with their recorded inputs and
times, outputs ignored: the machine is deterministic, and the one random
step (the PIN) records the seed of the ``random.Random`` it used. The
journal is what ``Persist("ride", ride_id, ...)`` stores.
"""

from __future__ import annotations

import random
from typing import Any

import msgpack

from protocol.envelope import Signed
from protocol.errors import describe
from protocol.fields import GeoPoint, PublicKey
from protocol.ledger.chain import open_entry
from protocol.ledger.cosign import receipt_half
from protocol.peer.errors import BadCommand
from protocol.peer.ride import Ride
from protocol.ride import actions as hs
from protocol.ride.machine import RideHandshake
from protocol.ride.messages import ReceiptEntry, RideMessage
from protocol.ride.policy import HandshakePolicy
from protocol.ride.states import Role
from protocol.ride.validation import open_ride_message
from protocol.ride.wire import decode_terms, encode_terms
from protocol.wire import pack

#: 2: a rider's terms carry the request's window and walk (``encode_terms``).
JOURNAL_VERSION = 2
#: Arguments of a step: what the handshake call took, as plain wire values.
Args = tuple[bytes | int | str, ...]


def step(
    ride: Ride,
    op: str,
    now_ms: int,
    *args: bytes | int | str,
    opened: Signed[RideMessage] | None = None,
) -> list[hs.Action]:
    """Apply one step to the ride's handshake and record it; a step that raises is not
    recorded. ``opened`` spares a ``receive`` step opening its frame a second time."""
    actions = _apply(ride.handshake, op, now_ms, args, opened)
    # A frame received again changed nothing; recording it would let a
    # counterparty grow the journal by replaying.
    if op != "receive" or all(s[0] != "receive" or s[2] != args for s in ride.journal):
        ride.journal.append((op, now_ms, args))
    return actions


def _apply(
    h: RideHandshake, op: str, now_ms: int, args: Args, opened: Signed[RideMessage] | None
) -> list[hs.Action]:
    a: Any = args
    if op == "receive":
        signed = opened or open_ride_message(a[0])
        m = signed.message
        receipt = receipt_half(open_entry(m.entry)).receipt if isinstance(m, ReceiptEntry) else None
        return h.receive(signed, now_ms=now_ms, receipt=receipt)
    if op == "timer":
        return h.timer_fired(now_ms)
    if op == "reveal":
        seed, plat, plon, dlat, dlon = a
        pickup, dropoff = GeoPoint(plat, plon), GeoPoint(dlat, dlon)
        return h.reveal(pickup, dropoff, now_ms=now_ms, rng=random.Random(seed))
    if op == "countersigned_elsewhere":
        receipt = receipt_half(open_entry(a[0])).receipt
        return h.countersigned_elsewhere(a[0], receipt, now_ms=now_ms)
    if op in ("receipt_proposed", "receipt_countersigned"):
        receipt = h.receipt
        assert receipt is not None
        return getattr(h, op)(a[0], receipt, now_ms=now_ms)  # type: ignore[no-any-return]
    if op in ("propose", "accept", "decline", "confirm", "picked_up", "dropped_off", "cancel"):
        if op == "propose":
            return h.propose(now_ms=now_ms, expires_ms=a[0])
        return getattr(h, op)(*a, now_ms=now_ms)  # type: ignore[no-any-return]
    raise BadCommand(describe("journal step", op, "not a step this version knows"))


# -- the durable form


def dump(ride: Ride) -> bytes:
    h = ride.handshake
    # A rider's terms are its own; a driver's come with the proposal it received.
    terms = encode_terms(h.terms) if h.role is Role.RIDER and h.terms is not None else []
    return pack(
        [
            JOURNAL_VERSION,
            h.role.value,
            h.ride_id,
            h.me,
            h.counterparty,
            ride.offer_id,
            ride.request_id,
            terms,
            -1 if ride.ended_ms is None else ride.ended_ms,
            [[op, now, list(args)] for op, now, args in ride.journal],
        ]
    )


def load(data: bytes, policy: HandshakePolicy) -> Ride:
    """Rebuild a ride by replaying its journal (``Persist`` kind ``ride``)."""
    value: Any = msgpack.unpackb(data, use_list=False, raw=False)
    version, role, ride_id, me, counterparty, offer_id, request_id, terms, ended, steps = value
    if version != JOURNAL_VERSION:
        raise BadCommand(
            describe("ride journal version", version, f"this Peer reads {JOURNAL_VERSION}")
        )
    if Role(role) is Role.RIDER:
        handshake = RideHandshake.rider(
            ride_id=ride_id,
            me=PublicKey(me),
            driver=PublicKey(counterparty),
            terms=decode_terms(terms, "journal.terms"),
            policy=policy,
        )
    else:
        handshake = RideHandshake.driver(
            ride_id=ride_id, me=PublicKey(me), rider=PublicKey(counterparty), policy=policy
        )
    ride = Ride(handshake, offer_id, request_id, ended_ms=None if ended < 0 else ended)
    for op, now_ms, args in steps:
        step(ride, op, now_ms, *args)
    return ride
