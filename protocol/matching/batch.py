"""Assigning many requests to many offers at once: greedy by score, pooling allowed."""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from protocol.matching.index import OfferIndex
from protocol.matching.outcome import Candidate, Rejected
from protocol.matching.params import DEFAULT_PARAMS, MatchParams
from protocol.matching.places import OpenOffer, OpenRequest
from protocol.matching.plan import join, retimed


@dataclass(frozen=True, slots=True)
class Assignment:
    """Who rides with whom: each offer's riders in pickup order, and who is left over.

    Riders of one offer carry the times of their shared schedule.
    """

    rides: Mapping[bytes, tuple[Candidate, ...]]
    unmatched: tuple[bytes, ...]

    def ride_of(self, request_id: bytes) -> Candidate | None:
        """The candidate ``request_id`` was assigned, or ``None``."""
        for riders in self.rides.values():
            for c in riders:
                if c.request_id == request_id:
                    return c
        return None


def match_batch(
    offers: Sequence[OpenOffer],
    requests: Sequence[OpenRequest],
    params: MatchParams = DEFAULT_PARAMS,
) -> Assignment:
    """Greedy assignment: the best remaining (score, offer_id, request_id) first.

    Every candidate goes on one heap. A popped candidate whose offer gained
    riders since it was scored is re-evaluated with them: dropped if it no
    longer fits, pushed back if its score got worse, assigned otherwise. The
    re-evaluation is ``join``, the pooling step of ``evaluate``: a pair's own
    geometry does not change when riders join, so it is not computed again.
    Each request is assigned at most once; the result depends only on the
    inputs (docs/matching.md §8).
    """
    by_offer = {o.offer_id: o for o in offers}
    found = OfferIndex(offers, params).candidates_many(requests)
    # The rider count a heap entry was scored against: a later count makes it stale.
    heap = [(c.score, c.offer_id, c.request_id, 0, c) for cs in found.values() for c in cs]
    heapq.heapify(heap)
    rides: dict[bytes, list[Candidate]] = {}
    assigned: set[bytes] = set()
    while heap:
        score, offer_id, request_id, scored_with, c = heapq.heappop(heap)
        if request_id in assigned:
            continue
        riders = rides.setdefault(offer_id, [])
        if scored_with != len(riders):
            fresh = join(by_offer[offer_id], c, riders, params)
            if isinstance(fresh, Rejected):
                continue
            if fresh.score > score:
                heapq.heappush(heap, (fresh.score, offer_id, request_id, len(riders), fresh))
                continue
            c = fresh
        riders.append(c)
        assigned.add(request_id)
    return Assignment(
        rides={
            offer_id: retimed(by_offer[offer_id], riders, params)
            for offer_id, riders in sorted(rides.items())
            if riders
        },
        unmatched=tuple(r.request_id for r in requests if r.request_id not in assigned),
    )
