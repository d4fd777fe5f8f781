"""The one-pair matching rule: what a fitting pair shows its users, and why others fail."""

from __future__ import annotations

import dataclasses
import math

import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import geo
from protocol.errors import BadGeometry, ConfigError
from protocol.fields import GeoPoint
from protocol.matching import (
    Candidate,
    MatchParams,
    Misfit,
    OpenOffer,
    OpenRequest,
    Place,
    Rejected,
    evaluate,
)
from tests import strategies
from tests.test_matching_builders import MINUTE_MS, T0_MS, offer, request, routes

FAST = settings(max_examples=200, deadline=None)


def fits(offer_: OpenOffer, request_: OpenRequest, **kwargs: object) -> Candidate:
    result = evaluate(offer_, request_, **kwargs)  # type: ignore[arg-type]
    assert isinstance(result, Candidate), result
    return result


def misfit(offer_: OpenOffer, request_: OpenRequest) -> Misfit:
    result = evaluate(offer_, request_)
    assert isinstance(result, Rejected), result
    return result.misfit


# -- a good match, with the numbers a user sees


def test_a_rider_near_the_route_gets_walk_detour_time_and_cost() -> None:
    # Pickup 300 m off the route: the rider walks 200 m, the driver drives a 100 m leg
    # out and back on roads (x 1.3). Drop-off 100 m off: walked.
    c = fits(offer(), request((2_000, 300), (7_000, -100)))
    assert c.pickup_along_m == 2_000
    assert c.dropoff_along_m == 7_000
    assert c.shared_m == 5_000
    assert c.walk_m == 300
    assert c.detour_m == pytest.approx(2 * 1.3 * 100)
    assert c.detour_s == pytest.approx(260 / 8)
    # The driver reaches 2 km along 250 s after leaving; the window opens at T0 + 10 min,
    # so the driver leaves at T0 + 350 s and the rider does not wait.
    assert c.pickup_ms == T0_MS + 10 * MINUTE_MS
    assert c.wait_s == 0
    assert c.cost_minor == 500 + 80 * 5
    assert c.score == pytest.approx(260 / 8 + 2.0 * 300 / 1.3)


def test_a_rider_whose_window_opens_early_waits_for_the_earliest_driver() -> None:
    c = fits(offer(), request((8_000, 0), (9_500, 0), window=(0, 30)))
    assert c.pickup_ms == T0_MS + 1_000_000  # 8 km at 8 m/s after the earliest departure
    assert c.wait_s == 1_000


def test_ranking_prefers_less_walking() -> None:
    near = fits(offer(), request((2_000, 50), (7_000, 0)))
    far = fits(offer(), request((2_000, 190), (7_000, 0)))
    assert near.score < far.score


# -- each misfit


def test_pickup_beyond_walk_and_detour_is_off_corridor() -> None:
    # 3 km off with a 200 m walk leaves a 2.8 km leg: far past 2 km / (2 x 1.3).
    assert misfit(offer(), request((2_000, 3_000), (7_000, 0))) is Misfit.OFF_CORRIDOR


def test_drop_off_beyond_walk_and_detour_is_off_corridor() -> None:
    assert misfit(offer(), request((2_000, 0), (7_000, -1_500))) is Misfit.OFF_CORRIDOR


def test_riding_against_the_route_is_wrong_direction() -> None:
    assert misfit(offer(), request((7_000, 0), (2_000, 0))) is Misfit.WRONG_DIRECTION


def test_a_hop_shorter_than_the_minimum_is_too_short() -> None:
    assert misfit(offer(), request((2_000, 0), (2_150, 0))) is Misfit.TOO_SHORT


def test_two_legs_that_each_fit_but_together_exceed_the_budget_are_a_detour_misfit() -> None:
    # Each stop: 600 m off, no walking: a 1,560 m detour; together 3,120 m > 2,000 m.
    r = request((2_000, 600), (7_000, 600), max_walk_m=0)
    assert misfit(offer(), r) is Misfit.DETOUR


def test_detour_over_the_time_limit_is_a_detour_misfit() -> None:
    r = request((2_000, 300), (7_000, 0), max_walk_m=0)  # 780 m at 8 m/s: 97.5 s
    assert misfit(offer(max_detour_s=90), r) is Misfit.DETOUR
    fits(offer(max_detour_s=98), r)


def test_windows_that_do_not_overlap_are_a_time_misfit() -> None:
    assert misfit(offer(), request((2_000, 0), (7_000, 0), window=(180, 200))) is Misfit.TIME


def test_a_window_that_closes_before_the_driver_arrives_is_a_time_misfit() -> None:
    # The window overlaps the drive, but closes 5 min after T0 while the driver
    # reaches 9 km along 1,125 s after leaving at T0 at the earliest.
    r = request((9_000, 0), (9_800, 0), window=(-10, 5))
    assert misfit(offer(), r) is Misfit.TIME


def test_asking_for_more_seats_than_offered_is_a_seats_misfit() -> None:
    assert misfit(offer(seats=3), request((2_000, 0), (7_000, 0), seats=4)) is Misfit.SEATS


def test_rejection_detail_names_the_numbers() -> None:
    result = evaluate(offer(), request((2_000, 3_000), (7_000, 0)))
    assert isinstance(result, Rejected)
    assert "pickup" in result.detail
    assert "2000 m" in result.detail


# -- coarse places are optimistic


def test_a_coarse_disc_over_the_route_fits_where_its_centre_would_not() -> None:
    centre_far = request((2_000, 1_500), (7_000, 1_500))
    assert misfit(offer(), centre_far) is Misfit.OFF_CORRIDOR
    fits(offer(), request((2_000, 1_500), (7_000, 1_500), radius_m=1_400))


def test_coarse_discs_overlapping_one_stretch_are_not_declared_wrong_way() -> None:
    # The centres project in the wrong order, but points in the discs could ride east.
    coarse = request((5_100, 0), (4_900, 0), radius_m=1_000)
    c = fits(offer(), coarse)
    assert c.pickup_along_m < c.dropoff_along_m
    assert c.shared_m >= MatchParams().min_shared_m


def _point_in_disc(place: Place, angle: float, fraction: float) -> Place:
    r = place.radius_m * fraction
    return Place(place.x_m + r * math.cos(angle), place.y_m + r * math.sin(angle), 0.0)


@FAST
@given(
    route=routes(),
    pickup=st.tuples(st.floats(-4_000, 4_000), st.floats(-4_000, 4_000)),
    dropoff=st.tuples(st.floats(-4_000, 4_000), st.floats(-4_000, 4_000)),
    radius_m=st.sampled_from([50.0, 400.0, 1_500.0, 2_812.0]),
    angles=st.tuples(st.floats(0, 2 * math.pi), st.floats(0, 2 * math.pi)),
    fractions=st.tuples(st.floats(0, 1), st.floats(0, 1)),
    max_walk_m=st.sampled_from([0, 300, 800]),
    max_detour_m=st.sampled_from([0, 500, 2_000]),
    window=st.tuples(st.integers(-60, 120), st.integers(0, 60)),
)
def test_coarse_accepts_every_pair_that_some_exact_points_in_its_discs_accept(
    route: shapely.LineString,
    pickup: tuple[float, float],
    dropoff: tuple[float, float],
    radius_m: float,
    angles: tuple[float, float],
    fractions: tuple[float, float],
    max_walk_m: int,
    max_detour_m: int,
    window: tuple[int, int],
) -> None:
    o = offer(route=route, max_detour_m=max_detour_m)
    coarse = request(
        pickup,
        dropoff,
        radius_m=radius_m,
        window=(window[0], window[0] + window[1]),
        max_walk_m=max_walk_m,
    )
    exact = dataclasses.replace(
        coarse,
        pickup=_point_in_disc(coarse.pickup, angles[0], fractions[0]),
        dropoff=_point_in_disc(coarse.dropoff, angles[1], fractions[1]),
    )
    found = evaluate(o, exact)
    if isinstance(found, Candidate):
        estimate = evaluate(o, coarse)
        assert isinstance(estimate, Candidate), estimate
        assert estimate.detour_m <= found.detour_m + 1e-6
        assert estimate.walk_m <= found.walk_m + 1e-6


# -- from real messages, in Tel Aviv


def test_a_rider_along_ibn_gabirol_matches_the_real_offer() -> None:
    message = strategies.offer()
    projection = geo.LocalProjection.around(message.route.points()[0])
    o = OpenOffer.from_message(message, strategies.ALICE.public_key, projection)
    pickup = GeoPoint.from_degrees(32.0780, 34.7818)  # ~26 m east of the route, 520 m along
    dropoff = GeoPoint.from_degrees(32.0918, 34.7834)  # by vertex 4, ~2.1 km along
    gossiped = OpenRequest.from_message(
        strategies.request(pickup_cell=geo.cell_of(pickup), dropoff_cell=geo.cell_of(dropoff)),
        strategies.BOB.public_key,
        projection,
    )
    assert gossiped.pickup.radius_m == projection.cell_disc(geo.cell_of(pickup))[2]
    assert gossiped.pickup.contains(*projection.point_xy(pickup))
    fits(o, gossiped)

    exact = gossiped.revealed(pickup, dropoff, projection)
    c = fits(o, exact)
    v = message.route.points()
    # The rider meets the route where its segment 1 crosses the pickup's latitude
    # (the segment runs nearly north), and leaves it at vertex 4.
    k = (pickup.lat - v[1].lat) / (v[2].lat - v[1].lat)
    foot = GeoPoint.from_degrees(pickup.lat, v[1].lon + k * (v[2].lon - v[1].lon))
    assert c.pickup_along_m == pytest.approx(
        geo.distance_m(v[0], v[1]) + geo.distance_m(v[1], foot), abs=3
    )
    # Both walk: ~26 m to the route, and a few metres from it to the drop-off.
    assert geo.distance_m(pickup, foot) - 3 <= c.walk_m <= geo.distance_m(pickup, foot) + 8
    legs = [(foot, v[2]), (v[2], v[3]), (v[3], v[4])]
    assert c.shared_m == pytest.approx(sum(geo.distance_m(a, b) for a, b in legs), abs=10)
    assert c.detour_m == 0
    assert c.cost_minor == 500 + round(80 * c.shared_m / 1000)
    # The driver leaves between +10 and +25 min and needs ~110 s to the pickup; the
    # rider's window opens at +5 min, so pickup is at the earliest departure.
    assert c.pickup_ms == message.departure.start_ms + math.floor(
        c.pickup_along_m / o.geometry.length_m * message.duration_s * 1000
    )

    backwards = OpenRequest.from_message(
        strategies.request(pickup_cell=geo.cell_of(dropoff), dropoff_cell=geo.cell_of(pickup)),
        strategies.BOB.public_key,
        projection,
    ).revealed(dropoff, pickup, projection)
    assert misfit(o, backwards) is Misfit.WRONG_DIRECTION


def test_a_revealed_point_outside_the_announced_cell_is_refused() -> None:
    message = strategies.request()
    projection = geo.LocalProjection.around(geo.cell_center(message.pickup_cell))
    gossiped = OpenRequest.from_message(message, strategies.BOB.public_key, projection)
    far = GeoPoint.from_degrees(32.20, 34.90)
    with pytest.raises(BadGeometry):
        gossiped.revealed(far, geo.cell_center(message.dropoff_cell), projection)


# -- parameters


def test_params_refuse_a_road_factor_below_one() -> None:
    with pytest.raises(ConfigError):
        MatchParams(road_factor=0.9)


def test_a_lower_road_factor_widens_the_corridor() -> None:
    r = request((2_000, 1_000), (7_000, 0))
    assert misfit(offer(), r) is Misfit.OFF_CORRIDOR
    result = evaluate(offer(), r, MatchParams(road_factor=1.0))
    assert isinstance(result, Candidate)
