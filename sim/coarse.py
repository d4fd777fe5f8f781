"""What coarse matching costs: match on gossiped cells, then confirm on exact points.

The protocol matches in two stages (SPEC §6): peers see only riders' H3 cells,
and a match is confirmed after the rider reveals its exact points to one
driver. Coarser cells hide riders better but promise matches the exact points
break, so riders reveal to more drivers and match less often. This module
measures both against an oracle that matches on exact points directly.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from protocol.matching import Candidate, OfferIndex, OpenOffer, OpenRequest, evaluate, match_batch
from sim import synthetic


@dataclass(frozen=True, slots=True)
class StageOutcome:
    """One way of matching the same city: exact points, or cells at one resolution."""

    resolution: int | None
    candidates_per_request: float
    reveals_per_request: float
    matched: int
    pooled_rides: int
    shared_km: float
    seconds: float


def two_stage(
    offers: Sequence[OpenOffer],
    coarse: Sequence[OpenRequest],
    exact: dict[bytes, OpenRequest],
    max_reveals: int,
) -> tuple[dict[bytes, list[Candidate]], int]:
    """What peers do: rank offers on cells, then reveal to one driver at a time.

    Riders go in order of their best coarse score (as the batch rule would
    take them); each reveals its exact points to its next-best driver until
    one fits, for at most ``max_reveals`` drivers. Returns the rides and how
    many reveals were made: each is one more driver who learned a rider's
    exact points.
    """
    by_id = {o.offer_id: o for o in offers}
    found = OfferIndex(offers).candidates_many(coarse)
    order = sorted((cs[0].score, rid) for rid, cs in found.items() if cs)
    rides: dict[bytes, list[Candidate]] = {}
    reveals = 0
    for _, request_id in order:
        for candidate in found[request_id][:max_reveals]:
            reveals += 1
            riders = rides.setdefault(candidate.offer_id, [])
            checked = evaluate(by_id[candidate.offer_id], exact[request_id], riders=riders)
            if isinstance(checked, Candidate):
                riders.append(checked)
                break
    return {k: v for k, v in rides.items() if v}, reveals


def measure(
    offers: Sequence[OpenOffer],
    exact: Sequence[OpenRequest],
    coarse: Sequence[OpenRequest] | None,
    resolution: int | None,
    max_reveals: int = 3,
) -> StageOutcome:
    """Exact batch matching (``coarse`` None), or the two stages on cells."""
    t0 = time.perf_counter()
    requests = exact if coarse is None else coarse
    found = OfferIndex(offers).candidates_many(requests)
    rides: Mapping[bytes, Sequence[Candidate]]
    if coarse is None:
        rides, reveals = match_batch(offers, exact).rides, 0
    else:
        exact_by_id = {q.request_id: q for q in exact}
        rides, reveals = two_stage(offers, coarse, exact_by_id, max_reveals)
    seconds = time.perf_counter() - t0
    riders = [c for cs in rides.values() for c in cs]
    return StageOutcome(
        resolution=resolution,
        candidates_per_request=sum(len(v) for v in found.values()) / max(1, len(requests)),
        reveals_per_request=reveals / max(1, len(requests)),
        matched=len(riders),
        pooled_rides=sum(1 for cs in rides.values() if len(cs) > 1),
        shared_km=sum(c.shared_m for c in riders) / 1000,
        seconds=seconds,
    )


def sweep(
    n_offers: int, n_requests: int, seed: int, resolutions: Sequence[int], max_reveals: int = 3
) -> list[StageOutcome]:
    """Exact matching, then coarse-then-exact at each resolution, on one city."""
    rng = random.Random(seed)
    offers = synthetic.offers(n_offers, rng)
    trips = synthetic.trips(n_requests, rng, offers)
    # The same request ids at every resolution, so confirmations line up.
    ids = random.Random(seed + 1)
    exact = synthetic.requests(trips, ids, None)
    out = [measure(offers, exact, None, None)]
    for res in resolutions:
        ids = random.Random(seed + 1)
        out.append(measure(offers, exact, synthetic.requests(trips, ids, res), res, max_reveals))
    return out
