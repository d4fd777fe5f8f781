"""Shareability (Santi et al. 2014): which trip pairs one car can serve, and the curve's shape."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from protocol.errors import ConfigError
from protocol.fields import GeoPoint
from protocol.roads import RoadGraph, Router
from sim.city import City, CitySpec, load_city
from sim.demand import DemandSpec, generate
from sim.shareability import ShareRow, shareability, shareable_pairs


def _line_city() -> City:
    """Six nodes on a two-way street, ~200 m apart, at 36 km/h: about 20 s a block."""
    points = [GeoPoint(32_080_000 + i * 1_800, 34_780_000) for i in range(6)]
    edges = [e for i in range(5) for e in ((i, i + 1, 36), (i + 1, i, 36))]
    graph = RoadGraph.build(points, edges, name="line")
    return City("line", graph, Router(graph), points[0], "test")


def test_a_trip_on_the_way_at_the_right_time_shares_with_no_delay() -> None:
    city = _line_city()
    block_s = city.router.route(0, 1).duration_s  # type: ignore[union-attr]
    depart = np.array([0.0, block_s, 0.0, 10 * block_s])
    origin = np.array([0, 1, 4, 1])
    destination = np.array([5, 4, 1, 4])
    pairs = shareable_pairs(city, depart, origin, destination, max_delay_s=3600)
    delay = {
        (int(a), int(b)): float(s) for a, b, s in zip(pairs.a, pairs.b, pairs.delay_s, strict=True)
    }
    found = {tuple(sorted(k)): v for k, v in delay.items()}
    # 1 rides along 0->5: picked up as the car passes, dropped off before the end.
    assert found[(0, 1)] == pytest.approx(0.0, abs=1e-6)
    # 3 leaves 9 blocks after the car passed 1: waiting for it makes 0 late 9 blocks.
    assert found[(0, 3)] == pytest.approx(9 * block_s, rel=1e-6)
    # 2 goes the other way: the best plan picks 2 up first, fetches 0, drops 2 at 1
    # on the way back, and 0 arrives 4 blocks late.
    assert found[(0, 2)] == pytest.approx(4 * block_s, rel=1e-6)
    only_quick = shareable_pairs(city, depart, origin, destination, max_delay_s=block_s)
    assert {
        tuple(sorted((int(a), int(b)))) for a, b in zip(only_quick.a, only_quick.b, strict=True)
    } == {(0, 1)}


def _delay_by_legs(city: City, t: list[float], o: list[int], d: list[int], i: int, j: int) -> float:
    """The smallest worst delay of pair (i, j), routing every leg separately."""

    def tau(a: int, b: int) -> float:
        route = city.router.route(a, b)
        assert route is not None
        return route.duration_s

    best = np.inf
    for first, second in ((i, j), (j, i)):
        hop = tau(o[first], o[second])
        pick_second = max(t[first], t[second] - hop) + hop
        for off_first, off_second in ((first, second), (second, first)):
            at1 = pick_second + tau(o[second], d[off_first])
            at2 = at1 + tau(d[off_first], d[off_second])
            late = max(at1 - t[off_first] - tau(o[off_first], d[off_first]),
                       at2 - t[off_second] - tau(o[off_second], d[off_second]))  # fmt: skip
            best = min(best, late)
    return best


def test_pair_delays_match_routing_each_leg_separately() -> None:
    city = load_city(CitySpec(size_km=3.0))
    trips = generate(DemandSpec(riders=60, drivers=0, duration_min=20), city, random.Random(3))
    t = [x.depart_ms / 1000 for x in trips]
    o = [city.graph.nearest(x.origin) for x in trips]
    d = [city.graph.nearest(x.destination) for x in trips]
    pairs = shareable_pairs(city, np.array(t), np.array(o), np.array(d), max_delay_s=300)
    found = {
        tuple(sorted((int(a), int(b)))): float(s)
        for a, b, s in zip(pairs.a, pairs.b, pairs.delay_s, strict=True)
    }
    assert len(found) > 20
    for i, j in itertools.combinations(range(len(trips)), 2):
        by_legs = _delay_by_legs(city, t, o, d, i, j)
        if (i, j) in found:
            assert found[i, j] == pytest.approx(by_legs, abs=1e-6)
        else:
            assert by_legs > 300 - 1e-6  # the time filter dropped only unshareable pairs


def _table(rows: list[ShareRow]) -> dict[tuple[float, float], float]:
    return {(r.trips_per_hour, r.delay_min): r.shared for r in rows}


def test_shareability_rises_with_density_and_delay_and_saturates() -> None:
    densities, delays = (15.0, 30.0, 60.0, 120.0, 240.0, 480.0), (1.0, 2.0, 4.0, 8.0)
    city = load_city(CitySpec(size_km=4.0))
    rows = shareability(city, random.Random(11), densities, delays)
    assert [(r.trips_per_hour, r.delay_min) for r in rows] == list(
        itertools.product(densities, delays)
    )
    shared = _table(rows)
    noise = 0.06  # one or two trips of the sparsest sample
    for lam in densities:
        # Exactly monotone in the delay: a larger delay only adds pairs.
        values = [shared[lam, dl] for dl in delays]
        assert values == sorted(values)
    for dl in delays:
        values = [shared[lam, dl] for lam in densities]
        assert all(b >= a - noise for a, b in itertools.pairwise(values)), (dl, values)
        # Rising: 32 times the density shares at least 30 points more (or nearly all).
        assert values[-1] >= min(values[0] + 0.3, 0.95), (dl, values)
    # Saturation: from 2 minutes up, the densest samples share nearly every
    # trip, and the last doubling of the density adds almost nothing.
    for dl in (2.0, 4.0, 8.0):
        assert shared[480.0, dl] >= 0.95
        assert shared[480.0, dl] - shared[240.0, dl] <= 0.1
    # A tight delay in a sparse city shares little.
    assert shared[15.0, 1.0] <= 0.3
    for r in rows:
        assert 0.0 <= r.shared <= r.with_partner <= 1.0


def test_the_table_is_deterministic_for_a_seed() -> None:
    city = load_city(CitySpec(size_km=3.0))
    first = shareability(city, random.Random(5), (20.0, 40.0), (2.0,))
    assert first == shareability(city, random.Random(5), (20.0, 40.0), (2.0,))


def test_bad_densities_and_delays_are_refused() -> None:
    city = _line_city()
    with pytest.raises(ConfigError, match="densities"):
        shareability(city, random.Random(1), (0.0,), (1.0,))
    with pytest.raises(ConfigError, match="delays_min"):
        shareability(city, random.Random(1), (10.0,), (-1.0,))


def test_cli_prints_the_table_as_json() -> None:
    import json

    from typer.testing import CliRunner

    from sim.cli import app

    args = ["shareability", "--size-km", "3", "--densities", "20,40", "--delays", "2,5"]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["trips_per_hour"], r["delay_min"]) for r in rows] == [
        (20.0, 2.0),
        (20.0, 5.0),
        (40.0, 2.0),
        (40.0, 5.0),
    ]
    assert all(0 <= r["shared"] <= 1 for r in rows)
    bad = CliRunner().invoke(app, ["shareability", "--densities", "many"])
    assert bad.exit_code == 2
