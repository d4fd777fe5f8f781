"""Geography: metric projections, route lengths, H3 cells, area topics, privacy zones.

Distances are computed in metres, never in degrees (SPEC §6.1): geodesic
lengths use ``pyproj.Geod`` on WGS84, and planar work (corridors, matching)
happens in a local azimuthal equidistant projection centred on the area, which
keeps distances within 0.1 % across 100 km of its centre. Validation limits
alone use a cheaper spherical length, computed the same to the bit everywhere
(``spherical_segment_lengths_m``, SPEC §5.7).
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Literal

import h3
import h3.api.basic_int as h3i
import numpy as np
import numpy.typing as npt
import pyproj

from protocol.errors import BadGeometry, describe
from protocol.fields import MICRO, GeoPoint, H3Cell, Polyline

#: Resolution of the cells that name gossip topics (SPEC §4.3): ~250 km² each.
TOPIC_RESOLUTION = 5
#: The two topics of an area cell (SPEC §4.3): ``offers`` carries ``ride.offer``
#: only, ``requests`` ``ride.request`` only, so a member hears only the side it needs.
Side = Literal["offers", "requests"]
SIDES: tuple[Side, ...] = ("offers", "requests")
#: What every area topic name starts with.
AREA_TOPIC_PREFIX = "lazooz/1/rides/"
#: Default resolution of request cells: edge ~1.4 km, ~5 km² (SPEC §4.2).
REQUEST_RESOLUTION = 7

_GEOD = pyproj.Geod(ellps="WGS84")

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def on_earth(lat_e6: int, lon_e6: int) -> bool:
    return -90 * MICRO <= lat_e6 <= 90 * MICRO and -180 * MICRO <= lon_e6 <= 180 * MICRO


def segment_lengths_m(route: Polyline) -> FloatArray:
    """Geodesic length of each segment of ``route``, in metres."""
    lonlat = route.lonlat_degrees()
    if len(lonlat) < 2:
        return np.zeros(0)
    _, _, dist = _GEOD.inv(lonlat[:-1, 0], lonlat[:-1, 1], lonlat[1:, 0], lonlat[1:, 1])
    return np.asarray(dist, dtype=np.float64)


def route_length_m(route: Polyline) -> float:
    return float(segment_lengths_m(route).sum())


# -- spherical lengths for the validation limits (SPEC §5.7)

#: Mean Earth radius R1 = (2a + b) / 3 of WGS84, in metres.
MEAN_EARTH_RADIUS_M = 6_371_008.8
#: ``u * _RAD_PER_HALF_E6`` is half of an angle of ``u`` microdegrees, in radians.
_RAD_PER_HALF_E6 = math.pi / 360_000_000
#: sin x = x (S0 + S1 x^2 + ... + S6 x^12): Taylor through x^13, each coefficient
#: the float64 nearest the exact fraction; relative error < 7e-10 on [0, pi/2].
_SIN_COEFFS = tuple(float(Fraction((-1) ** k, math.factorial(2 * k + 1))) for k in range(7))
#: 2R asin(sqrt(h)) = sqrt(h) (A0 + A1 h + A2 h^2): Taylor through asin's x^5
#: term, times 2R. Error < 2e-16 for segments up to 50 km, 1e-8 at 1000 km;
#: below the truth beyond, but still increasing, so limit checks hold.
_ASIN_2R_COEFFS = tuple(
    float(
        Fraction(str(2 * MEAN_EARTH_RADIUS_M))
        * Fraction(math.factorial(2 * k), 4**k * math.factorial(k) ** 2 * (2 * k + 1))
    )
    for k in range(3)
)


def spherical_segment_lengths_m(coords_e6: IntArray) -> FloatArray:
    """Haversine length on the mean sphere of each segment of ``(lat_e6, lon_e6)`` rows.

    For validation limits only (SPEC §5.7), and exact-deterministic: the same
    vertices give the same bits on every machine. Angles are reduced in
    integers to [0°, 90°]; sin and asin are the fixed polynomials above,
    evaluated with IEEE-754 multiply, add and sqrt alone, which are correctly
    rounded everywhere (numpy's float64 sin and arcsin are not: numpy picks
    a kernel by CPU). Vertices must be on Earth; ``coords_e6`` is int64.
    Within 1e-9 of the exact haversine, and within 0.6 % of the WGS84 geodesic.
    """
    n = len(coords_e6) - 1
    # Rows of (|dlat|, |dlon|) per segment; only their half-angles' sines matter.
    steps = np.abs(coords_e6[1:] - coords_e6[:-1])
    dlon = steps[:, 1]
    # A longitude step and its complement to 360° have the same haversine.
    np.minimum(dlon, 360 * MICRO - dlon, out=dlon)
    # cos(lat) = sin(90° - |lat|), written as a half-angle: 180° - 2 |lat|.
    colat = 180 * MICRO - 2 * np.abs(coords_e6[:, 0])
    x = np.concatenate((steps.ravel(), colat)) * _RAD_PER_HALF_E6
    sines = x * _even_polynomial(x * x, _SIN_COEFFS)
    half_sines = sines[: 2 * n].reshape(n, 2)
    squares = half_sines * half_sines
    cos_lat = sines[2 * n :]
    h = squares[:, 0] + (cos_lat[:-1] * cos_lat[1:]) * squares[:, 1]
    return np.sqrt(h) * _even_polynomial(h, _ASIN_2R_COEFFS)


def _even_polynomial(y: FloatArray, coeffs: tuple[float, ...]) -> FloatArray:
    """``c0 + c1 y + c2 y^2 + ...`` by Horner's rule, one rounding per operation."""
    p = coeffs[-1] * y
    for c in coeffs[-2:0:-1]:
        p += c
        p *= y
    p += coeffs[0]
    return p


def distance_m(a: GeoPoint, b: GeoPoint) -> float:
    """Geodesic distance between two points, in metres."""
    _, _, dist = _GEOD.inv(a.lon, a.lat, b.lon, b.lat)
    return float(dist)


# -- H3 cells


def cell_of(point: GeoPoint, resolution: int = REQUEST_RESOLUTION) -> H3Cell:
    """The H3 cell containing ``point`` at ``resolution``."""
    return H3Cell(h3i.latlng_to_cell(point.lat, point.lon, resolution))


def is_cell(value: int) -> bool:
    return 0 <= value < 2**64 and bool(h3i.is_valid_cell(value))


def cell_resolution(cell: H3Cell) -> int:
    return int(h3i.get_resolution(cell))


def cell_center(cell: H3Cell) -> GeoPoint:
    lat, lon = h3i.cell_to_latlng(cell)
    return GeoPoint.from_degrees(lat, lon)


#: Added to a cell's measured circumradius: edges are geodesic arcs, not chords.
CELL_DISC_MARGIN_M = 1.0


@lru_cache(maxsize=32)
def cell_radius_m(resolution: int) -> float:
    """An upper bound on centre-to-vertex distance of any cell at ``resolution``.

    H3 cells vary in size across the globe by up to ~2x; the average edge
    length times 2 bounds the circumradius everywhere with margin.
    """
    return 2.0 * float(h3.average_hexagon_edge_length(resolution, unit="m"))


def topic_cell(point: GeoPoint) -> H3Cell:
    """The area (res-5 cell) whose gossip topic carries rides at ``point``."""
    return cell_of(point, TOPIC_RESOLUTION)


def area_topic(cell: H3Cell, side: Side) -> str:
    """Gossip topic of one side of an area cell: ``lazooz/1/rides/<h3 hex>/<side>``."""
    if cell_resolution(cell) != TOPIC_RESOLUTION:
        cell = H3Cell(h3i.cell_to_parent(cell, TOPIC_RESOLUTION))
    return f"{AREA_TOPIC_PREFIX}{h3.int_to_str(cell)}/{side}"


def area_topics(cells: tuple[H3Cell, ...], side: Side) -> tuple[str, ...]:
    """``area_topic`` of each of ``cells``, in their order."""
    return tuple(area_topic(c, side) for c in cells)


def topic_side(topic: str) -> Side | None:
    """The side an area topic carries, or ``None`` if ``topic`` is not an area topic."""
    if not topic.startswith(AREA_TOPIC_PREFIX):
        return None
    cell, _, side = topic[len(AREA_TOPIC_PREFIX) :].partition("/")
    if side not in SIDES or not cell:
        return None
    return "offers" if side == "offers" else "requests"


def area_cells_around(point: GeoPoint, rings: int = 1) -> tuple[H3Cell, ...]:
    """The area cell of ``point`` and ``rings`` rings of neighbours, sorted."""
    centre = h3i.latlng_to_cell(point.lat, point.lon, TOPIC_RESOLUTION)
    return tuple(sorted(H3Cell(c) for c in h3i.grid_disk(centre, rings)))


def route_topics(route: Polyline) -> tuple[str, ...]:
    """Topics an offer is published on: the offer topic of every cell of ``route_cells``."""
    return area_topics(route_cells(route), "offers")


def route_cells(route: Polyline) -> tuple[H3Cell, ...]:
    """The area cells an offer is published in: every one its route passes through, sorted.

    The route is sampled every 2 km (SPEC §4.3); wherever two consecutive
    samples lie in different cells, the stretch between them is bisected down
    to ``_CROSSING_TOLERANCE_M``, so a cell whose corner the route clips for
    less than 2 km is found too.
    """
    samples = [
        (lon, lat, int(h3i.latlng_to_cell(lat, lon, TOPIC_RESOLUTION)))
        for lon, lat in _densify_lonlat(route.lonlat_degrees(), step_m=2_000.0)
    ]
    cells = {c for _, _, c in samples}
    for a, b in itertools.pairwise(samples):
        if a[2] != b[2]:
            _cells_between(a, b, cells)
    return tuple(H3Cell(c) for c in sorted(cells))


#: Stretches of route shorter than this are not searched for further cells.
_CROSSING_TOLERANCE_M = 1.0


def _cells_between(
    a: tuple[float, float, int], b: tuple[float, float, int], cells: set[int]
) -> None:
    """Add to ``cells`` the area cells on the geodesic between samples ``a`` and ``b``.

    Cells are convex, so a stretch whose ends lie in one cell stays in it;
    otherwise the midpoint splits the stretch in two.
    """
    stack = [(a, b)]
    while stack:
        (lon0, lat0, c0), (lon1, lat1, c1) = stack.pop()
        if c0 == c1:
            continue
        _, _, d = _GEOD.inv(lon0, lat0, lon1, lat1)
        if d < _CROSSING_TOLERANCE_M:
            continue
        ((lon, lat),) = _GEOD.npts(lon0, lat0, lon1, lat1, 1)
        mid = (lon, lat, int(h3i.latlng_to_cell(lat, lon, TOPIC_RESOLUTION)))
        cells.add(mid[2])
        stack.append(((lon0, lat0, c0), mid))
        stack.append((mid, (lon1, lat1, c1)))


def _densify_lonlat(lonlat: FloatArray, step_m: float) -> FloatArray:
    """The vertices, in route order, with points added at most ``step_m`` apart."""
    out: list[FloatArray] = []
    for (lon0, lat0), (lon1, lat1) in itertools.pairwise(lonlat):
        out.append(np.array([[lon0, lat0]]))
        _, _, d = _GEOD.inv(lon0, lat0, lon1, lat1)
        n = int(d // step_m)
        if n:
            mids = _GEOD.npts(lon0, lat0, lon1, lat1, n)
            out.append(np.asarray(mids, dtype=np.float64).reshape(-1, 2))
    out.append(lonlat[-1:])
    return np.concatenate(out)


# -- local metric projection


@dataclass(frozen=True, slots=True)
class LocalProjection:
    """Azimuthal equidistant projection centred on an area: degrees <-> metres.

    One projection serves one matching area; points more than ~100 km from
    the centre lose accuracy, which is why areas are H3 res-5 neighbourhoods.
    """

    centre: GeoPoint
    _forward: pyproj.Transformer
    _inverse: pyproj.Transformer

    @classmethod
    def around(cls, centre: GeoPoint) -> LocalProjection:
        return _projection(centre.lat_e6, centre.lon_e6)

    def to_metres(self, lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
        x, y = self._forward.transform(lon, lat)
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)

    def to_degrees(self, x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Inverse of ``to_metres``: ``(lon, lat)`` arrays."""
        lon, lat = self._inverse.transform(x, y)
        return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)

    def route_xy(self, route: Polyline) -> FloatArray:
        """An ``(n, 2)`` array of the route's vertices in metres."""
        lonlat = route.lonlat_degrees()
        x, y = self.to_metres(lonlat[:, 0], lonlat[:, 1])
        return np.column_stack((x, y))

    def cell_disc(self, cell: H3Cell) -> tuple[float, float, float]:
        """``(x, y, radius_m)``: the smallest disc about the cell's centre holding the cell.

        Measured in this frame from the cell's own vertices, plus 1 m for the
        bulge of geodesic edges and rounding; about half the worst-case
        ``cell_radius_m`` of the resolution, so coarse matching (SPEC §6)
        promises far fewer rides the exact points then break.
        """
        return _cell_disc(self.centre.lat_e6, self.centre.lon_e6, cell)

    def point_xy(self, point: GeoPoint) -> tuple[float, float]:
        x, y = self.to_metres(np.array([point.lon]), np.array([point.lat]))
        return float(x[0]), float(y[0])


@lru_cache(maxsize=16_384)
def _cell_disc(lat_e6: int, lon_e6: int, cell: H3Cell) -> tuple[float, float, float]:
    # Every request names two cells and every peer of the area projects them;
    # cells repeat (homes, stations), and the answer depends on nothing else.
    projection = _projection(lat_e6, lon_e6)
    cx, cy = projection.point_xy(cell_center(cell))
    boundary = np.array(h3i.cell_to_boundary(cell), dtype=np.float64)
    x, y = projection.to_metres(boundary[:, 1], boundary[:, 0])
    radius = float(np.max(np.hypot(x - cx, y - cy)))
    return cx, cy, radius + CELL_DISC_MARGIN_M


@lru_cache(maxsize=64)
def _projection(lat_e6: int, lon_e6: int) -> LocalProjection:
    # Transformers take ~1 ms to build; areas repeat, so build each once.
    crs = pyproj.CRS.from_proj4(
        f"+proj=aeqd +lat_0={lat_e6 / MICRO} +lon_0={lon_e6 / MICRO} +datum=WGS84 +units=m"
    )
    wgs84 = pyproj.CRS.from_epsg(4326)
    return LocalProjection(
        centre=GeoPoint(lat_e6, lon_e6),
        _forward=pyproj.Transformer.from_crs(wgs84, crs, always_xy=True),
        _inverse=pyproj.Transformer.from_crs(crs, wgs84, always_xy=True),
    )


# -- privacy zone


@dataclass(frozen=True, slots=True)
class PrivacyZone:
    """How much of each end of a route is hidden before an offer is gossiped.

    The cut length is drawn per offer from ``[min_m, max_m]`` along the route,
    so repeated offers from one home do not all end at one circle's edge (the
    weakness of fixed-radius zones in fitness apps). SPEC §4.1.
    """

    min_m: float = 300.0
    max_m: float = 600.0

    def __post_init__(self) -> None:
        if not 0 <= self.min_m <= self.max_m:
            raise BadGeometry(
                describe("PrivacyZone", (self.min_m, self.max_m), "need 0 <= min <= max")
            )


def cut_privacy_zone(route: Polyline, zone: PrivacyZone, rng: random.Random) -> Polyline:
    """``route`` without a random-length stretch at each end (SPEC §4.1).

    Raises ``BadGeometry`` when the route is too short to keep anything after
    both cuts: such a ride would reveal both ends, so it is not offered.
    """
    lengths = segment_lengths_m(route)
    total = float(lengths.sum())
    head = rng.uniform(zone.min_m, zone.max_m)
    tail = rng.uniform(zone.min_m, zone.max_m)
    if head + tail >= total:
        raise BadGeometry(
            describe(
                "route", f"<{total:.0f} m>", f"too short to hide {head + tail:.0f} m of its ends"
            )
        )
    cum = np.concatenate(([0.0], np.cumsum(lengths)))
    lonlat = route.lonlat_degrees()
    start = _point_at(lonlat, cum, head)
    end = _point_at(lonlat, cum, total - tail)
    inner = lonlat[(cum > head) & (cum < total - tail)]
    kept = np.vstack([start, inner, end]) if len(inner) else np.vstack([start, end])
    return Polyline.from_points(GeoPoint.from_degrees(lat, lon) for lon, lat in kept)


def _point_at(lonlat: FloatArray, cum: FloatArray, at_m: float) -> FloatArray:
    """The ``(lon, lat)`` point ``at_m`` metres along the route."""
    i = int(np.searchsorted(cum, at_m, side="right")) - 1
    i = min(max(i, 0), len(lonlat) - 2)
    seg = cum[i + 1] - cum[i]
    if seg <= 0:
        return np.asarray(lonlat[i], dtype=np.float64)
    lon0, lat0 = lonlat[i]
    lon1, lat1 = lonlat[i + 1]
    az, _, _ = _GEOD.inv(lon0, lat0, lon1, lat1)
    lon, lat, _ = _GEOD.fwd(lon0, lat0, az, at_m - cum[i])
    return np.array([lon, lat])
