"""Every indexed route's segments in padded tables, for geometry on many pairs at once.

Routes are grouped by segment count into widths at most a quarter apart
(12, 16, 20, ... then 40, 48, ...); a route's row is padded by repeating
its last segment, which changes no minimum, maximum or first-nearest
segment. A batch of pairs then gathers whole rows and
broadcasts each pair's point over them, with no per-segment index arrays.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from protocol.matching.geometry import (
    REACH_PAD_M,
    FloatArray,
    IntArray,
    RouteGeometry,
    reach_on_segments,
    segment_distance2,
)

#: Pair-segment cells processed at once: bounds temporary arrays at ~100 MB.
CHUNK_CELLS = 1 << 20

#: Runs of segments each route's box is split into, for a tighter test than one box.
PIECES = 8

_FIELDS = ("ax", "ay", "dx", "dy", "len2", "inv_len2", "seg_m", "cum_m")


class SegmentTable:
    """Segments of many routes, addressed by route number."""

    def __init__(self, routes: Sequence[RouteGeometry]) -> None:
        counts = np.array([len(g.ax) for g in routes], dtype=np.int64)
        widths = np.array([_width(int(n)) for n in counts], dtype=np.int64)
        self.length_m = np.array([g.length_m for g in routes], dtype=np.float64)
        self._group = np.zeros(len(routes), dtype=np.int64)
        self._row = np.zeros(len(routes), dtype=np.int64)
        self._tables: list[dict[str, FloatArray]] = []
        for group, width in enumerate(np.unique(widths).tolist()):
            members = np.flatnonzero(widths == width)
            self._group[members] = group
            self._row[members] = np.arange(len(members))
            table = {name: np.empty((len(members), width)) for name in _FIELDS}
            for row, i in enumerate(members.tolist()):
                g, n = routes[i], int(counts[i])
                for name in _FIELDS:
                    values = getattr(g, name)
                    table[name][row, :n] = values
                    table[name][row, n:] = values[-1]
            self._tables.append(table)
        self.piece_bounds = self._piece_bounds(len(routes))

    def _piece_bounds(self, n: int) -> FloatArray:
        """``(n, PIECES, 4)``: bounds of each of ``PIECES`` runs of each route's segments.

        Boxes of route pieces hug a winding route far closer than one box,
        so they reject most pairs whose point is inside the route's box but
        nowhere near the route, before any per-segment work.
        """
        out = np.empty((n, PIECES, 4))
        for group, table in enumerate(self._tables):
            members = np.flatnonzero(self._group == group)
            rows = self._row[members]
            x0, y0 = table["ax"][rows], table["ay"][rows]
            x1, y1 = x0 + table["dx"][rows], y0 + table["dy"][rows]
            width = x0.shape[1]
            starts = np.arange(PIECES) * width // PIECES  # repeats when width < PIECES: harmless
            for k, (ufunc, a, b) in enumerate(
                (
                    (np.minimum, x0, x1),
                    (np.minimum, y0, y1),
                    (np.maximum, x0, x1),
                    (np.maximum, y0, y1),
                )
            ):
                out[members, :, k] = ufunc.reduceat(ufunc(a, b), starts, axis=1)
        return out

    def _batches(self, routes: IntArray) -> list[tuple[IntArray, IntArray, dict[str, FloatArray]]]:
        """``(pair indices, table rows, table)`` per width group, in chunks of bounded size."""
        out = []
        groups = self._group[routes]
        for group, table in enumerate(self._tables):
            pairs = np.flatnonzero(groups == group)
            step = max(1, CHUNK_CELLS // table["ax"].shape[1])
            for start in range(0, len(pairs), step):
                part = pairs[start : start + step]
                out.append((part, self._row[routes[part]], table))
        return out

    def nearest(
        self, routes: IntArray, x: FloatArray, y: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Per pair: distance from ``(x, y)`` to route ``routes``, and position along it.

        The position is at the first nearest segment, as ``geometry.point_to_route``.
        """
        dist = np.empty(len(routes))
        along = np.empty(len(routes))
        for part, rows, t in self._batches(routes):
            d2, r = segment_distance2(
                x[part, None], y[part, None],
                t["ax"][rows], t["ay"][rows], t["dx"][rows], t["dy"][rows], t["inv_len2"][rows],
            )  # fmt: skip
            k = np.argmin(d2, axis=1)
            at = np.arange(len(part))
            dist[part] = np.sqrt(d2[at, k])
            along[part] = t["cum_m"][rows, k] + r[at, k] * t["seg_m"][rows, k]
        return dist, along

    def reach(
        self, routes: IntArray, x: FloatArray, y: FloatArray, rho: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Per pair: the route's stretch within ``rho`` of ``(x, y)`` (``geometry.reach_along``)."""
        lo = np.empty(len(routes))
        hi = np.empty(len(routes))
        for part, rows, t in self._batches(routes):
            a, b = reach_on_segments(
                x[part, None], y[part, None], rho[part, None] + REACH_PAD_M,
                t["ax"][rows], t["ay"][rows], t["dx"][rows], t["dy"][rows],
                t["len2"][rows], t["seg_m"][rows], t["cum_m"][rows],
            )  # fmt: skip
            lo[part] = np.maximum(a.min(axis=1) - REACH_PAD_M, 0.0)
            hi[part] = np.minimum(b.max(axis=1) + REACH_PAD_M, self.length_m[routes[part]])
        return lo, hi


def _width(segments: int) -> int:
    """Padded row width for a route of ``segments``: at most ~25 % waste, few distinct widths."""
    step = max(4, 1 << max(0, segments.bit_length() - 3))
    return -(-segments // step) * step
