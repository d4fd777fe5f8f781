"""Geography: lengths, cells, topics, the local projection and privacy zones (SPEC §4.1, §4.3)."""

from __future__ import annotations

import itertools
import math
import random

import h3
import h3.api.basic_int as h3i
import numpy as np
import pyproj
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from protocol import geo
from protocol.errors import BadGeometry
from protocol.fields import GeoPoint, H3Cell, Polyline
from tests import strategies

FAST = settings(max_examples=60, deadline=None)
GEOD = pyproj.Geod(ellps="WGS84")


# -- lengths and cells


def test_route_across_the_antimeridian_is_short() -> None:
    route = Polyline.from_degrees([(-16.8, 179.99), (-16.8, -179.995)])
    assert 1_500 < geo.route_length_m(route) < 1_700


def test_distance_of_a_degree_of_latitude_at_the_equator() -> None:
    assert geo.distance_m(GeoPoint(0, 0), GeoPoint(1_000_000, 0)) == pytest.approx(110_574, abs=1)


def test_cell_of_a_point_contains_it_at_the_requested_resolution() -> None:
    point = GeoPoint.from_degrees(32.0853, 34.7818)
    cell = geo.cell_of(point, 9)
    assert geo.is_cell(cell)
    assert geo.cell_resolution(cell) == 9
    assert geo.distance_m(point, geo.cell_center(cell)) < geo.cell_radius_m(9)


@pytest.mark.parametrize("value", [-1, 0, 2**64, 2**64 - 1, 12345])
def test_numbers_that_are_not_h3_cells_are_recognised(value: int) -> None:
    assert not geo.is_cell(value)


def test_area_topic_of_a_fine_cell_is_the_topic_of_its_area() -> None:
    point = GeoPoint.from_degrees(32.0853, 34.7818)
    topic = geo.area_topic(geo.cell_of(point, 7), "offers")
    assert topic == geo.area_topic(geo.topic_cell(point), "offers")
    assert topic == f"lazooz/1/rides/{h3.int_to_str(geo.topic_cell(point))}/offers"


def test_each_area_has_a_topic_per_side_and_the_side_is_read_back() -> None:
    cell = geo.topic_cell(GeoPoint.from_degrees(32.0853, 34.7818))
    offers, requests = geo.area_topic(cell, "offers"), geo.area_topic(cell, "requests")
    assert requests == offers.removesuffix("offers") + "requests"
    assert (geo.topic_side(offers), geo.topic_side(requests)) == ("offers", "requests")
    for other in (offers.removesuffix("/offers"), offers + "/x", "lazooz/1/ledger", offers[:-1]):
        assert geo.topic_side(other) is None, other


def test_area_cells_around_a_point_are_its_area_and_the_ring_around() -> None:
    point = GeoPoint.from_degrees(32.0853, 34.7818)
    cells = geo.area_cells_around(point)
    assert len(cells) == 7
    assert geo.topic_cell(point) in cells
    assert list(cells) == sorted(cells)


# -- topics (SPEC §4.3)


def _cells_by_dense_sampling(route: Polyline, step_m: float = 5.0) -> set[H3Cell]:
    """The oracle: area cells of points every ``step_m`` along the route."""
    topics = set()
    for (lon0, lat0), (lon1, lat1) in itertools.pairwise(route.lonlat_degrees()):
        _, _, d = GEOD.inv(lon0, lat0, lon1, lat1)
        n = int(d // step_m)
        points = [(lon0, lat0), (lon1, lat1), *(GEOD.npts(lon0, lat0, lon1, lat1, n) if n else [])]
        for lon, lat in points:
            topics.add(H3Cell(h3i.latlng_to_cell(lat, lon, geo.TOPIC_RESOLUTION)))
    return topics


def test_route_inside_one_area_has_one_cell() -> None:
    assert geo.route_cells(strategies.CITY_ROUTE) == (
        geo.topic_cell(strategies.CITY_ROUTE.points()[0]),
    )


def test_route_cells_include_a_corner_the_route_clips_for_under_2_km() -> None:
    # This 30 km route crosses area 852db0d3fffffff for about 150 m only, between
    # two 2 km samples: sampling alone missed it.
    route = Polyline.from_points(
        [GeoPoint(31_933_600, 34_369_900), GeoPoint(32_161_300, 34_541_500)]
    )
    assert h3.str_to_int("852db0d3fffffff") in geo.route_cells(route)
    assert set(geo.route_cells(route)) == _cells_by_dense_sampling(route)


def test_a_long_route_crosses_every_area_cell_it_passes() -> None:
    # Tel Aviv - Haifa - Nazareth - Tiberias: about 135 km through 10 areas.
    route = Polyline.from_degrees(
        [(32.0853, 34.7818), (32.7940, 34.9896), (32.6996, 35.3035), (32.7922, 35.5312)]
    )
    cells = geo.route_cells(route)
    assert set(cells) == _cells_by_dense_sampling(route)
    assert len(cells) == 10
    assert list(cells) == sorted(cells)


@settings(max_examples=25, deadline=None)
@given(strategies.routes(max_vertices=8))
def test_route_cells_equal_the_cells_found_by_dense_sampling(route: Polyline) -> None:
    assert set(geo.route_cells(route)) == _cells_by_dense_sampling(route, step_m=10.0)


# -- the local projection


@FAST
@given(
    st.floats(-70, 70),
    st.floats(-180, 180),
    st.tuples(st.floats(0, 360), st.floats(1_000, 50_000)),
    st.tuples(st.floats(0, 360), st.floats(0, 50_000)),
)
def test_projected_distances_agree_with_geodesic_within_half_a_percent_at_50_km(
    lat: float, lon: float, a: tuple[float, float], b: tuple[float, float]
) -> None:
    centre = GeoPoint.from_degrees(lat, lon)
    projection = geo.LocalProjection.around(centre)
    (ax, bx), (ay, by) = (
        np.array([GEOD.fwd(centre.lon, centre.lat, az, d)[i] for az, d in (a, b)]) for i in (0, 1)
    )
    _, _, geodesic_m = GEOD.inv(ax, ay, bx, by)
    assume(geodesic_m > 100)
    x, y = projection.to_metres(np.array([ax, bx]), np.array([ay, by]))
    planar_m = float(np.hypot(x[1] - x[0], y[1] - y[0]))
    assert planar_m == pytest.approx(geodesic_m, rel=0.005)


def test_distance_from_the_projection_centre_is_exact() -> None:
    centre = GeoPoint.from_degrees(32.0853, 34.7818)
    projection = geo.LocalProjection.around(centre)
    far = GeoPoint.from_degrees(32.7940, 34.9896)
    assert float(np.hypot(*projection.point_xy(far))) == pytest.approx(
        geo.distance_m(centre, far), abs=0.01
    )


@FAST
@given(
    st.floats(-70, 70), st.floats(-179, 179), st.floats(-50_000, 50_000), st.floats(-50_000, 50_000)
)
def test_projection_round_trips_metres_to_degrees(
    lat: float, lon: float, x: float, y: float
) -> None:
    projection = geo.LocalProjection.around(GeoPoint.from_degrees(lat, lon))
    lons, lats = projection.to_degrees(np.array([x]), np.array([y]))
    x2, y2 = projection.to_metres(lons, lats)
    assert float(x2[0]) == pytest.approx(x, abs=1e-3)
    assert float(y2[0]) == pytest.approx(y, abs=1e-3)


def test_route_xy_gives_one_row_per_vertex_in_metres() -> None:
    route = strategies.CITY_ROUTE
    xy = geo.LocalProjection.around(route.points()[0]).route_xy(route)
    assert xy.shape == (len(route), 2)
    assert xy[0] == pytest.approx([0.0, 0.0], abs=1e-6)
    assert float(np.hypot(*(xy[1] - xy[0]))) == pytest.approx(
        geo.distance_m(*route.points()[:2]), rel=1e-4
    )


# -- privacy zones (SPEC §4.1)


def _along_m(route: Polyline, point: GeoPoint, *, from_end: bool = False) -> float:
    """How far along ``route`` (geodesic metres) ``point`` lies; it must lie on the route.

    A route may pass near itself, so the search starts from the end the point
    belongs to: the head cut lies on the first segments, the tail cut on the last.
    """
    if from_end:
        backwards = Polyline.from_points(reversed(route.points()))
        return geo.route_length_m(route) - _along_m(backwards, point)
    vertices = route.points()
    travelled = 0.0
    for a, b in itertools.pairwise(vertices):
        segment = geo.distance_m(a, b)
        to_point = geo.distance_m(a, point)
        if to_point + geo.distance_m(point, b) - segment < 0.5:
            return travelled + to_point
        travelled += segment
    raise AssertionError(f"{point} is not on the route")


@FAST
@given(strategies.routes(), st.integers(0, 2**32), st.floats(0, 500), st.floats(0, 500))
def test_privacy_cut_removes_between_min_and_max_from_each_end(
    route: Polyline, seed: int, min_m: float, extra_m: float
) -> None:
    zone = geo.PrivacyZone(min_m=min_m, max_m=min_m + extra_m)
    total_m = geo.route_length_m(route)
    assume(total_m > 2 * zone.max_m + 10)
    kept = geo.cut_privacy_zone(route, zone, random.Random(seed))

    head_m = _along_m(route, kept.points()[0])
    tail_m = total_m - _along_m(route, kept.points()[-1], from_end=True)
    # 0.3 m: new ends are rounded to microdegrees (at most ~0.08 m each way).
    for cut_m in (head_m, tail_m):
        assert zone.min_m - 0.3 <= cut_m <= zone.max_m + 0.3
    assert geo.route_length_m(kept) == pytest.approx(total_m - head_m - tail_m, abs=0.5)
    # Between the new ends, the route is the driver's own vertices, in order.
    inner = kept.points()[1:-1]
    original = route.points()
    if inner:
        first = original.index(inner[0])
        assert original[first : first + len(inner)] == inner


def test_privacy_cut_lengths_vary_with_the_random_generator() -> None:
    zone = geo.PrivacyZone()
    route = strategies.CITY_ROUTE
    starts = {geo.cut_privacy_zone(route, zone, random.Random(s)).points()[0] for s in range(5)}
    assert len(starts) == 5
    again = geo.cut_privacy_zone(route, zone, random.Random(3))
    assert again == geo.cut_privacy_zone(route, zone, random.Random(3))


def test_route_too_short_to_hide_both_ends_raises_bad_geometry() -> None:
    route = Polyline.from_degrees([(32.0800, 34.78), (32.0850, 34.78)])  # ~554 m
    with pytest.raises(BadGeometry) as caught:
        geo.cut_privacy_zone(route, geo.PrivacyZone(300, 600), random.Random(1))
    assert str(caught.value).startswith("route='<554 m>': too short to hide")


def test_privacy_zone_with_min_above_max_is_refused() -> None:
    with pytest.raises(BadGeometry, match=r"^PrivacyZone=\(600, 300\): need 0 <= min <= max"):
        geo.PrivacyZone(min_m=600, max_m=300)


# -- spherical lengths for validation limits (SPEC §5.7)


def _haversine_m(coords_e6: geo.IntArray) -> geo.FloatArray:
    """The textbook haversine with numpy's sin/cos/arcsin: the oracle, not bit-exact."""
    lat = np.radians(coords_e6[:, 0] / 1e6)
    dlat = np.radians(np.diff(coords_e6[:, 0]) / 1e6)
    dlon = np.radians(np.diff(coords_e6[:, 1]) / 1e6)
    h = np.sin(dlat / 2) ** 2 + np.cos(lat[:-1]) * np.cos(lat[1:]) * np.sin(dlon / 2) ** 2
    return np.asarray(2 * geo.MEAN_EARTH_RADIUS_M * np.arcsin(np.sqrt(h)), dtype=np.float64)


def _spherical_m(route: Polyline) -> geo.FloatArray:
    return geo.spherical_segment_lengths_m(route.coords_e6().astype(np.int64))


@settings(max_examples=100, deadline=None)
@given(strategies.routes())
def test_spherical_length_is_within_0_6_percent_of_the_geodesic(route: Polyline) -> None:
    # The sphere is 0.56 % long for north-south steps at the equator and 0.45 %
    # short near the poles: WGS84's flattening, not an error of the formula.
    spherical_m = float(np.cumsum(_spherical_m(route))[-1])
    assert spherical_m == pytest.approx(geo.route_length_m(route), rel=0.006)


_ON_EARTH_E6 = st.tuples(
    st.integers(-90_000_000, 90_000_000), st.integers(-180_000_000, 180_000_000)
)


@FAST
@given(
    st.lists(
        st.one_of(
            _ON_EARTH_E6,
            # Near the poles and the antimeridian, where the formula has its edge cases.
            st.tuples(st.integers(89_000_000, 90_000_000), st.integers(-180_000_000, 180_000_000)),
            st.tuples(st.integers(-1_000_000, 1_000_000), st.integers(179_000_000, 180_000_000)),
        ),
        min_size=2,
        max_size=6,
    ),
    st.integers(0, 400_000),
    st.randoms(use_true_random=False),
)
def test_spherical_length_is_the_haversine_within_1e_9_for_segments_up_to_50_km(
    starts: list[tuple[int, int]], spread_e6: int, rnd: random.Random
) -> None:
    # Pairs of points up to ~45 km apart (0.4° of latitude), each near a start.
    rows = []
    for lat, lon in starts:
        lat2 = min(max(lat + rnd.randint(-spread_e6, spread_e6), -90_000_000), 90_000_000)
        lon2 = (lon + rnd.randint(-spread_e6, spread_e6) + 180_000_000) % 360_000_000 - 180_000_000
        rows += [(lat, lon), (lat2, lon2)]
    coords = np.array(rows, dtype=np.int64)
    ours = geo.spherical_segment_lengths_m(coords)[::2]
    oracle = _haversine_m(coords)[::2]
    assume(bool((oracle <= 50_000).all()))
    # 1e-3 m: the float oracle's own error on degree conversions of tiny steps.
    assert np.allclose(ours, oracle, rtol=1e-9, atol=1e-3)


def test_spherical_length_of_a_degree_of_latitude_is_r_pi_over_180() -> None:
    (length_m,) = geo.spherical_segment_lengths_m(np.array([[0, 0], [1_000_000, 0]]))
    assert length_m == pytest.approx(geo.MEAN_EARTH_RADIUS_M * math.pi / 180, rel=1e-13)


def test_spherical_length_across_the_antimeridian_and_the_pole_is_short() -> None:
    route = Polyline.from_degrees([(-16.8, 179.99), (-16.8, -179.995)])
    assert _spherical_m(route)[0] == pytest.approx(1_596.7, abs=0.1)
    # Opposite sides of the north pole, 0.01° of latitude from it each: ~2.2 km.
    route = Polyline.from_degrees([(89.99, 0.0), (89.99, 180.0)])
    assert _spherical_m(route)[0] == pytest.approx(2 * 0.01 * math.pi / 180 * 6_371_008.8, rel=1e-9)


def test_spherical_lengths_of_the_city_route_are_pinned_to_the_bit() -> None:
    # SPEC §5.7 fixes every operation, so these bits are the same on every machine
    # and in every conforming implementation; a change here changes the protocol.
    assert [float(m).hex() for m in _spherical_m(strategies.CITY_ROUTE)] == [
        "0x1.0459b4093ac43p+9",
        "0x1.05be2e61aafb0p+9",
        "0x1.058a02e2d92e9p+9",
        "0x1.08ee20adaab53p+9",
        "0x1.f4ce2ce05e56fp+8",
    ]


def test_spherical_lengths_do_not_call_numpy_trigonometry(monkeypatch: pytest.MonkeyPatch) -> None:
    # numpy dispatches float64 sin/cos/arcsin to different kernels per CPU (SPEC §5.7).
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("platform-dependent function used")

    for name in ("sin", "cos", "arcsin", "arctan2", "power", "exp", "log"):
        monkeypatch.setattr(np, name, forbidden)
    geo.spherical_segment_lengths_m(strategies.CITY_ROUTE.coords_e6().astype(np.int64))


@FAST
@given(
    st.floats(-60, 60),
    st.floats(-179, 179),
    st.integers(5, 9),
    st.floats(-0.2, 0.2),
    st.floats(-0.2, 0.2),
)
def test_a_cells_disc_holds_the_whole_cell_and_is_tight(
    lat: float, lon: float, resolution: int, dlat: float, dlon: float
) -> None:
    cell = geo.cell_of(GeoPoint.from_degrees(lat, lon), resolution)
    # The area's frame may be centred some way off, as a peer's home is.
    projection = geo.LocalProjection.around(GeoPoint.from_degrees(lat + dlat, lon + dlon))
    cx, cy, radius = projection.cell_disc(cell)
    # Points of the cell: those H3 maps to it, from a grid over the disc's square.
    span = np.linspace(-radius, radius, 41)
    gx, gy = np.meshgrid(cx + span, cy + span)
    lons, lats = projection.to_degrees(gx.ravel(), gy.ravel())
    mine = np.array(
        [h3i.latlng_to_cell(a, o, resolution) == cell for a, o in zip(lats, lons, strict=True)]
    )
    assert mine.sum() > 100  # the grid really samples the cell
    x, y = projection.to_metres(
        np.append(lons[mine], [v[1] for v in h3i.cell_to_boundary(cell)]),
        np.append(lats[mine], [v[0] for v in h3i.cell_to_boundary(cell)]),
    )
    assert float(np.max(np.hypot(x - cx, y - cy))) <= radius
    # Tight: well under the resolution-wide bound the disc used to be.
    assert radius <= 0.6 * geo.cell_radius_m(resolution)
