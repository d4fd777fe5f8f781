"""A route as the node's router gives it, and the backends' common shape."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from lazooz.routing.errors import NoRoute
from protocol.errors import describe
from protocol.fields import CostShare, GeoPoint

#: Speed assumed where a backend knows none (the control API's default for offers too).
DEFAULT_SPEED_KMH = 30.0


@dataclass(frozen=True, slots=True)
class RoutePlan:
    """A drivable polyline through the waypoints, its length and its driving time."""

    points: tuple[GeoPoint, ...]
    length_m: float
    duration_s: float
    #: ``embedded``, ``osrm`` or ``straight``.
    backend: str
    #: The road network's name (``helsinki``, ``grid``), or None for OSRM and straight lines.
    network: str | None = None

    def cost_minor(self, cost: CostShare) -> int:
        """What a rider sharing the whole route pays under ``cost`` (minor units)."""
        return cost.for_distance(self.length_m)


class Backend(Protocol):
    """A way to route: the embedded road network, an OSRM server, or straight lines."""

    name: str

    def route(self, waypoints: Sequence[GeoPoint]) -> RoutePlan:
        """The route through ``waypoints`` in order (2 or more); blocking, call from a thread.

        Raises ``NoRoute`` or ``RouterUnavailable`` naming the waypoint at fault.
        """


def check_waypoints(waypoints: Sequence[GeoPoint], max_points: int = 25) -> None:
    """Refuse fewer than two waypoints, or more than ``max_points``."""
    if len(waypoints) < 2:
        raise NoRoute(describe("waypoints", len(waypoints), "give at least 2 points"))
    if len(waypoints) > max_points:
        raise NoRoute(describe("waypoints", len(waypoints), f"give at most {max_points} points"))


def point_text(p: GeoPoint) -> list[float]:
    """A point as a field value in an error: ``[lat, lon]``, as the API takes it."""
    return [p.lat, p.lon]
