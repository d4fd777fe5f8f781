"""One ride as this Peer holds it: the handshake, and what the Peer knows around it."""

from __future__ import annotations

from dataclasses import dataclass, field

from protocol.fields import PublicKey
from protocol.peer.notices import Match
from protocol.ride.machine import RideHandshake
from protocol.ride.states import ENDED, RideState, Role


@dataclass(slots=True)
class Ride:
    """A ride of the user's, as rider or driver.

    ``match`` is, for a rider, the candidate it proposed on; for a driver,
    the exact check of the revealed points once it passed (pooling plans
    later riders around it). ``ended_ms`` is when the ride reached an end.
    """

    handshake: RideHandshake
    offer_id: bytes
    request_id: bytes
    match: Match | None = None
    ended_ms: int | None = None
    #: Every step the handshake took: ``(op, now_ms, args)`` (see ``journal``).
    journal: list[tuple[str, int, tuple[bytes | int | str, ...]]] = field(default_factory=list)
    #: The journal as last persisted, so an unchanged ride is not written again.
    saved: bytes | None = field(default=None, repr=False)

    @property
    def ride_id(self) -> bytes:
        return self.handshake.ride_id

    @property
    def role(self) -> Role:
        return self.handshake.role

    @property
    def state(self) -> RideState:
        return self.handshake.state

    @property
    def counterparty(self) -> PublicKey:
        return self.handshake.counterparty

    @property
    def ended(self) -> bool:
        return self.handshake.state in ENDED

    @property
    def seats(self) -> int:
        terms = self.handshake.terms
        return 0 if terms is None else terms.seats


@dataclass(frozen=True, slots=True)
class RideView:
    """What ``Peer.rides()`` shows of a ride: a snapshot, safe to keep."""

    ride_id: bytes
    role: Role
    state: RideState
    counterparty: PublicKey
    offer_id: bytes
    request_id: bytes
    seats: int
    pin: str | None
    pickup_ms: int | None
    #: How each party that ended the ride did so: ``(role, reason name)``.
    endings: tuple[tuple[Role, str], ...]

    @classmethod
    def of(cls, ride: Ride) -> RideView:
        hs = ride.handshake
        return cls(
            ride_id=ride.ride_id,
            role=ride.role,
            state=ride.state,
            counterparty=ride.counterparty,
            offer_id=ride.offer_id,
            request_id=ride.request_id,
            seats=ride.seats,
            pin=hs.pin,
            pickup_ms=hs.pickup_ms,
            endings=tuple((e.by, e.message.reason.name) for e in hs.endings),
        )
