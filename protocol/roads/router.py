"""Fastest routes on a ``RoadGraph``: Dijkstra by travel time (rustworkx), cached.

A ``Router`` answers "how do I drive from here to there" for the node's
offers and the simulator's agents. Points are snapped to their nearest node;
a destination that cannot be reached gives ``None``, never an error. Both
point-to-point routes and one-to-all travel times are kept in LRU caches,
since riders and drivers in one area ask about the same places again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar, final

import numpy as np
import numpy.typing as npt
import rustworkx as rx

from protocol.errors import LocalError, describe
from protocol.fields import GeoPoint, Polyline
from protocol.roads.graph import FloatArray, IntArray, RoadGraph

DEFAULT_CACHE_SIZE = 4096
#: One-to-all rows hold a float per node, so far fewer of them are kept.
DEFAULT_ROW_CACHE_SIZE = 64


@dataclass(frozen=True, slots=True)
class Route:
    """A fastest route: the nodes driven through, their points, metres and seconds."""

    nodes: tuple[int, ...]
    points: tuple[GeoPoint, ...]
    length_m: float
    duration_s: float

    def polyline(self) -> Polyline:
        """The route as an offer's polyline (SPEC §3.2)."""
        return Polyline.from_points(self.points)


@dataclass(frozen=True, slots=True)
class CacheInfo:
    """How a router's cache has served so far."""

    hits: int
    misses: int
    size: int
    capacity: int


_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V")


class _LRU(Generic[_K, _V]):
    """A bounded mapping that forgets the least recently used entry first."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.data: OrderedDict[_K, _V] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: _K) -> tuple[bool, _V | None]:
        try:
            value = self.data[key]
        except KeyError:
            self.misses += 1
            return False, None
        self.hits += 1
        self.data.move_to_end(key)
        return True, value

    def put(self, key: _K, value: _V) -> None:
        if self.capacity <= 0:
            return
        self.data[key] = value
        self.data.move_to_end(key)
        while len(self.data) > self.capacity:
            self.data.popitem(last=False)


@final
class Router:
    """Fastest routes on one graph, keeping the last ``cache_size`` routes in memory."""

    def __init__(
        self,
        graph: RoadGraph,
        cache_size: int = DEFAULT_CACHE_SIZE,
        row_cache_size: int = DEFAULT_ROW_CACHE_SIZE,
    ) -> None:
        for name, size in (("cache_size", cache_size), ("row_cache_size", row_cache_size)):
            if size < 0:
                raise LocalError(describe(name, size, "must be >= 0"))
        self.graph = graph
        self._rx: rx.PyDiGraph = rx.PyDiGraph(multigraph=False)
        self._rx.add_nodes_from(range(len(graph)))
        self._rx.add_edges_from(
            list(
                zip(
                    graph.edge_src.tolist(),
                    graph.edge_dst.tolist(),
                    graph.duration_s.tolist(),
                    strict=True,
                )
            )
        )
        # Edges are sorted by (src, dst), so this key finds an edge by binary search.
        self._keys = graph.edge_src * len(graph) + graph.edge_dst
        self._routes: _LRU[tuple[int, int], Route | None] = _LRU(cache_size)
        self._rows: _LRU[int, FloatArray] = _LRU(row_cache_size)

    def node_of(self, place: GeoPoint | int) -> int:
        """A node index as is (checked), or the node nearest a point."""
        if isinstance(place, GeoPoint):
            return self.graph.nearest(place)
        return self.graph.check_node(place)

    def route(self, origin: GeoPoint | int, destination: GeoPoint | int) -> Route | None:
        """The fastest route between two nodes (or the nodes nearest two points).

        ``None`` when no road leads from one to the other.
        """
        key = (self.node_of(origin), self.node_of(destination))
        found, cached = self._routes.get(key)
        if found:
            return cached
        route = self._shortest(*key)
        self._routes.put(key, route)
        return route

    def durations_from(self, origin: GeoPoint | int) -> FloatArray:
        """Seconds from ``origin`` to every node (``inf`` where unreachable); read-only."""
        node = self.node_of(origin)
        found, cached = self._rows.get(node)
        if found and cached is not None:
            return cached
        lengths = rx.digraph_dijkstra_shortest_path_lengths(self._rx, node, float)
        row = np.full(len(self.graph), np.inf)
        row[node] = 0.0
        if len(lengths):
            row[np.fromiter(lengths.keys(), np.int64, len(lengths))] = np.fromiter(
                lengths.values(), np.float64, len(lengths)
            )
        row.flags.writeable = False
        self._rows.put(node, row)
        return row

    def cache_info(self) -> CacheInfo:
        """Hits and misses of the route cache."""
        r = self._routes
        return CacheInfo(r.hits, r.misses, len(r.data), r.capacity)

    def _shortest(self, a: int, b: int) -> Route | None:
        if a == b:
            return Route((a,), (self.graph.point(a),), 0.0, 0.0)
        paths = rx.digraph_dijkstra_shortest_paths(self._rx, a, target=b, weight_fn=float)
        if b not in paths:
            return None
        nodes: IntArray = np.asarray(paths[b], dtype=np.int64)
        edges = np.searchsorted(self._keys, nodes[:-1] * len(self.graph) + nodes[1:])
        coords: npt.NDArray[np.int64] = self.graph.coords_e6[nodes]
        return Route(
            nodes=tuple(nodes.tolist()),
            points=tuple(GeoPoint(int(lat), int(lon)) for lat, lon in coords),
            length_m=float(self.graph.edge_length_cm[edges].sum()) / 100.0,
            duration_s=float(self.graph.duration_s[edges].sum()),
        )
