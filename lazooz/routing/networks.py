"""The road network a node routes on by default, chosen by its home (docs/app.md).

1. An embedded extract (``protocol/roads/data/*.roads``, e.g. central
   Helsinki) whose bounding box, widened by ``COVER_MARGIN_M``, holds home.
2. Else a synthetic grid of streets laid around home (``grid_around``):
   not real roads, but routes with a city's shape, length and speeds, so
   costs and matching behave as in a city. A node that wants real streets
   anywhere sets ``[router] backend = "osrm"``.

The grid is built here rather than imported from the simulator's city
models because the node and the simulator are independent shells; both
build on ``protocol.roads.RoadGraph``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from typing import Any

from protocol.fields import MICRO, GeoPoint
from protocol.roads import RoadGraph, Router, grid_graph

#: How far beyond an extract's last node home may lie and still use it.
COVER_MARGIN_M = 1_000.0
#: The grid laid around a home no extract covers: 6 km square, 200 m blocks (961 corners).
GRID_SIZE_M = 6_000.0
GRID_BLOCK_M = 200.0
#: Every fifth street is an arterial.
GRID_ARTERIAL_EVERY = 5
GRID_ARTERIAL_KMH = 50
GRID_STREET_KMH = 30
GRID_ATTRIBUTION = "synthetic street grid around your home (not real roads)"


@dataclass(frozen=True, slots=True)
class Network:
    """A road graph, a router on it, and what the map draws of it."""

    graph: RoadGraph
    router: Router

    @property
    def name(self) -> str:
        return self.graph.name

    @property
    def attribution(self) -> str:
        return self.graph.attribution

    @property
    def bounds(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """``((south, west), (north, east))`` in degrees."""
        lo = self.graph.coords_e6.min(axis=0) / MICRO
        hi = self.graph.coords_e6.max(axis=0) / MICRO
        return (float(lo[0]), float(lo[1])), (float(hi[0]), float(hi[1]))

    def covers(self, point: GeoPoint, margin_m: float = COVER_MARGIN_M) -> bool:
        (south, west), (north, east) = self.bounds
        dlat = margin_m / 111_320.0
        dlon = margin_m / (111_320.0 * max(0.01, math.cos(math.radians(point.lat))))
        return south - dlat <= point.lat <= north + dlat and west - dlon <= point.lon <= east + dlon

    def geojson(self) -> dict[str, Any]:
        """Every road once (a two-way road is one segment), as one GeoJSON MultiLineString."""
        g = self.graph
        src, dst = g.edge_src, g.edge_dst
        # A two-way road is two edges; draw the pair once (src < dst, or one-way either way).
        pairs = set(zip(src.tolist(), dst.tolist(), strict=True))
        keep = [(a, b) for a, b in pairs if a < b or (b, a) not in pairs]
        deg = g.coords_e6 / MICRO
        lines = [
            [
                [round(float(deg[a, 1]), 6), round(float(deg[a, 0]), 6)],
                [round(float(deg[b, 1]), 6), round(float(deg[b, 0]), 6)],
            ]
            for a, b in sorted(keep)
        ]
        return {
            "type": "FeatureCollection",
            "name": g.name,
            "attribution": g.attribution,
            "features": [
                {
                    "type": "Feature",
                    "properties": {"name": g.name},
                    "geometry": {"type": "MultiLineString", "coordinates": lines},
                }
            ],
        }


def embedded() -> list[Network]:
    """Every road graph lazooz ships, decoded."""
    data = resources.files("protocol.roads") / "data"
    out = []
    for entry in sorted(data.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".roads"):
            graph = RoadGraph.decode(entry.read_bytes())
            out.append(Network(graph, Router(graph)))
    return out


def grid_around(home: GeoPoint) -> Network:
    """A square grid of two-way streets centred on ``home`` (``GRID_*`` above)."""
    graph = grid_graph(
        home,
        round(GRID_SIZE_M / GRID_BLOCK_M) + 1,
        GRID_BLOCK_M,
        GRID_ARTERIAL_EVERY,
        GRID_ARTERIAL_KMH,
        GRID_STREET_KMH,
        name="grid",
        attribution=GRID_ATTRIBUTION,
    )
    return Network(graph, Router(graph))


def for_home(home: GeoPoint) -> Network:
    """The embedded network covering ``home``, else a grid around it."""
    for network in embedded():
        if network.covers(home):
            return network
    return grid_around(home)
