"""Router: fastest routes by travel time, never shorter than the crow flies, cached faithfully."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import geo
from protocol.errors import LocalError
from protocol.fields import GeoPoint
from protocol.roads import RoadGraph, Router, UnknownNode
from tests.test_roads_graph import BASE, road_graphs, small_grid


def _floyd_warshall_s(graph: RoadGraph) -> np.ndarray:
    """All-pairs fastest times by the textbook method: the oracle for Dijkstra."""
    n = len(graph)
    d = np.full((n, n), np.inf)
    np.fill_diagonal(d, 0.0)
    for a, b, t in zip(graph.edge_src, graph.edge_dst, graph.duration_s, strict=True):
        d[a, b] = min(d[a, b], t)
    for k in range(n):
        d = np.minimum(d, d[:, k : k + 1] + d[k : k + 1, :])
    return d


@settings(max_examples=60)
@given(road_graphs(max_nodes=14), st.data())
def test_routes_are_fastest_valid_paths_no_shorter_than_the_straight_line(
    graph: RoadGraph, data: st.DataObject
) -> None:
    router = Router(graph)
    best = _floyd_warshall_s(graph)
    nodes = st.integers(0, len(graph) - 1)
    for _ in range(5):
        a, b = data.draw(nodes), data.draw(nodes)
        route = router.route(a, b)
        if route is None:
            assert math.isinf(best[a, b])
            continue
        assert route.duration_s == pytest.approx(best[a, b], rel=1e-9, abs=1e-9)
        assert route.nodes[0] == a and route.nodes[-1] == b
        assert route.points == tuple(graph.point(n) for n in route.nodes)
        straight = geo.distance_m(graph.point(a), graph.point(b))
        assert route.length_m >= straight - 1e-6
        edges = set(zip(graph.edge_src.tolist(), graph.edge_dst.tolist(), strict=True))
        assert all(pair in edges for pair in zip(route.nodes, route.nodes[1:], strict=False))


@settings(max_examples=60)
@given(road_graphs(max_nodes=12), st.lists(st.tuples(st.integers(0, 11), st.integers(0, 11))))
def test_cached_answers_equal_uncached_ones(
    graph: RoadGraph, queries: list[tuple[int, int]]
) -> None:
    cached, uncached = Router(graph, cache_size=3), Router(graph, cache_size=0)
    n = len(graph)
    for a, b in queries + queries[::-1]:
        assert cached.route(a % n, b % n) == uncached.route(a % n, b % n)
        assert np.array_equal(cached.durations_from(a % n), uncached.durations_from(a % n))
    info = cached.cache_info()
    assert info.size <= 3 and info.hits + info.misses == 2 * len(queries)
    assert uncached.cache_info().hits == 0


@settings(max_examples=40)
@given(road_graphs(max_nodes=12), st.integers(0, 11))
def test_durations_from_agree_with_routes(graph: RoadGraph, origin: int) -> None:
    router = Router(graph)
    origin %= len(graph)
    row = router.durations_from(origin)
    for b in range(len(graph)):
        route = router.route(origin, b)
        if route is None:
            assert math.isinf(row[b])
        else:
            assert row[b] == pytest.approx(route.duration_s, rel=1e-9, abs=1e-9)


def test_a_repeated_route_is_served_from_the_cache() -> None:
    router = Router(small_grid(), cache_size=16)
    first = router.route(0, 8)
    assert router.route(0, 8) is first
    info = router.cache_info()
    assert (info.hits, info.misses, info.size) == (1, 1, 1)


def test_the_cache_forgets_the_least_recently_used_route() -> None:
    router = Router(small_grid(), cache_size=2)
    router.route(0, 8)
    router.route(0, 7)
    router.route(0, 8)  # 0->8 is now the most recent
    router.route(0, 6)  # evicts 0->7
    before = router.cache_info().hits
    router.route(0, 8)
    assert router.cache_info().hits == before + 1
    router.route(0, 7)
    assert router.cache_info().hits == before + 1


def test_an_unreachable_destination_gives_none() -> None:
    a, b, c = (GeoPoint(BASE.lat_e6 + i * 1_000, BASE.lon_e6) for i in range(3))
    graph = RoadGraph.build([a, b, c], [(0, 1, 30), (1, 0, 30), (2, 1, 30)])  # c: one way out
    router = Router(graph)
    assert router.route(0, 2) is None
    assert router.route(2, 0) is not None
    assert math.isinf(router.durations_from(0)[2])


def test_points_are_snapped_to_their_nearest_nodes() -> None:
    graph = small_grid()
    router = Router(graph)
    p0, p8 = graph.point(0), graph.point(8)
    route = router.route(
        GeoPoint(p0.lat_e6 - 90, p0.lon_e6 - 90), GeoPoint(p8.lat_e6 + 90, p8.lon_e6)
    )
    assert route is not None and route.nodes[0] == 0 and route.nodes[-1] == 8
    assert route == router.route(0, 8)
    assert len(route.polyline()) == len(route.nodes) == 5  # four blocks on a grid


def test_travel_time_is_length_over_speed() -> None:
    a, b = BASE, GeoPoint(BASE.lat_e6 + 9_000, BASE.lon_e6)  # ~1 km north
    route = Router(RoadGraph.build([a, b], [(0, 1, 36)])).route(0, 1)
    assert route is not None
    assert route.length_m == pytest.approx(geo.distance_m(a, b), abs=0.01)
    assert route.duration_s == pytest.approx(route.length_m / 10.0)  # 36 km/h = 10 m/s


def test_a_route_to_itself_is_empty() -> None:
    route = Router(small_grid()).route(4, 4)
    assert route is not None and route.nodes == (4,) and route.length_m == 0.0


def test_bad_nodes_and_cache_sizes_are_refused() -> None:
    router = Router(small_grid())
    with pytest.raises(UnknownNode):
        router.route(0, 99)
    with pytest.raises(LocalError, match="cache_size"):
        Router(small_grid(), cache_size=-1)
