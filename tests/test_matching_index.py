"""The offer index finds exactly the candidates the one-pair rule accepts, in the same order."""

from __future__ import annotations

import random

import pytest
import shapely
from hypothesis import HealthCheck, given, settings

from protocol.errors import LocalError
from protocol.fields import CostShare, TimeWindow
from protocol.matching import (
    Candidate,
    OfferIndex,
    OpenOffer,
    OpenRequest,
    Place,
    all_pairs,
    evaluate,
)
from tests.test_matching_builders import MINUTE_MS, T0_MS, cities, offer, request

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(cities())
def test_index_equals_all_pairs_on_small_cities(
    city: tuple[list[OpenOffer], list[OpenRequest]],
) -> None:
    offers, requests = city
    assert OfferIndex(offers).candidates_many(requests) == all_pairs(offers, requests)


def _town(
    rng: random.Random, n_offers: int, n_requests: int
) -> tuple[list[OpenOffer], list[OpenRequest]]:
    """A 12 x 12 km town over four hours: enough offers for several time slices."""
    offers = []
    for i in range(n_offers):
        x, y = rng.uniform(-6_000, 6_000), rng.uniform(-6_000, 6_000)
        xy = [(x, y)]
        for _ in range(rng.randint(1, 24)):
            x, y = x + rng.uniform(-900, 900), y + rng.uniform(-900, 900)
            xy.append((x, y))
        start_ms = T0_MS + rng.randrange(4 * 60) * MINUTE_MS
        offers.append(
            OpenOffer(
                offer_id=i.to_bytes(4, "big"),
                driver=b"d",
                route=shapely.LineString(xy),
                departure=TimeWindow(start_ms, start_ms + 15 * MINUTE_MS),
                duration_s=rng.randint(300, 2_000),
                seats=rng.randint(1, 4),
                max_detour_m=rng.choice([500, 1_500, 3_000]),
                max_detour_s=rng.choice([120, 600]),
                cost=CostShare("EUR", 100, 12),
            )
        )
    requests = []
    for i in range(n_requests):
        radius_m = rng.choice([0.0, 2_812.0])
        start_ms = T0_MS + rng.randrange(-30, 4 * 60) * MINUTE_MS
        requests.append(
            OpenRequest(
                request_id=b"q" + i.to_bytes(4, "big"),
                rider=b"r",
                pickup=Place(rng.uniform(-6_000, 6_000), rng.uniform(-6_000, 6_000), radius_m),
                dropoff=Place(rng.uniform(-6_000, 6_000), rng.uniform(-6_000, 6_000), radius_m),
                window=TimeWindow(start_ms, start_ms + 30 * MINUTE_MS),
                seats=rng.randint(1, 2),
                max_walk_m=rng.choice([200, 600]),
            )
        )
    return offers, requests


def test_index_equals_all_pairs_in_a_town_with_many_time_slices() -> None:
    offers, requests = _town(random.Random(3), 1_200, 40)
    found = OfferIndex(offers).candidates_many(requests)
    assert found == all_pairs(offers, requests)
    assert sum(map(len, found.values())) > 40  # the town is busy enough to mean something


def test_candidates_for_one_request_are_the_best_first_and_limited() -> None:
    offers = [
        offer(bytes([i]) * 4, route=shapely.LineString([(0, 50 * i), (10_000, 50 * i)]))
        for i in range(5)
    ]
    index = OfferIndex(offers)
    r = request((2_000, 0), (7_000, 0))
    found = index.candidates(r)
    assert [c.offer_id for c in found] == [bytes([i]) * 4 for i in range(5)]  # nearest first
    assert index.candidates(r, limit=2) == found[:2]


def test_equal_scores_rank_by_offer_id() -> None:
    route = shapely.LineString([(0, 0), (10_000, 0)])
    offers = [offer(oid, route=route) for oid in (b"c", b"a", b"b")]
    found = OfferIndex(offers).candidates(request((2_000, 0), (7_000, 0)))
    assert [c.offer_id for c in found] == [b"a", b"b", b"c"]


def test_every_request_gets_a_list_even_without_candidates() -> None:
    far = request((50_000, 50_000), (60_000, 50_000), b"far")
    near = request((2_000, 0), (7_000, 0), b"near")
    found = OfferIndex([offer()]).candidates_many([far, near])
    assert found[b"far"] == []
    assert [c.request_id for c in found[b"near"]] == [b"near"]


def test_an_empty_index_finds_nothing() -> None:
    assert OfferIndex([]).candidates_many([request((0, 0), (5_000, 0))]) == {b"request-1": []}


def test_duplicate_ids_are_refused() -> None:
    with pytest.raises(LocalError):
        OfferIndex([offer(), offer()])
    r = request((2_000, 0), (7_000, 0))
    with pytest.raises(LocalError):
        OfferIndex([offer()]).candidates_many([r, r])


def test_a_long_route_and_a_route_with_repeated_vertices_match_as_evaluate_says() -> None:
    wiggle = [(x * 25.0, (x % 7) * 30.0) for x in range(400)]
    stutter = [(0, 300), (0, 300), (4_000, 300), (4_000, 300), (10_000, 300)]
    offers = [
        offer(b"long", route=shapely.LineString(wiggle)),
        offer(b"stutter", route=shapely.LineString(stutter)),
    ]
    requests = [
        request((2_000, 0), (7_000, 100), bytes([i]), radius_m=r)
        for i, r in enumerate((0.0, 900.0))
    ]
    found = OfferIndex(offers).candidates_many(requests)
    assert found == all_pairs(offers, requests)
    for r in requests:
        assert {c.offer_id for c in found[r.request_id]} == {b"long", b"stutter"}
        for c in found[r.request_id]:
            o = next(o for o in offers if o.offer_id == c.offer_id)
            assert evaluate(o, r) == c
            assert isinstance(c, Candidate)


def test_requests_sharing_cells_get_what_each_would_get_alone() -> None:
    # Gossiped requests from one H3 cell share a disc; the index computes each
    # (disc, route) once and must still answer every request as evaluate does.
    rng = random.Random(11)
    offers, _ = _town(rng, 300, 0)
    centres = [
        (x, y) for x in (-4_500.0, -1_500.0, 1_500.0, 4_500.0) for y in (-4_500.0, 0.0, 4_500.0)
    ]
    requests = []
    for i in range(120):
        start_ms = T0_MS + rng.randrange(-30, 4 * 60) * MINUTE_MS
        requests.append(
            OpenRequest(
                request_id=b"c" + i.to_bytes(4, "big"),
                rider=b"r",
                pickup=Place(*rng.choice(centres), 1_700.0),
                dropoff=Place(*rng.choice(centres), 1_700.0),
                window=TimeWindow(start_ms, start_ms + 30 * MINUTE_MS),
                seats=1,
                max_walk_m=rng.choice([300, 600]),
            )
        )
    found = OfferIndex(offers).candidates_many(requests)
    assert found == all_pairs(offers, requests)
    assert sum(map(len, found.values())) > 120


def test_a_limit_keeps_the_best_of_each_request() -> None:
    offers, requests = _town(random.Random(4), 600, 30)
    index = OfferIndex(offers)
    everything = index.candidates_many(requests)
    assert index.candidates_many(requests, limit=2) == {k: v[:2] for k, v in everything.items()}
    assert index.candidates_many(requests, limit=0) == {k: [] for k in everything}
