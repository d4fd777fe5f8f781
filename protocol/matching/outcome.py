"""What matching says about a pair: a ``Candidate`` to show, or a ``Rejected`` with the reason."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from protocol.fields import TimeWindow


@dataclass(frozen=True, slots=True)
class Candidate:
    """A feasible (offer, request) pair, with the numbers a rider and driver would see.

    Positions are metres along the offer's route; ``pickup_ms`` is the
    estimated pickup time; ``score`` ranks candidates, lower is better. For a
    coarse request every number is the optimistic estimate (docs/matching.md).

    The fields after ``cost_minor`` carry what pooling needs to re-plan the
    ride when another rider joins: the rider's seats and window, each stop's
    share of the detour, and the stretch of route the pickup could lie on
    (a single point once exact places are revealed).
    """

    offer_id: bytes
    request_id: bytes
    score: float
    pickup_along_m: float
    dropoff_along_m: float
    walk_m: float
    detour_m: float
    detour_s: float
    wait_s: float
    pickup_ms: int
    shared_m: float
    cost_minor: int
    seats: int
    window: TimeWindow
    pickup_detour_m: float
    dropoff_detour_m: float
    pickup_reach_m: tuple[float, float]

    @property
    def rank_key(self) -> tuple[float, bytes, bytes]:
        """Ranking order: score, then offer id, then request id (deterministic ties)."""
        return (self.score, self.offer_id, self.request_id)


class Misfit(enum.Enum):
    """Why a pair does not fit, in the order the rule checks (docs/matching.md)."""

    SEATS = "seats"
    TIME = "time"
    OFF_CORRIDOR = "off_corridor"
    WRONG_DIRECTION = "wrong_direction"
    TOO_SHORT = "too_short"
    DETOUR = "detour"


@dataclass(frozen=True, slots=True)
class Rejected:
    """A pair that does not fit; ``detail`` names the numbers and the limit that failed."""

    offer_id: bytes
    request_id: bytes
    misfit: Misfit
    detail: str
