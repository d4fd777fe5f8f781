"""Straight segments between the clicked points: the router where no road network is known."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from lazooz.routing.plan import DEFAULT_SPEED_KMH, RoutePlan, check_waypoints
from protocol import geo
from protocol.fields import GeoPoint


class StraightBackend:
    """The waypoints as they are, timed at ``speed_kmh``."""

    name = "straight"

    def __init__(self, speed_kmh: float = DEFAULT_SPEED_KMH) -> None:
        self.speed_kmh = speed_kmh

    def route(self, waypoints: Sequence[GeoPoint]) -> RoutePlan:
        check_waypoints(waypoints)
        length_m = sum(geo.distance_m(a, b) for a, b in pairwise(waypoints))
        return RoutePlan(
            points=tuple(waypoints),
            length_m=length_m,
            duration_s=length_m / (self.speed_kmh / 3.6),
            backend=self.name,
        )
