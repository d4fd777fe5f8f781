"""What a ride is about, and the receipt both parties expect at its end (SPEC §7.8)."""

from __future__ import annotations

from dataclasses import dataclass

from protocol.fields import CostShare, H3Cell, PublicKey
from protocol.ledger.receipt import Receipt
from protocol.ride.messages import DroppedOff, PickedUp, Propose


@dataclass(frozen=True, slots=True)
class RideTerms:
    """The rider's side of a match: which offer, which request, how many seats,
    the request's coarse cells and the offer's cost terms. The rider sends
    them in its proposal; the driver's Peer checks them against its offer
    before it accepts."""

    offer_id: bytes
    request_id: bytes
    seats: int
    pickup_cell: H3Cell
    dropoff_cell: H3Cell
    cost: CostShare

    @classmethod
    def of(cls, p: Propose) -> RideTerms:
        return cls(p.offer_id, p.request_id, p.seats, p.pickup_cell, p.dropoff_cell, p.cost)


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
