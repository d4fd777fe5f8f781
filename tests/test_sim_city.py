"""Cities: the synthetic grid's shape and speeds, [city] tables, embedded and loaded graphs."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

from protocol import geo
from protocol.errors import ConfigError
from protocol.fields import GeoPoint
from sim.city import CitySpec, GridParams, grid_graph, load_city
from sim.city.grid import TEL_AVIV


def test_default_grid_is_ten_km_square_of_200_m_blocks_around_tel_aviv() -> None:
    graph = grid_graph()
    assert len(graph) == 51 * 51
    assert graph.edge_count == 4 * 51 * 50  # every street both ways
    assert geo.distance_m(graph.centre, TEL_AVIV) < 1.0
    west, east = graph.point(25 * 51), graph.point(25 * 51 + 50)
    assert geo.distance_m(west, east) == pytest.approx(10_000, rel=1e-3)
    block = geo.distance_m(graph.point(0), graph.point(1))
    assert block == pytest.approx(200, rel=1e-3)


def test_arterials_every_fifth_street_are_faster() -> None:
    graph = grid_graph()
    speeds = dict(
        zip(
            zip(graph.edge_src.tolist(), graph.edge_dst.tolist(), strict=True),
            graph.edge_speed_kmh.tolist(),
            strict=True,
        )
    )
    k = 51
    assert speeds[(5 * k + 7, 5 * k + 8)] == 50  # along row 5, an arterial
    assert speeds[(6 * k + 7, 6 * k + 8)] == 30  # along row 6, a street
    assert speeds[(7 * k + 10, 8 * k + 10)] == 50  # up column 10
    assert speeds[(7 * k + 11, 8 * k + 11)] == 30


def test_a_long_trip_takes_the_arterials() -> None:
    city = load_city(CitySpec(size_km=4.0))
    k = GridParams(size_km=4.0).side
    route = city.router.route(1 * k + 1, (k - 2) * k + (k - 2))  # corner to corner, off-arterial
    assert route is not None
    speeds = {int(s) for s in city.graph.edge_speed_kmh}
    assert speeds == {30, 50}
    # Manhattan distance on arterials, not the slower diagonal staircase of streets.
    assert route.duration_s < route.length_m / (30 / 3.6)


def test_grid_is_deterministic_from_its_parameters() -> None:
    params = GridParams(size_km=3.0, block_m=150.0, centre=GeoPoint.from_degrees(60.17, 24.94))
    assert grid_graph(params).encode() == grid_graph(params).encode()
    assert grid_graph(params).encode() != grid_graph(GridParams(size_km=3.0)).encode()


def test_city_table_from_toml() -> None:
    table = tomllib.loads(
        """
        [city]
        kind = "grid"
        size_km = 4
        block_m = 250
        arterial_every = 4
        centre_lat = 60.17
        centre_lon = 24.94
        """
    )["city"]
    city = load_city(CitySpec.from_toml(table))
    assert len(city.graph) == 17 * 17
    assert geo.distance_m(city.centre, GeoPoint.from_degrees(60.17, 24.94)) < 1.0
    assert city.attribution == "synthetic grid (lazooz)"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"kind": "map"}, r"city\.kind='map'"),
        ({"size": 4}, r"city\.size=4: unknown key"),
        ({"size_km": "4"}, r"city\.size_km='4': must be a number"),
        ({"size_km": 0}, r"city\.size_km=0\.0: must be 0\.1\.\.100"),
        ({"block_m": 5}, r"city\.block_m=5\.0"),
        ({"kind": "osm"}, "needs name"),
        ({"kind": "osm", "name": "atlantis"}, r"city\.name='atlantis'"),
        ({"cache_size": -1}, r"city\.cache_size=-1"),
    ],
)
def test_bad_city_tables_are_refused_naming_the_key(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        CitySpec.from_toml(table)


def test_embedded_helsinki_loads_with_its_attribution() -> None:
    city = load_city(CitySpec(kind="osm", name="helsinki"))
    assert city.name == "helsinki"
    assert "OpenStreetMap contributors" in city.attribution
    assert len(city.graph) == 1283
    assert 60.16 < city.centre.lat < 60.18 and 24.93 < city.centre.lon < 24.96
    route = city.router.route(city.graph.nearest(city.centre), 0)
    assert route is not None and np.isfinite(route.duration_s)


def test_a_roads_file_loads_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "g.roads"
    path.write_bytes(grid_graph(GridParams(size_km=1.0)).encode())
    city = load_city(CitySpec(kind="osm", path=str(path)))
    assert len(city.graph) == 36
