"""What a rider and a driver say to each other on a ride stream (SPEC §7.2).

Every message names its ride (``ride_id``, 16 random bytes chosen by the
rider) and its place in its sender's sequence (``step``: 0 for a party's first
message in the ride, then 1, 2, ...). Together with the envelope's author they
let a receiver tell a duplicate from a replay from another ride, and notice a
message that arrives before the ones it follows.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from protocol.fields import CostShare, GeoPoint, H3Cell, TimeWindow
from protocol.messages import Message


class DeclineReason(enum.IntEnum):
    """Why a driver says no to a proposal or to the revealed exact points."""

    OTHER = 0
    NO_SEATS = 1
    OFF_ROUTE = 2
    TOO_LATE = 3
    CHANGED_MIND = 4
    UNSAFE = 5


class CancelReason(enum.IntEnum):
    """Why either party calls a ride off."""

    OTHER = 0
    CHANGED_MIND = 1
    NO_SHOW = 2
    TOO_LATE = 3
    TIMEOUT = 4
    UNSAFE = 5
    WRONG_PIN = 6
    DISPUTED = 7


@dataclass(frozen=True, slots=True)
class RideMessage(Message):
    """Base of the handshake messages: every one names its ride and its step."""

    ride_id: bytes
    step: int


@dataclass(frozen=True, slots=True)
class Propose(RideMessage):
    """Rider to driver: a seat on ``offer_id`` for ``request_id``, on these terms.

    The terms are repeated from the gossiped offer and request (the request's
    pickup ``window`` and ``max_walk_m`` too) so that the proposal alone is
    the contract: the driver checks the revealed points against it, and both
    later check the receipt against it.
    """

    KIND: ClassVar[str] = "ride.propose"

    offer_id: bytes
    request_id: bytes
    seats: int
    pickup_cell: H3Cell
    dropoff_cell: H3Cell
    cost: CostShare
    window: TimeWindow
    max_walk_m: int
    expires_ms: int


@dataclass(frozen=True, slots=True)
class Accept(RideMessage):
    """Driver to rider: yes, in principle; now show me where exactly."""

    KIND: ClassVar[str] = "ride.accept"


@dataclass(frozen=True, slots=True)
class Decline(RideMessage):
    """Driver to rider: no, to the proposal or to the revealed points."""

    KIND: ClassVar[str] = "ride.decline"

    reason: DeclineReason


@dataclass(frozen=True, slots=True)
class Reveal(RideMessage):
    """Rider to driver only: exact pickup and drop-off, and the pickup PIN's hash."""

    KIND: ClassVar[str] = "ride.reveal"

    pickup: GeoPoint
    dropoff: GeoPoint
    pin_hash: bytes


@dataclass(frozen=True, slots=True)
class Confirm(RideMessage):
    """Driver to rider: the exact points fit; I will be at the pickup at ``pickup_ms``."""

    KIND: ClassVar[str] = "ride.confirm"

    pickup_ms: int


@dataclass(frozen=True, slots=True)
class PickedUp(RideMessage):
    """Driver to rider: the rider is aboard; ``pin`` is what the rider said."""

    KIND: ClassVar[str] = "ride.pickedup"

    pin: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class DroppedOff(RideMessage):
    """Driver to rider: the ride ended at ``at_ms`` after ``distance_m`` along the route."""

    KIND: ClassVar[str] = "ride.droppedoff"

    at_ms: int
    distance_m: int


@dataclass(frozen=True, slots=True)
class ReceiptEntry(RideMessage):
    """One signed half of the ride's receipt: the driver's proposal, or the
    rider's countersignature. ``entry`` is a ledger log entry, opaque here."""

    KIND: ClassVar[str] = "ride.receipt"

    entry: bytes


@dataclass(frozen=True, slots=True)
class Cancel(RideMessage):
    """Either party: the ride is off."""

    KIND: ClassVar[str] = "ride.cancel"

    reason: CancelReason


#: Messages that end a ride without a receipt.
EndMessage = Decline | Cancel

RIDE_MESSAGES: tuple[type[RideMessage], ...] = (
    Propose,
    Accept,
    Decline,
    Reveal,
    Confirm,
    PickedUp,
    DroppedOff,
    ReceiptEntry,
    Cancel,
)

#: What a ride stream carries, by wire name: ``check_header(env, RIDE_KINDS)``.
RIDE_KINDS: dict[str, type[Message]] = {cls.KIND: cls for cls in RIDE_MESSAGES}
