"""Routing on the embedded road network (``protocol.roads``): snap each waypoint, join the legs."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from lazooz.routing.errors import NoRoute
from lazooz.routing.networks import Network
from lazooz.routing.plan import RoutePlan, check_waypoints, point_text
from protocol import geo
from protocol.errors import describe
from protocol.fields import GeoPoint

#: A waypoint farther than this from every road of the network is refused, not snapped.
MAX_SNAP_M = 500.0


class EmbeddedBackend:
    """Shortest drives on ``network``; each waypoint goes to its nearest road node."""

    name = "embedded"

    def __init__(self, network: Network, max_snap_m: float = MAX_SNAP_M) -> None:
        self.network = network
        self.max_snap_m = max_snap_m

    def snap(self, field: str, point: GeoPoint) -> int:
        """The network node nearest ``point``; ``NoRoute`` when it is beyond ``max_snap_m``."""
        graph = self.network.graph
        node = graph.nearest(point)
        off_m = geo.distance_m(point, graph.point(node))
        if off_m > self.max_snap_m:
            raise NoRoute(
                describe(
                    field,
                    point_text(point),
                    f"is {off_m:.0f} m from the nearest road of the {self.network.name} network "
                    f"(at most {self.max_snap_m:.0f} m): pick a point on a road",
                )
            )
        return node

    def route(self, waypoints: Sequence[GeoPoint]) -> RoutePlan:
        check_waypoints(waypoints)
        nodes = [self.snap(f"waypoints[{i}]", p) for i, p in enumerate(waypoints)]
        points: list[GeoPoint] = []
        length_m = duration_s = 0.0
        for i, (a, b) in enumerate(pairwise(nodes)):
            if a == b:
                continue  # two clicks on the same corner: no leg
            leg = self.network.router.route(a, b)
            if leg is None:
                raise NoRoute(
                    describe(
                        f"waypoints[{i + 1}]",
                        point_text(waypoints[i + 1]),
                        f"no road of the {self.network.name} network leads there from "
                        f"waypoints[{i}]",
                    )
                )
            leg_points = list(leg.points)
            points.extend(leg_points[1:] if points else leg_points)
            length_m += leg.length_m
            duration_s += leg.duration_s
        if len(points) < 2:
            raise NoRoute(
                describe("waypoints", len(waypoints), "all snap to one road node: spread them out")
            )
        return RoutePlan(
            tuple(points), length_m, duration_s, backend=self.name, network=self.network.name
        )
