"""Rating the other party of a done ride, and reading ratings and reputations (SPEC §11.15).

A rating is a ``receipt.rating`` entry in the member's own log, naming its
own half of the ride's co-signed receipt (SPEC §8.7). It is written like a
receipt half: appended, persisted, then announced by the next heads gossip,
so sync carries it to every peer.
"""

from __future__ import annotations

from protocol.envelope import Signed
from protocol.errors import describe
from protocol.ledger.cosign import rating_entry
from protocol.ledger.credit import co_signed
from protocol.ledger.rating import MAX_STARS, MIN_STARS, RideRating
from protocol.ledger.wire import LogEntry, ReceiptHalf
from protocol.peer.actions import Action
from protocol.peer.core import Core
from protocol.peer.errors import AlreadyRatedRide, BadCommand, RideNotDone, UnknownId
from protocol.ride.states import RideState


def rate(core: Core, ride_id: bytes, stars: int, now_ms: int) -> list[Action]:
    """Rate the ride's other party ``stars``; a user command, so errors raise and change nothing."""
    halves = own_halves(core, ride_id)
    ride = core.rides.get(ride_id)
    if ride is None and not halves:
        raise UnknownId(describe("ride_id", ride_id.hex(), "not one of your rides"))
    if type(stars) is not int or not MIN_STARS <= stars <= MAX_STARS:
        raise BadCommand(
            describe("stars", stars, f"must be a whole number {MIN_STARS}..{MAX_STARS}")
        )
    if ride is not None and ride.state is not RideState.DONE:
        raise RideNotDone(
            describe(
                "ride_id", ride_id.hex(), f"is {ride.state.value}: rate a ride once it is done"
            )
        )
    for half in halves:
        given = core.ledger.own_log(core.me).rating_of(half.message.seq)
        if given is not None:
            raise AlreadyRatedRide(
                describe(
                    "ride_id",
                    ride_id.hex(),
                    f"rated {_stars(given)} already (entry {given.message.seq})",
                )
            )
    signed = _co_signed_half(core, halves)
    if signed is None:
        raise RideNotDone(
            describe(
                "ride_id", ride_id.hex(), "has no co-signed receipt yet: rate it once both signed"
            )
        )
    log = core.ledger.own_log(core.me)  # exists: it holds ``signed``
    entry = rating_entry(core.identity, log, signed, stars, now_ms)
    log.append(entry)
    return core.wrote(entry)


def rating_given(core: Core, ride_id: bytes) -> int | None:
    """The stars this member gave the other party of ``ride_id``, or None."""
    log = core.ledger.log(core.me)
    if log is None:
        return None
    for half in own_halves(core, ride_id):
        given = log.rating_of(half.message.seq)
        if given is not None:
            return _stars(given)
    return None


def own_halves(core: Core, ride_id: bytes) -> list[Signed[LogEntry]]:
    """This member's receipt halves of ``ride_id``, oldest first (one, for an honest ride)."""
    log = core.ledger.log(core.me)
    return [
        e
        for e in log or ()
        if isinstance(e.message.payload, ReceiptHalf)
        and e.message.payload.receipt.ride_id == ride_id
    ]


def _co_signed_half(core: Core, halves: list[Signed[LogEntry]]) -> Signed[LogEntry] | None:
    if not halves:
        return None
    ids = {h.message_id for h in halves}
    for proposal, agreement in co_signed(core.ledger):
        for half in (proposal, agreement):
            if half.message_id in ids:
                return half
    return None


def _stars(entry: Signed[LogEntry]) -> int:
    rating = entry.message.payload
    assert isinstance(rating, RideRating)
    return rating.stars
