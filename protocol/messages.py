"""Protocol messages: what peers say to each other, independent of encoding.

A message does not know about msgpack (see ``codec``) nor about signatures
(see ``envelope``); its author is the envelope's signer, so no body repeats
the author key (SPEC §4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from protocol.fields import CostShare, H3Cell, Polyline, TimeWindow


@dataclass(frozen=True, slots=True)
class Message:
    """Base of every message kind; ``KIND`` is its name on the wire."""

    KIND: ClassVar[str] = ""


@dataclass(frozen=True, slots=True)
class RideOffer(Message):
    """A driver sharing free seats along a route (SPEC §4.1).

    ``route`` is the published route, with both ends already cut by the
    privacy zone. ``departure`` is when the driver leaves the route's first
    published vertex; ``duration_s`` is the driver's estimate for driving the
    whole published route. ``seq`` grows with each update of ``offer_id``.
    """

    KIND: ClassVar[str] = "ride.offer"

    offer_id: bytes
    seq: int
    created_ms: int
    expires_ms: int
    route: Polyline
    departure: TimeWindow
    duration_s: int
    seats: int
    max_detour_m: int
    max_detour_s: int
    cost: CostShare


@dataclass(frozen=True, slots=True)
class RideRequest(Message):
    """A rider looking for a seat; places are coarse H3 cells (SPEC §4.2).

    Exact pickup and drop-off are revealed only to a matched driver, over a
    direct stream. ``window`` bounds the pickup time; ``max_walk_m`` is how far
    the rider will walk to meet the route.
    """

    KIND: ClassVar[str] = "ride.request"

    request_id: bytes
    seq: int
    created_ms: int
    expires_ms: int
    pickup_cell: H3Cell
    dropoff_cell: H3Cell
    window: TimeWindow
    seats: int
    max_walk_m: int


GossipMessage = RideOffer | RideRequest

#: Every message kind of protocol version 1, by wire name.
KINDS: dict[str, type[Message]] = {cls.KIND: cls for cls in (RideOffer, RideRequest)}
