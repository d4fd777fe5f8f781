"""What a finished ride was, as both of its parties saw it (SPEC §8).

A receipt is the payload both halves of a co-signed ledger record carry: the
proposer writes it into its own log, the counterparty writes the same receipt
into its log with a link back. Places stay coarse (the request's H3 cells):
logs are public, and a ride's exact doorsteps are nobody else's business.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol.fields import CostShare, H3Cell, PublicKey


@dataclass(frozen=True, slots=True)
class Receipt:
    """One ride of ``seats`` passengers from ``driver`` to ``rider``.

    ``distance_m`` is how far the rider rode along the driver's route;
    ``cost_minor`` is what the rider owes the driver, by ``cost`` (settled
    between them; lazooz takes nothing).
    """

    ride_id: bytes
    offer_id: bytes
    request_id: bytes
    driver: PublicKey
    rider: PublicKey
    pickup_cell: H3Cell
    dropoff_cell: H3Cell
    distance_m: int
    seats: int
    started_ms: int
    ended_ms: int
    cost: CostShare
    cost_minor: int
