"""A directed road network: nodes at microdegree points, edges with length and speed.

The same graph serves the node's router and the simulator, so it is sans-IO:
it is built from arrays (``RoadGraph.build``) or from its canonical bytes
(``protocol.roads.encoding``), never from a file. Edges are kept sorted by
``(src, dst)`` and unique, which makes the encoding canonical.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TypeVar, final

import h3.api.basic_int as h3i
import numpy as np
import numpy.typing as npt
import pyproj
import shapely

from protocol.errors import BadGeometry, InvalidMessage, LocalError, describe
from protocol.fields import MICRO, GeoPoint
from protocol.geo import LocalProjection

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Most nodes a graph may have (a metropolitan area's drivable network is ~1 M).
MAX_NODES = 4_000_000
#: Most directed edges a graph may have.
MAX_EDGES = 12_000_000
#: Speeds are whole km/h, stored in one byte.
MAX_SPEED_KMH = 255
#: Name and attribution fit the wire's string limit (``protocol.wire``).
MAX_TEXT_BYTES = 64
#: Lengths are whole centimetres, stored in 32 bits (up to ~42,949 km per edge).
MAX_LENGTH_CM = 2**32 - 1

_GEOD = pyproj.Geod(ellps="WGS84")


class UnknownNode(LocalError):
    """A node index that is not in the graph."""

    reason = "unknown_node"


def geodesic_cm(coords_e6: IntArray, src: IntArray, dst: IntArray) -> FloatArray:
    """Geodesic length in centimetres of each straight edge ``src[i] -> dst[i]``."""
    if len(src) == 0:
        return np.zeros(0)
    lat = coords_e6[:, 0] / MICRO
    lon = coords_e6[:, 1] / MICRO
    _, _, dist = _GEOD.inv(lon[src], lat[src], lon[dst], lat[dst])
    return np.asarray(dist, dtype=np.float64) * 100.0


@final
class RoadGraph:
    """Nodes (``len(graph)`` of them, indexed from 0) and directed edges between them.

    Each edge has a length in whole centimetres, never shorter than the
    straight line between its ends, and a speed in whole km/h; its travel
    time is ``length / speed``. Build one with ``build`` or ``from_arrays``,
    or decode one with ``protocol.roads.encoding.decode``.
    """

    __slots__ = (
        "_projection",
        "_tree",
        "_xy",
        "attribution",
        "coords_e6",
        "duration_s",
        "edge_dst",
        "edge_length_cm",
        "edge_speed_kmh",
        "edge_src",
        "name",
    )

    name: str
    attribution: str
    coords_e6: IntArray
    edge_src: IntArray
    edge_dst: IntArray
    edge_length_cm: IntArray
    edge_speed_kmh: IntArray
    duration_s: FloatArray

    def __init__(
        self,
        name: str,
        attribution: str,
        coords_e6: IntArray,
        edge_src: IntArray,
        edge_dst: IntArray,
        edge_length_cm: IntArray,
        edge_speed_kmh: IntArray,
    ) -> None:
        # Private: callers use build/from_arrays/decode, which validate first.
        self.name = name
        self.attribution = attribution
        self.coords_e6 = _frozen(coords_e6)
        self.edge_src = _frozen(edge_src)
        self.edge_dst = _frozen(edge_dst)
        self.edge_length_cm = _frozen(edge_length_cm)
        self.edge_speed_kmh = _frozen(edge_speed_kmh)
        self.duration_s = _frozen(
            edge_length_cm.astype(np.float64) / 100.0 / (edge_speed_kmh.astype(np.float64) / 3.6)
        )
        self._projection: LocalProjection | None = None
        self._xy: FloatArray | None = None
        self._tree: shapely.STRtree | None = None

    # -- construction

    @classmethod
    def build(
        cls,
        points: Sequence[GeoPoint],
        edges: Iterable[tuple[int, int, int]],
        *,
        name: str = "",
        attribution: str = "",
    ) -> RoadGraph:
        """A graph of straight edges ``(src, dst, speed_kmh)``; lengths are geodesic.

        Lengths are rounded *up* to the centimetre, so a route is never shorter
        than the straight line between its ends. A pair given twice keeps its
        faster edge.
        """
        coords = np.array([(p.lat_e6, p.lon_e6) for p in points], dtype=np.int64).reshape(-1, 2)
        triples = np.array(list(edges), dtype=np.int64).reshape(-1, 3)
        src, dst, speed = triples[:, 0], triples[:, 1], triples[:, 2]
        _check_nodes(coords)
        _check_edges(len(coords), src, dst, np.ones_like(src), speed)
        length = np.ceil(geodesic_cm(coords, src, dst)).astype(np.int64)
        return cls.from_arrays(coords, src, dst, np.maximum(length, 1), speed, name, attribution)

    @classmethod
    def from_arrays(
        cls,
        coords_e6: IntArray,
        src: IntArray,
        dst: IntArray,
        length_cm: IntArray,
        speed_kmh: IntArray,
        name: str = "",
        attribution: str = "",
    ) -> RoadGraph:
        """A graph from columns; edges are sorted, and of a repeated pair the faster kept."""
        for field, value in (("name", name), ("attribution", attribution)):
            if len(value.encode()) > MAX_TEXT_BYTES:
                raise InvalidMessage(
                    describe(f"RoadGraph.{field}", value, f"must be at most {MAX_TEXT_BYTES} bytes")
                )
        coords = np.asarray(coords_e6, dtype=np.int64).reshape(-1, 2)
        src, dst, length, speed = (
            np.asarray(a, dtype=np.int64) for a in (src, dst, length_cm, speed_kmh)
        )
        _check_nodes(coords)
        _check_edges(len(coords), src, dst, length, speed)
        _check_lengths(coords, src, dst, length)
        # Order by (src, dst, travel time) and keep the first, i.e. fastest, of each pair.
        order = np.lexsort((length / speed, dst, src))
        src, dst, length, speed = src[order], dst[order], length[order], speed[order]
        keep = np.ones(len(src), dtype=bool)
        keep[1:] = (src[1:] != src[:-1]) | (dst[1:] != dst[:-1])
        return cls(name, attribution, coords, src[keep], dst[keep], length[keep], speed[keep])

    # -- bytes (see protocol.roads.encoding)

    def encode(self) -> bytes:
        """The graph's canonical ``.roads`` bytes."""
        from protocol.roads.encoding import encode

        return encode(self)

    @classmethod
    def decode(cls, data: bytes) -> RoadGraph:
        """A graph from ``.roads`` bytes; bad bytes raise a typed error naming the field."""
        from protocol.roads.encoding import decode

        return decode(data)

    # -- nodes

    def __len__(self) -> int:
        return len(self.coords_e6)

    @property
    def edge_count(self) -> int:
        return len(self.edge_src)

    def point(self, node: int) -> GeoPoint:
        """The position of ``node``."""
        self.check_node(node)
        lat, lon = self.coords_e6[node]
        return GeoPoint(int(lat), int(lon))

    def check_node(self, node: int) -> int:
        if not 0 <= node < len(self):
            raise UnknownNode(describe("node", node, f"must be 0..{len(self) - 1}"))
        return node

    @property
    def centre(self) -> GeoPoint:
        """The middle of the graph's bounding box."""
        lo = self.coords_e6.min(axis=0)
        hi = self.coords_e6.max(axis=0)
        return GeoPoint(int((lo[0] + hi[0]) // 2), int((lo[1] + hi[1]) // 2))

    # -- space: a local metric projection and an STRtree over the nodes

    @property
    def projection(self) -> LocalProjection:
        """The metric frame ``nearest`` and ``nodes_within`` measure in."""
        if self._projection is None:
            self._projection = LocalProjection.around(self.centre)
        return self._projection

    @property
    def xy(self) -> FloatArray:
        """An ``(n, 2)`` array of node positions in metres in ``projection``."""
        if self._xy is None:
            x, y = self.projection.to_metres(
                self.coords_e6[:, 1] / MICRO, self.coords_e6[:, 0] / MICRO
            )
            self._xy = _frozen(np.column_stack((x, y)))
        return self._xy

    def _strtree(self) -> shapely.STRtree:
        if self._tree is None:
            self._tree = shapely.STRtree(np.asarray(shapely.points(self.xy)))
        return self._tree

    def nearest(self, point: GeoPoint) -> int:
        """The node closest to ``point`` (planar distance in ``projection``)."""
        return int(self.nearest_many([point])[0])

    def nearest_many(self, points: Sequence[GeoPoint]) -> IntArray:
        """``nearest`` for many points at once: an int64 array of node indices."""
        if not points:
            return np.zeros(0, dtype=np.int64)
        lat = np.array([p.lat_e6 for p in points], dtype=np.float64) / MICRO
        lon = np.array([p.lon_e6 for p in points], dtype=np.float64) / MICRO
        return self.nearest_xy(np.column_stack(self.projection.to_metres(lon, lat)))

    def nearest_xy(self, xy: FloatArray) -> IntArray:
        """The node closest to each ``(x, y)`` row, in metres of ``projection``."""
        found = self._strtree().nearest(shapely.points(np.asarray(xy, dtype=np.float64)))
        return np.asarray(found, dtype=np.int64)

    def nodes_within(self, point: GeoPoint, radius_m: float) -> tuple[int, ...]:
        """Every node within ``radius_m`` of ``point``, in index order."""
        if not math.isfinite(radius_m) or radius_m < 0:
            raise BadGeometry(describe("radius_m", radius_m, "must be a finite number >= 0"))
        x, y = self.projection.point_xy(point)
        found = self._strtree().query(shapely.Point(x, y), predicate="dwithin", distance=radius_m)
        return tuple(int(i) for i in np.sort(found))

    def cells(self, resolution: int) -> IntArray:
        """The H3 cell (as an int) of every node at ``resolution``: how many places a cell hides."""
        return np.fromiter(
            (
                h3i.latlng_to_cell(lat / MICRO, lon / MICRO, resolution)
                for lat, lon in self.coords_e6.tolist()
            ),
            dtype=np.uint64,
            count=len(self),
        ).astype(np.int64)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RoadGraph):
            return NotImplemented
        return (
            self.name == other.name
            and self.attribution == other.attribution
            and all(
                np.array_equal(a, b) for a, b in zip(self._columns(), other._columns(), strict=True)
            )
        )

    def __hash__(self) -> int:
        return hash((self.name, len(self), self.edge_count))

    def _columns(self) -> tuple[IntArray, ...]:
        return (
            self.coords_e6,
            self.edge_src,
            self.edge_dst,
            self.edge_length_cm,
            self.edge_speed_kmh,
        )

    def __repr__(self) -> str:
        return f"RoadGraph(name={self.name!r}, nodes={len(self)}, edges={self.edge_count})"


_T = TypeVar("_T", bound=np.generic)


def _frozen(a: npt.NDArray[_T]) -> npt.NDArray[_T]:
    a = np.ascontiguousarray(a)
    a.flags.writeable = False
    return a


# -- validation shared by construction and decoding; errors name the element


def _check_nodes(coords: IntArray, field: str = "RoadGraph.nodes") -> None:
    if not 1 <= len(coords) <= MAX_NODES:
        raise BadGeometry(describe(field, f"<{len(coords)} nodes>", f"must be 1..{MAX_NODES}"))
    bad_lat = np.abs(coords[:, 0]) > 90 * MICRO
    bad_lon = np.abs(coords[:, 1]) > 180 * MICRO
    if (bad := np.flatnonzero(bad_lat | bad_lon)).size:
        i = int(bad[0])
        raise BadGeometry(
            describe(f"{field}[{i}]", tuple(int(c) for c in coords[i]), "must lie on the Earth")
        )


def _check_edges(
    n: int,
    src: IntArray,
    dst: IntArray,
    length: IntArray,
    speed: IntArray,
    field: str = "RoadGraph.edges",
) -> None:
    if len(src) > MAX_EDGES:
        raise BadGeometry(describe(field, f"<{len(src)} edges>", f"must be at most {MAX_EDGES}"))
    checks: tuple[tuple[str, IntArray, npt.NDArray[np.bool_], str], ...] = (
        ("src", src, (src < 0) | (src >= n), f"must be a node 0..{n - 1}"),
        ("dst", dst, (dst < 0) | (dst >= n), f"must be a node 0..{n - 1}"),
        ("dst", dst, src == dst, "must differ from src (no loops)"),
        ("length_cm", length, (length < 1) | (length > MAX_LENGTH_CM), "must be 1..2**32-1"),
        ("speed_kmh", speed, (speed < 1) | (speed > MAX_SPEED_KMH), f"must be 1..{MAX_SPEED_KMH}"),
    )
    for name, values, bad, rule in checks:
        if (where := np.flatnonzero(bad)).size:
            i = int(where[0])
            raise BadGeometry(describe(f"{field}[{i}].{name}", int(values[i]), rule))


def _check_lengths(
    coords: IntArray, src: IntArray, dst: IntArray, length: IntArray, field: str = "RoadGraph.edges"
) -> None:
    # An edge shorter than the straight line would let routes beat geometry;
    # 1 cm of slack absorbs float differences between platforms.
    short = length + 1 < geodesic_cm(coords, src, dst)
    if (where := np.flatnonzero(short)).size:
        i = int(where[0])
        straight = geodesic_cm(coords, src[i : i + 1], dst[i : i + 1])[0]
        raise BadGeometry(
            describe(
                f"{field}[{i}].length_cm",
                int(length[i]),
                f"shorter than the straight line between its nodes ({straight:.0f} cm)",
            )
        )
