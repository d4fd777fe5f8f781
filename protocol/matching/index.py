"""Finding candidates fast: ``OfferIndex`` over many offers, and the ``all_pairs`` oracle.

The index decides exactly what ``evaluate`` decides for a lone rider, with
the same formulas applied to arrays of pairs; ``all_pairs`` runs
``evaluate`` on every pair and is the test oracle and the benchmark baseline.
Pairs are narrowed in the order that keeps the arrays smallest: an STRtree
of corridor boxes finds offers near each pickup, cheap array tests drop
pairs whose drop-off is outside the box, whose seats or times cannot work,
and only then does per-segment geometry run (docs/matching.md §Index).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely

from protocol.errors import LocalError, describe
from protocol.matching.columns import Once, RequestColumns, collection_paused
from protocol.matching.geometry import FloatArray, IntArray
from protocol.matching.outcome import Candidate, Rejected
from protocol.matching.params import DEFAULT_PARAMS, MatchParams
from protocol.matching.places import OpenOffer, OpenRequest
from protocol.matching.rule import evaluate
from protocol.matching.segments import SegmentTable

BoolArray = npt.NDArray[np.bool_]

#: Corridor boxes are this much wider than needed, so rounding never loses a pair.
BOX_PAD_M = 1.0
#: Time slices of offers, each with its own tree: enough to skip other hours, not so many
#: that per-tree overhead shows.
MAX_BUCKETS = 32
OFFERS_PER_BUCKET = 256


class OfferIndex:
    """Open offers indexed for matching requests against them, one or many at a time."""

    def __init__(self, offers: Iterable[OpenOffer], params: MatchParams = DEFAULT_PARAMS) -> None:
        self.params = params
        self.offers: tuple[OpenOffer, ...] = tuple(offers)
        ids = [o.offer_id for o in self.offers]
        if len(set(ids)) != len(ids):
            raise LocalError(describe("offers", "<duplicate offer_id>", "each offer once"))
        n = len(self.offers)
        self._start_ms = np.array([o.departure.start_ms for o in self.offers], dtype=np.int64)
        self._end_ms = np.array([o.departure.end_ms for o in self.offers], dtype=np.int64)
        duration_s = np.array([o.duration_s for o in self.offers], dtype=np.int64)
        max_detour_s = np.array([o.max_detour_s for o in self.offers], dtype=np.int64)
        self._duration_ms = (duration_s * 1000).astype(np.float64)
        self._reach_end_ms = self._end_ms + duration_s * 1000 + max_detour_s * 1000
        self._max_detour_s = max_detour_s
        self._max_detour_m = np.array([o.max_detour_m for o in self.offers], dtype=np.int64)
        self._seats = np.array([o.seats for o in self.offers], dtype=np.int64)
        self._length_m = np.array([o.geometry.length_m for o in self.offers], dtype=np.float64)
        self._corridor_m = self._max_detour_m / (2.0 * params.road_factor)
        self._base_minor = np.array([o.cost.base_minor for o in self.offers], dtype=np.int64)
        self._per_km_minor = np.array([o.cost.per_km_minor for o in self.offers], dtype=np.int64)
        # Rank of each offer by id: ties in score are broken by offer id.
        self._id_rank = np.empty(n, dtype=np.int64)
        self._id_rank[np.argsort(np.array(ids, dtype=object), kind="stable")] = np.arange(n)

        self._segments = SegmentTable([o.geometry for o in self.offers])
        # Corridor boxes: the route's bounds widened by how far off it a leg may reach.
        bounds = np.array([o.geometry.bounds for o in self.offers], dtype=np.float64).reshape(n, 4)
        boxes = bounds + (self._corridor_m + BOX_PAD_M)[:, None] * np.array([-1.0, -1.0, 1.0, 1.0])
        self._box_min_x, self._box_min_y, self._box_max_x, self._box_max_y = (
            np.ascontiguousarray(col) for col in boxes.T
        )
        self._buckets = self._time_buckets(boxes)
        self._pieces = [
            np.ascontiguousarray(self._segments.piece_bounds[:, :, k]) for k in range(4)
        ]
        self._slack_m = self._corridor_m + BOX_PAD_M

    def _time_buckets(self, boxes: FloatArray) -> list[_Bucket]:
        """One STRtree per slice of offers by departure: a request searches only those it can meet.

        A tree knows only space; slicing by time first keeps a request away
        from the offers of other hours, which is most of them in a busy city.
        """
        n = len(self.offers)
        if n == 0:
            return []
        count = max(1, min(MAX_BUCKETS, n // OFFERS_PER_BUCKET))
        by_start = np.argsort(self._start_ms, kind="stable")
        out = []
        for chunk in np.array_split(by_start, count):
            if len(chunk) == 0:
                continue
            part = np.sort(chunk)
            b = boxes[part]
            tree = shapely.STRtree(shapely.box(b[:, 0], b[:, 1], b[:, 2], b[:, 3]))
            first_ms = int(self._start_ms[part].min())
            last_ms = int(self._reach_end_ms[part].max())
            out.append(_Bucket(tree, part, first_ms, last_ms))
        return out

    def __len__(self) -> int:
        return len(self.offers)

    def candidates(self, request: OpenRequest, limit: int | None = None) -> list[Candidate]:
        """Candidates for one request, best first (at most ``limit``)."""
        return self.candidates_many([request], limit)[request.request_id]

    def candidates_many(
        self, requests: Sequence[OpenRequest], limit: int | None = None
    ) -> dict[bytes, list[Candidate]]:
        """Candidates for every request, each list best first; every request id is a key.

        With ``limit``, each list stops after that many: the same as slicing,
        without building the objects that would be cut.
        """
        ids = [r.request_id for r in requests]
        if len(set(ids)) != len(ids):
            raise LocalError(describe("requests", "<duplicate request_id>", "each request once"))
        out: dict[bytes, list[Candidate]] = {rid: [] for rid in ids}
        if not self.offers or not requests:
            return out
        req = RequestColumns(requests)
        ri, oj = self._near_pairs(req)
        found = self._feasible(req, ri, oj, limit)
        for c in found:
            out[c.request_id].append(c)
        return out

    # -- stage 1: pairs whose boxes meet, narrowed by cheap array tests

    def _near_pairs(self, req: RequestColumns) -> tuple[IntArray, IntArray]:
        reach_p = req.pr + req.walk + BOX_PAD_M
        reach_q = req.qr + req.walk + BOX_PAD_M
        boxes = shapely.box(req.px - reach_p, req.py - reach_p, req.px + reach_p, req.py + reach_p)
        found_r, found_o = [], []
        for bucket in self._buckets:
            asking = np.flatnonzero(
                (req.end_ms >= bucket.first_ms) & (req.start_ms <= bucket.last_ms)
            )
            if len(asking) == 0:
                continue
            hits = bucket.tree.query(boxes[asking])
            ri = asking[hits[0]]
            oj = bucket.offers[hits[1]]
            # The drop-off's box test is the most selective array test: it goes first.
            qx, qy, rq = req.qx[ri], req.qy[ri], reach_q[ri]
            keep = (qx + rq >= self._box_min_x[oj]) & (qx - rq <= self._box_max_x[oj])
            keep &= (qy + rq >= self._box_min_y[oj]) & (qy - rq <= self._box_max_y[oj])
            ri, oj = ri[keep], oj[keep]
            keep = (req.seats[ri] <= self._seats[oj]) & (req.end_ms[ri] >= self._start_ms[oj])
            keep &= req.start_ms[ri] <= self._reach_end_ms[oj]
            ri, oj = ri[keep], oj[keep]
            near = self._near_pieces(oj, req.px[ri], req.py[ri], reach_p[ri])
            keep = near.any(axis=1)
            ri, oj, first = ri[keep], oj[keep], np.argmax(near[keep], axis=1)
            near = self._near_pieces(oj, req.qx[ri], req.qy[ri], reach_q[ri])
            last = near.shape[1] - 1 - np.argmax(near[:, ::-1], axis=1)
            # Pieces run in route order; a drop-off only near pieces before every piece
            # the pickup is near cannot come after it (docs/matching.md §7).
            keep = near.any(axis=1) & (last >= first)
            found_r.append(ri[keep])
            found_o.append(oj[keep])
        if not found_r:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(found_r), np.concatenate(found_o)

    def _near_pieces(
        self, oj: IntArray, x: FloatArray, y: FloatArray, reach: FloatArray
    ) -> BoolArray:
        """``(pairs, PIECES)``: whether each point is within ``reach`` plus the corridor of each
        piece's box.

        A route piece lies inside its box, so it is no nearer than the box:
        a place can meet the route only on pieces marked near.
        """
        min_x, min_y, max_x, max_y = (side[oj] for side in self._pieces)
        x, y = x[:, None], y[:, None]
        dx = np.maximum(np.maximum(min_x - x, x - max_x), 0.0)
        dy = np.maximum(np.maximum(min_y - y, y - max_y), 0.0)
        limit = (reach + self._slack_m[oj])[:, None]
        return np.asarray(dx * dx + dy * dy <= limit * limit)

    # -- stage 2: the rule, on arrays of pairs

    def _feasible(
        self, req: RequestColumns, ri: IntArray, oj: IntArray, limit: int | None
    ) -> list[Candidate]:
        p = self.params
        corridor = self._corridor_m
        walk = req.walk
        # Pickup first: most box-near pairs fail it, and the drop-off need not be computed.
        p_dist, p_along = self._nearest(
            req.p_place if req.places_repeat else None, ri, oj, req.px, req.py
        )
        p_off = np.maximum(0.0, p_dist - req.pr[ri])
        keep = p_off - walk[ri] <= corridor[oj]
        ri, oj = ri[keep], oj[keep]
        p_dist, p_along, p_off = _masked(keep, p_dist, p_along, p_off)
        q_dist, q_along = self._nearest(
            req.q_place if req.places_repeat else None, ri, oj, req.qx, req.qy
        )
        q_off = np.maximum(0.0, q_dist - req.qr[ri])
        keep = q_off - walk[ri] <= corridor[oj]
        ri, oj = ri[keep], oj[keep]
        p_dist, p_along, p_off = _masked(keep, p_dist, p_along, p_off)
        q_dist, q_along, q_off = _masked(keep, q_dist, q_along, q_off)

        p_lo, p_hi = self._reach(
            req.p_reach_key[ri] if req.places_repeat else None, oj,
            req.px[ri], req.py[ri], req.pr[ri], p_dist, p_along, walk[ri],
        )  # fmt: skip
        q_hi = self._reach(
            req.q_reach_key[ri] if req.places_repeat else None, oj,
            req.qx[ri], req.qy[ri], req.qr[ri], q_dist, q_along, walk[ri],
        )[1]  # fmt: skip
        keep = (q_hi > p_lo) & (q_hi - p_lo >= p.min_shared_m)

        p_walk = np.minimum(p_off, walk[ri])
        q_walk = np.minimum(q_off, walk[ri])
        p_detour = 2.0 * p.road_factor * (p_off - p_walk)
        q_detour = 2.0 * p.road_factor * (q_off - q_walk)
        detour_m = p_detour + q_detour
        keep &= (detour_m <= self._max_detour_m[oj]) & (
            detour_m / p.speed_mps <= self._max_detour_s[oj]
        )

        latest_pickup = q_hi - p.min_shared_m
        pickup_along = np.minimum(p_along, latest_pickup)
        dropoff_along = np.maximum(q_along, pickup_along + p.min_shared_m)
        p_hi = np.minimum(p_hi, latest_pickup)
        length = self._length_m[oj]
        duration = self._duration_ms[oj]
        t_lo = np.floor(p_lo / length * duration + 0.0).astype(np.int64)
        t_hi = np.floor(p_hi / length * duration + 0.0).astype(np.int64)
        t_nom = np.floor(pickup_along / length * duration + 0.0).astype(np.int64)
        w0, w1 = req.start_ms[ri], req.end_ms[ri]
        earliest = np.maximum(self._start_ms[oj], w0 - t_hi)
        latest = np.minimum(self._end_ms[oj], w1 - t_lo)
        keep &= earliest <= latest

        sel = np.flatnonzero(keep)
        ri, oj = ri[sel], oj[sel]
        pickup_ms = np.minimum(np.maximum(earliest[sel] + t_nom[sel], w0[sel]), w1[sel])
        wait_s = (pickup_ms - w0[sel]) / 1000
        walk_m = p_walk[sel] + q_walk[sel]
        detour_m = detour_m[sel]
        detour_s = detour_m / p.speed_mps
        score = (
            p.detour_weight * detour_s
            + p.wait_weight * wait_s
            + p.walk_weight * (walk_m / p.walk_speed_mps)
        )
        pickup_along, dropoff_along = pickup_along[sel], dropoff_along[sel]
        shared_m = dropoff_along - pickup_along
        cost_minor = self._base_minor[oj] + np.rint(
            self._per_km_minor[oj] * shared_m / 1000
        ).astype(np.int64)

        order = np.lexsort((self._id_rank[oj], score, ri))
        if limit is not None:
            by_request = ri[order]
            starts = np.flatnonzero(np.r_[True, by_request[1:] != by_request[:-1]])
            rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
            order = order[rank < limit]
        rows = zip(
            ri[order].tolist(),
            oj[order].tolist(),
            score[order].tolist(),
            pickup_along[order].tolist(),
            dropoff_along[order].tolist(),
            walk_m[order].tolist(),
            detour_m[order].tolist(),
            detour_s[order].tolist(),
            wait_s[order].tolist(),
            pickup_ms[order].tolist(),
            shared_m[order].tolist(),
            cost_minor[order].tolist(),
            p_detour[sel][order].tolist(),
            q_detour[sel][order].tolist(),
            p_lo[sel][order].tolist(),
            p_hi[sel][order].tolist(),
            strict=True,
        )
        offers, requests = self.offers, req.requests
        with collection_paused():
            return [
                Candidate(
                    offers[j].offer_id,
                    requests[i].request_id,
                    sc,
                    pa,
                    da,
                    wm,
                    dm,
                    ds,
                    ws,
                    pm,
                    sh,
                    cm,
                    requests[i].seats,
                    requests[i].window,
                    pd,
                    qd,
                    (lo, hi),
                )
                for i, j, sc, pa, da, wm, dm, ds, ws, pm, sh, cm, pd, qd, lo, hi in rows
            ]

    def _nearest(
        self,
        place: IntArray | None,
        ri: IntArray,
        oj: IntArray,
        x: FloatArray,
        y: FloatArray,
    ) -> tuple[FloatArray, FloatArray]:
        """Distance and position along for each pair's place and route.

        ``place`` numbers each request's place when places repeat (``None`` when
        they do not); each distinct (place, route) is then computed once.
        """
        once = None if place is None else Once.of(place[ri] * len(self.offers) + oj)
        if once is None:
            return self._segments.nearest(oj, x[ri], y[ri])
        rows = ri[once.first]
        dist, along = self._segments.nearest(oj[once.first], x[rows], y[rows])
        return dist[once.inverse], along[once.inverse]

    def _reach(
        self,
        key: IntArray | None,
        oj: IntArray,
        x: FloatArray,
        y: FloatArray,
        radius: FloatArray,
        dist: FloatArray,
        along: FloatArray,
        walk: FloatArray,
    ) -> tuple[FloatArray, FloatArray]:
        """Stretch of route each place could meet: one point for exact places.

        ``key`` numbers (place, walk) per pair when places repeat: pairs that
        share it and a route share the answer.
        """
        lo, hi = along.copy(), along.copy()
        coarse = np.flatnonzero(radius > 0)
        if len(coarse) == 0:
            return lo, hi
        oc = oj[coarse]
        once = None if key is None else Once.of(key[coarse] * len(self.offers) + oc)
        pick = coarse if once is None else coarse[once.first]
        op = oj[pick]
        # An exact point in the disc meets the route within rho of the centre (rule.stop_fit).
        rho = radius[pick] + np.minimum(
            dist[pick] + radius[pick], walk[pick] + self._corridor_m[op]
        )
        a, b = self._segments.reach(op, x[pick], y[pick], rho)
        if once is not None:
            a, b = a[once.inverse], b[once.inverse]
        lo[coarse], hi[coarse] = a, b
        return lo, hi


@dataclass(frozen=True, slots=True)
class _Bucket:
    """Offers departing in one slice of time, with the span in which they can pick up."""

    tree: shapely.STRtree
    offers: IntArray  # global offer indices, ascending, in tree order
    first_ms: int
    last_ms: int


def all_pairs(
    offers: Sequence[OpenOffer],
    requests: Sequence[OpenRequest],
    params: MatchParams = DEFAULT_PARAMS,
) -> dict[bytes, list[Candidate]]:
    """``evaluate`` on every pair, ranked: the oracle ``OfferIndex`` must equal."""
    out: dict[bytes, list[Candidate]] = {}
    for r in requests:
        found = [c for o in offers if not isinstance(c := evaluate(o, r, params), Rejected)]
        found.sort(key=lambda c: (c.score, c.offer_id))
        out[r.request_id] = found
    return out


def _masked(
    keep: BoolArray, a: FloatArray, b: FloatArray, c: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The rows of three pair columns that ``keep`` keeps."""
    return a[keep], b[keep], c[keep]
