"""Pooling and batch assignment: shared seats and detour, one ride per request, determinism."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings

from protocol.errors import LocalError
from protocol.fields import TimeWindow
from protocol.matching import (
    Assignment,
    Candidate,
    Misfit,
    OpenOffer,
    OpenRequest,
    Rejected,
    evaluate,
    match_batch,
)
from tests.test_matching_builders import T0_MS, cities, offer, request

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _rider(o: OpenOffer, r: OpenRequest, riders: tuple[Candidate, ...] = ()) -> Candidate:
    c = evaluate(o, r, riders=riders)
    assert isinstance(c, Candidate), c
    return c


# -- pooling through evaluate


def test_two_riders_who_together_need_more_seats_than_offered_cannot_share() -> None:
    o = offer(seats=3)
    first = _rider(o, request((1_000, 0), (6_000, 0), b"a", seats=2))
    second = evaluate(o, request((2_000, 0), (8_000, 0), b"b", seats=2), riders=(first,))
    assert isinstance(second, Rejected)
    assert second.misfit is Misfit.SEATS


def test_a_seat_freed_at_a_drop_off_can_be_taken_after_it() -> None:
    o = offer(seats=2)
    first = _rider(o, request((1_000, 0), (4_000, 0), b"a", seats=2))
    _rider(o, request((4_000, 0), (9_000, 0), b"b", seats=2), (first,))


def test_two_riders_who_together_exceed_the_detour_budget_cannot_share() -> None:
    o = offer(max_detour_m=2_000)
    # Each needs a 1,300 m detour (250 m legs out and back at x1.3, twice): fine alone.
    first = _rider(o, request((1_000, 250), (6_000, 250), b"a", max_walk_m=0))
    second = evaluate(o, request((2_000, 250), (7_000, 250), b"b", max_walk_m=0), riders=(first,))
    assert isinstance(second, Rejected)
    assert second.misfit is Misfit.DETOUR


def test_an_earlier_riders_detour_must_not_push_a_later_pickup_out_of_its_window() -> None:
    o = offer(departure=TimeWindow(T0_MS, T0_MS))
    # The driver leaves at T0 exactly and reaches 8 km along at T0 + 1,000 s; this
    # rider's window closes at T0 + 1,020 s.
    tight = _rider(o, request((8_000, 0), (9_500, 0), b"late", window=(0, 17)))
    assert tight.pickup_ms == T0_MS + 1_000_000
    # A 300 m leg out and back earlier on the route (780 m by road, 97.5 s) makes it late.
    detouring = request((1_000, 300), (3_000, 0), b"early", window=(0, 30), max_walk_m=0)
    assert isinstance(evaluate(o, detouring), Candidate)  # alone, it fits
    together = evaluate(o, detouring, riders=(tight,))
    assert isinstance(together, Rejected)
    assert together.misfit is Misfit.TIME


def test_riders_are_given_to_evaluate_only_for_their_own_offer() -> None:
    c = _rider(offer(b"x"), request((1_000, 0), (6_000, 0)))
    with pytest.raises(LocalError):
        evaluate(offer(b"y"), request((2_000, 0), (7_000, 0), b"b"), riders=(c,))


# -- batch


def test_two_compatible_riders_share_one_ride_in_pickup_order() -> None:
    o = offer(seats=3)
    a = request((3_000, 0), (9_000, 0), b"a")
    b = request((1_000, 100), (6_000, 0), b"b")
    result = match_batch([o], [a, b])
    assert result.unmatched == ()
    ride = result.rides[o.offer_id]
    assert [c.request_id for c in ride] == [b"b", b"a"]
    assert ride[0].pickup_ms < ride[1].pickup_ms
    # The first rider's stop delays the second: its pickup is later than the driver alone
    # would reach it.
    alone = _rider(o, a)
    assert ride[1].pickup_ms >= alone.pickup_ms


def test_the_better_scored_rider_wins_a_contested_seat() -> None:
    o = offer(seats=1)
    near = request((2_000, 20), (7_000, 0), b"near")
    far = request((2_000, 190), (7_000, 0), b"far")
    result = match_batch([o], [far, near])
    assert [c.request_id for c in result.rides[o.offer_id]] == [b"near"]
    assert result.unmatched == (b"far",)


def test_a_rider_goes_to_the_better_of_two_offers_and_each_offer_fills() -> None:
    straight = offer(b"straight", seats=1)
    other = offer(b"other", seats=1)
    r1 = request((2_000, 0), (7_000, 0), b"r1")
    r2 = request((2_000, 150), (7_000, 0), b"r2")
    result = match_batch([straight, other], [r1, r2])
    assert result.unmatched == ()
    assert {c.request_id for ride in result.rides.values() for c in ride} == {b"r1", b"r2"}


def _assert_sound(offers: list[OpenOffer], requests: list[OpenRequest], result: Assignment) -> None:
    by_offer = {o.offer_id: o for o in offers}
    by_request = {r.request_id: r for r in requests}
    seen = [c.request_id for ride in result.rides.values() for c in ride]
    assert len(seen) == len(set(seen)), "a request was assigned twice"
    assert set(seen) | set(result.unmatched) == set(by_request)
    assert not set(seen) & set(result.unmatched)
    for offer_id, ride in result.rides.items():
        o = by_offer[offer_id]
        assert ride, "an offer without riders is not a ride"
        assert [c.pickup_along_m for c in ride] == sorted(c.pickup_along_m for c in ride)
        assert sum(c.detour_m for c in ride) <= o.max_detour_m
        for c in ride:
            others = tuple(x for x in ride if x.request_id != c.request_id)
            again = evaluate(o, by_request[c.request_id], riders=others)
            assert isinstance(again, Candidate), again
            assert again.pickup_ms == c.pickup_ms


@FAST
@given(cities(max_offers=6, max_requests=16))
def test_batch_assigns_each_request_at_most_once_and_keeps_every_ride_feasible(
    city: tuple[list[OpenOffer], list[OpenRequest]],
) -> None:
    offers, requests = city
    result = match_batch(offers, requests)
    _assert_sound(offers, requests, result)


@FAST
@given(cities(max_offers=6, max_requests=16))
def test_batch_is_deterministic_whatever_the_input_order(
    city: tuple[list[OpenOffer], list[OpenRequest]],
) -> None:
    offers, requests = city
    result = match_batch(offers, requests)
    assert match_batch(offers, requests) == result
    rng = random.Random(0)
    shuffled = match_batch(rng.sample(offers, len(offers)), rng.sample(requests, len(requests)))
    assert shuffled.rides == result.rides
    assert set(shuffled.unmatched) == set(result.unmatched)


def test_a_busy_batch_pools_riders_and_stays_sound() -> None:
    rng = random.Random(5)
    offers = [offer(bytes([i]), seats=rng.randint(1, 4)) for i in range(4)]
    requests = [
        request(
            (rng.uniform(0, 4_000), rng.uniform(-300, 300)),
            (rng.uniform(5_000, 10_000), rng.uniform(-300, 300)),
            b"r" + bytes([i]),
            window=(rng.randint(0, 20), rng.randint(25, 60)),
            max_walk_m=rng.choice([0, 200]),
        )
        for i in range(30)
    ]
    result = match_batch(offers, requests)
    _assert_sound(offers, requests, result)
    assert any(len(ride) > 1 for ride in result.rides.values())
