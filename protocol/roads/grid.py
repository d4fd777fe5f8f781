"""A synthetic street grid: the simulator's grid city and the node's fallback network.

Deterministic (no randomness): laid out in metres around a centre and
projected to microdegrees, so the same arguments give the same graph, byte for
byte, on every peer. Callers check their own parameters (``sim.city`` names
them as scenario keys); this module only builds.
"""

from __future__ import annotations

import numpy as np

from protocol.fields import GeoPoint
from protocol.geo import LocalProjection
from protocol.roads.graph import RoadGraph


def grid_graph(
    centre: GeoPoint,
    side: int,
    block_m: float,
    arterial_every: int,
    arterial_kmh: int,
    street_kmh: int,
    name: str,
    attribution: str,
) -> RoadGraph:
    """``side`` × ``side`` corners ``block_m`` apart, two-way; node ``row * side + col``.

    Row 0 is in the south. Every ``arterial_every``-th street in each
    direction runs at ``arterial_kmh``, the others at ``street_kmh``.
    """
    offsets = (np.arange(side, dtype=np.float64) - (side - 1) / 2) * block_m
    ys, xs = np.meshgrid(offsets, offsets, indexing="ij")
    lon, lat = LocalProjection.around(centre).to_degrees(xs.ravel(), ys.ravel())
    points = [GeoPoint.from_degrees(a, o) for a, o in zip(lat.tolist(), lon.tolist(), strict=True)]
    edges: list[tuple[int, int, int]] = []
    for row in range(side):
        for col in range(side):
            u = row * side + col
            if col + 1 < side:  # east-west along this row
                speed = arterial_kmh if row % arterial_every == 0 else street_kmh
                edges += [(u, u + 1, speed), (u + 1, u, speed)]
            if row + 1 < side:  # north-south along this column
                speed = arterial_kmh if col % arterial_every == 0 else street_kmh
                edges += [(u, u + side, speed), (u + side, u, speed)]
    return RoadGraph.build(points, edges, name=name, attribution=attribution)
