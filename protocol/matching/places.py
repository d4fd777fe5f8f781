"""Offers and requests as matching sees them: routes and places in local metres."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import shapely

from protocol.errors import BadGeometry, describe
from protocol.fields import CostShare, GeoPoint, H3Cell, TimeWindow
from protocol.geo import LocalProjection
from protocol.matching.geometry import RouteGeometry
from protocol.messages import RideOffer, RideRequest

#: Revealed points may sit this far outside their announced disc (microdegree rounding).
REVEAL_TOLERANCE_M = 1.0


@dataclass(frozen=True, slots=True)
class Place:
    """A place in the local metric frame: the disc of ``radius_m`` around ``(x_m, y_m)``.

    ``radius_m == 0`` is an exact point; a coarse place (an H3 cell) is a
    disc that bounds the cell, so "somewhere in this disc".
    """

    x_m: float
    y_m: float
    radius_m: float = 0.0

    @property
    def exact(self) -> bool:
        return self.radius_m == 0

    def contains(self, x_m: float, y_m: float, tolerance_m: float = 0.0) -> bool:
        return math.hypot(x_m - self.x_m, y_m - self.y_m) <= self.radius_m + tolerance_m


@dataclass(frozen=True, slots=True)
class OpenOffer:
    """A driver's offer, ready to match: the published route in local metres.

    ``geometry`` is derived from ``route`` once, on construction.
    """

    offer_id: bytes
    driver: bytes
    route: shapely.LineString
    departure: TimeWindow
    duration_s: int
    seats: int
    max_detour_m: int
    max_detour_s: int
    cost: CostShare
    geometry: RouteGeometry = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "geometry", RouteGeometry.of(self.route))

    @classmethod
    def from_message(
        cls, offer: RideOffer, driver: bytes, projection: LocalProjection
    ) -> OpenOffer:
        return cls(
            offer_id=offer.offer_id,
            driver=driver,
            route=shapely.LineString(projection.route_xy(offer.route)),
            departure=offer.departure,
            duration_s=offer.duration_s,
            seats=offer.seats,
            max_detour_m=offer.max_detour_m,
            max_detour_s=offer.max_detour_s,
            cost=offer.cost,
        )


@dataclass(frozen=True, slots=True)
class OpenRequest:
    """A rider's request, ready to match: coarse discs from gossip, or revealed points."""

    request_id: bytes
    rider: bytes
    pickup: Place
    dropoff: Place
    window: TimeWindow
    seats: int
    max_walk_m: int

    @classmethod
    def from_message(
        cls, request: RideRequest, rider: bytes, projection: LocalProjection
    ) -> OpenRequest:
        """The coarse request: each cell becomes the disc around its centre that bounds it."""
        return cls(
            request_id=request.request_id,
            rider=rider,
            pickup=_cell_place(request.pickup_cell, projection),
            dropoff=_cell_place(request.dropoff_cell, projection),
            window=request.window,
            seats=request.seats,
            max_walk_m=request.max_walk_m,
        )

    def revealed(
        self, pickup: GeoPoint, dropoff: GeoPoint, projection: LocalProjection
    ) -> OpenRequest:
        """The exact request once the rider reveals points over the direct stream.

        Raises ``BadGeometry`` if a point lies outside the disc announced on
        gossip: the coarse match was made on that disc, so a point outside it
        is a broken promise, not a refinement.
        """
        places = []
        for name, point, announced in (
            ("pickup", pickup, self.pickup),
            ("dropoff", dropoff, self.dropoff),
        ):
            x, y = projection.point_xy(point)
            if not announced.contains(x, y, REVEAL_TOLERANCE_M):
                raise BadGeometry(
                    describe(
                        f"revealed {name}",
                        (point.lat, point.lon),
                        f"lies outside the announced {announced.radius_m:.0f} m disc",
                    )
                )
            places.append(Place(x, y, 0.0))
        return OpenRequest(
            self.request_id,
            self.rider,
            places[0],
            places[1],
            self.window,
            self.seats,
            self.max_walk_m,
        )


def _cell_place(cell: H3Cell, projection: LocalProjection) -> Place:
    return Place(*projection.cell_disc(cell))
