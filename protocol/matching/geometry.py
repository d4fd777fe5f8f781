"""Route geometry for matching: point-to-route distance, position along, reach.

One set of formulas serves the one-pair rule and the vectorised index, so
both decide every pair with bit-identical floats (docs/matching.md §Geometry).
They are written out here rather than delegated to GEOS so that a second
implementation can reproduce them from the docs alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely

from protocol.errors import BadGeometry, describe

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
#: A point's coordinate: one number broadcast over segments, or one per segment.
Coord = FloatArray | np.float64

#: Slack added to reach radii so that rounding never makes coarse stricter than exact.
REACH_PAD_M = 1e-3


@dataclass(frozen=True, slots=True)
class RouteGeometry:
    """A route's segments as arrays: start ``(ax, ay)``, vector ``(dx, dy)``, lengths.

    ``cum_m[k]`` is the distance along the route to the start of segment ``k``;
    ``length_m`` is the sum of segment lengths, added in route order;
    ``bounds`` is ``(min_x, min_y, max_x, max_y)``.
    """

    ax: FloatArray
    ay: FloatArray
    dx: FloatArray
    dy: FloatArray
    len2: FloatArray
    inv_len2: FloatArray  # 1 / len2, or 0 for a zero-length segment
    seg_m: FloatArray
    cum_m: FloatArray
    length_m: float
    bounds: tuple[float, float, float, float]

    @classmethod
    def of(cls, route: shapely.LineString) -> RouteGeometry:
        xy = np.asarray(shapely.get_coordinates(route), dtype=np.float64)
        if len(xy) < 2:
            raise BadGeometry(describe("route", f"<{len(xy)} vertices>", "needs at least 2"))
        dx = xy[1:, 0] - xy[:-1, 0]
        dy = xy[1:, 1] - xy[:-1, 1]
        len2 = dx * dx + dy * dy
        seg_m = np.sqrt(len2)
        inv_len2 = np.divide(1.0, len2, out=np.zeros_like(len2), where=len2 > 0)
        ends = np.cumsum(seg_m)
        length_m = float(ends[-1])
        if not length_m > 0:
            raise BadGeometry(describe("route", "<0 m>", "must have a positive length"))
        cum_m = np.concatenate(([0.0], ends[:-1]))
        lo = xy.min(axis=0)
        hi = xy.max(axis=0)
        bounds = (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))
        ax, ay = xy[:-1, 0].copy(), xy[:-1, 1].copy()
        return cls(ax, ay, dx, dy, len2, inv_len2, seg_m, cum_m, length_m, bounds)

    def box_distance_m(self, x: float, y: float) -> float:
        """Distance from ``(x, y)`` to the route's bounding box: never more than to the route."""
        min_x, min_y, max_x, max_y = self.bounds
        return math.hypot(max(min_x - x, 0.0, x - max_x), max(min_y - y, 0.0, y - max_y))


def segment_distance2(
    px: Coord,
    py: Coord,
    ax: FloatArray,
    ay: FloatArray,
    dx: FloatArray,
    dy: FloatArray,
    inv_len2: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Elementwise squared distance from point ``p`` to a segment, and where (0..1) it is nearest.

    Squared, so that only the nearest segment's root is taken; the position
    along the route there is ``cum_m + r * seg_m``. Written with in-place
    operations: this is the innermost loop of the index.
    """
    wx = px - ax
    wy = py - ay
    r = wx * dx
    r += wy * dy
    # A zero-length segment has inv_len2 = 0, so r = 0: its start point.
    r *= inv_len2
    np.clip(r, 0.0, 1.0, out=r)
    t = r * dx
    wx -= t
    np.multiply(r, dy, out=t)
    wy -= t
    wx *= wx
    wy *= wy
    wx += wy
    return wx, r


def reach_on_segments(
    cx: Coord,
    cy: Coord,
    rho: Coord,
    ax: FloatArray,
    ay: FloatArray,
    dx: FloatArray,
    dy: FloatArray,
    len2: FloatArray,
    seg_m: FloatArray,
    cum_m: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Elementwise along-route interval of a segment lying within ``rho`` of ``c``.

    Empty intervals come back as ``(+inf, -inf)`` so that min/max reductions skip them.
    """
    wx = cx - ax
    wy = cy - ay
    dot = wx * dx + wy * dy
    ww = wx * wx + wy * wy
    disc = dot * dot - len2 * (ww - rho * rho)
    root = np.sqrt(np.maximum(disc, 0.0))
    safe = np.where(len2 > 0, len2, 1.0)
    r1 = np.where(len2 > 0, (dot - root) / safe, 0.0)
    r2 = np.where(len2 > 0, (dot + root) / safe, 0.0)
    hit = np.where(len2 > 0, (disc >= 0) & (r1 <= 1.0) & (r2 >= 0.0), ww <= rho * rho)
    lo = np.where(hit, cum_m + np.maximum(r1, 0.0) * seg_m, np.inf)
    hi = np.where(hit, cum_m + np.minimum(r2, 1.0) * seg_m, -np.inf)
    return lo, hi


def point_to_route(g: RouteGeometry, x: float, y: float) -> tuple[float, float]:
    """Distance from ``(x, y)`` to the route and the position along it of the nearest point.

    Ties go to the earliest segment, as the vectorised index does.
    """
    d2, r = segment_distance2(np.float64(x), np.float64(y), g.ax, g.ay, g.dx, g.dy, g.inv_len2)
    k = int(np.argmin(d2))  # argmin returns the first of equal minima
    return math.sqrt(d2[k]), float(g.cum_m[k] + r[k] * g.seg_m[k])


def reach_along(g: RouteGeometry, x: float, y: float, rho: float) -> tuple[float, float]:
    """The stretch ``[lo, hi]`` of route positions within ``rho`` of ``(x, y)``, padded."""
    lo, hi = reach_on_segments(
        np.float64(x), np.float64(y), np.float64(rho + REACH_PAD_M),
        g.ax, g.ay, g.dx, g.dy, g.len2, g.seg_m, g.cum_m,
    )  # fmt: skip
    return clamp_reach(float(lo.min()), float(hi.max()), g.length_m)


def clamp_reach(lo: float, hi: float, length_m: float) -> tuple[float, float]:
    """Pad a reach interval by ``REACH_PAD_M`` and keep it on the route."""
    return max(lo - REACH_PAD_M, 0.0), min(hi + REACH_PAD_M, length_m)
