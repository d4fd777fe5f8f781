"""What a ride is about, and the receipt both parties expect at its end (SPEC §7.8)."""

from __future__ import annotations

from dataclasses import dataclass

from protocol.errors import describe
from protocol.fields import CostShare, H3Cell, PublicKey, TimeWindow
from protocol.ledger.receipt import Receipt
from protocol.messages import RideOffer, RideRequest
from protocol.ride.messages import DroppedOff, PickedUp, Propose


@dataclass(frozen=True, slots=True)
class RideTerms:
    """The rider's side of a match: which offer, which request, how many seats,
    the request's coarse cells, pickup window and walk, and the offer's cost
    terms. The rider sends them in its proposal; the driver's Peer checks them
    against its offer before it accepts, and the revealed points against them
    (SPEC §7.2)."""

    offer_id: bytes
    request_id: bytes
    seats: int
    pickup_cell: H3Cell
    dropoff_cell: H3Cell
    cost: CostShare
    window: TimeWindow
    max_walk_m: int

    @classmethod
    def between(cls, offer: RideOffer, request: RideRequest) -> RideTerms:
        """``request`` riding on ``offer``: the offer's cost, everything else the request's."""
        r = request
        return cls(
            offer.offer_id,
            r.request_id,
            r.seats,
            r.pickup_cell,
            r.dropoff_cell,
            offer.cost,
            r.window,
            r.max_walk_m,
        )

    @classmethod
    def of(cls, p: Propose) -> RideTerms:
        """The terms a proposal carries."""
        return cls(
            p.offer_id,
            p.request_id,
            p.seats,
            p.pickup_cell,
            p.dropoff_cell,
            p.cost,
            p.window,
            p.max_walk_m,
        )

    def proposal(self, ride_id: bytes, step: int, expires_ms: int) -> Propose:
        """The ``ride.propose`` that carries these terms (``RideTerms.of`` reads them back)."""
        return Propose(
            ride_id,
            step,
            self.offer_id,
            self.request_id,
            self.seats,
            self.pickup_cell,
            self.dropoff_cell,
            self.cost,
            self.window,
            self.max_walk_m,
            expires_ms,
        )

    def disagreement(self, request: RideRequest) -> str | None:
        """What ``request`` (the rider's, as gossiped) states otherwise than these terms,
        naming the first such field; None when they agree."""
        for name in _FROM_REQUEST:
            mine, theirs = _plain(getattr(self, name)), _plain(getattr(request, name))
            if mine != theirs:
                return describe(f"Propose.{name}", mine, f"the request says {theirs!r}")
        return None


#: The terms that repeat the rider's request (``between``), as the request names them.
_FROM_REQUEST = ("request_id", "seats", "pickup_cell", "dropoff_cell", "window", "max_walk_m")


def _plain(value: object) -> object:
    """A window as its wire pair, so a message shows ``(start_ms, end_ms)``."""
    return (value.start_ms, value.end_ms) if isinstance(value, TimeWindow) else value


def expected_receipt(
    ride_id: bytes,
    terms: RideTerms,
    *,
    driver: PublicKey,
    rider: PublicKey,
    picked_up: PickedUp,
    dropped_off: DroppedOff,
) -> Receipt:
    """The receipt of a finished ride, computed the same way by both parties.

    Times and distance are the driver's, as sent in ``ride.pickedup`` and
    ``ride.droppedoff``; the cost share is the offer's terms for the whole
    booking (not per seat), as matching quotes it.
    """
    return Receipt(
        ride_id=ride_id,
        offer_id=terms.offer_id,
        request_id=terms.request_id,
        driver=driver,
        rider=rider,
        pickup_cell=terms.pickup_cell,
        dropoff_cell=terms.dropoff_cell,
        distance_m=dropped_off.distance_m,
        seats=terms.seats,
        started_ms=picked_up.at_ms,
        ended_ms=dropped_off.at_ms,
        cost=terms.cost,
        cost_minor=terms.cost.for_distance(dropped_off.distance_m),
    )
