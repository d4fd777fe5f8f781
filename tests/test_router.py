"""The node's router: the embedded network chosen by home, routes through waypoints on it,
OSRM over HTTP with a timeout and typed errors, and straight lines where no network is had."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import trio

from lazooz.routing import networks
from lazooz.routing.embedded import EmbeddedBackend
from lazooz.routing.errors import NoRoute, RouterUnavailable
from lazooz.routing.osrm import OsrmBackend
from lazooz.routing.service import NodeRouter, RouterSettings
from lazooz.routing.straight import StraightBackend
from protocol import geo
from protocol.fields import CostShare, GeoPoint

TEL_AVIV = GeoPoint.from_degrees(32.0853, 34.7818)
HELSINKI = GeoPoint.from_degrees(60.1700, 24.9450)
NORTH = GeoPoint.from_degrees(32.1000, 34.7850)
SOUTH = GeoPoint.from_degrees(32.0700, 34.7800)


@pytest.fixture(scope="module")
def tel_aviv() -> networks.Network:
    return networks.for_home(TEL_AVIV)


def test_a_home_inside_the_helsinki_extract_routes_on_its_real_roads() -> None:
    network = networks.for_home(HELSINKI)
    assert network.name == "helsinki"
    assert "OpenStreetMap" in network.attribution
    assert network.covers(HELSINKI) and not network.covers(TEL_AVIV)


def test_a_home_no_extract_covers_gets_a_grid_centred_on_it(tel_aviv: networks.Network) -> None:
    assert tel_aviv.name == "grid"
    (south, west), (north, east) = tel_aviv.bounds
    assert south < TEL_AVIV.lat < north and west < TEL_AVIV.lon < east
    assert abs((south + north) / 2 - TEL_AVIV.lat) < 1e-4
    # 6 km across, so a commute inside the city fits.
    across_m = geo.distance_m(
        GeoPoint.from_degrees(south, west), GeoPoint.from_degrees(south, east)
    )
    assert 5_900 < across_m < 6_100


def test_a_route_follows_the_grid_and_is_longer_than_the_crow_flies(
    tel_aviv: networks.Network,
) -> None:
    plan = EmbeddedBackend(tel_aviv).route([NORTH, SOUTH])
    crow_m = geo.distance_m(NORTH, SOUTH)
    assert crow_m < plan.length_m < 1.6 * crow_m
    assert geo.distance_m(plan.points[0], NORTH) < 150
    assert geo.distance_m(plan.points[-1], SOUTH) < 150
    # Between 30 and 50 km/h, the grid's speeds.
    assert plan.length_m / 50 * 3.6 <= plan.duration_s <= plan.length_m / 30 * 3.6 + 1
    assert plan.backend == "embedded" and plan.network == "grid"


def test_a_route_through_a_middle_waypoint_passes_it(tel_aviv: networks.Network) -> None:
    east = GeoPoint.from_degrees(32.0850, 34.8000)
    plan = EmbeddedBackend(tel_aviv).route([NORTH, east, SOUTH])
    assert min(geo.distance_m(p, east) for p in plan.points) < 150
    direct = EmbeddedBackend(tel_aviv).route([NORTH, SOUTH])
    assert plan.length_m > direct.length_m


def test_a_waypoint_far_off_the_network_is_refused_naming_it(tel_aviv: networks.Network) -> None:
    far = GeoPoint.from_degrees(32.2000, 34.7800)
    with pytest.raises(
        NoRoute, match=r"waypoints\[1\]=\[32\.2, 34\.78\]: is \d+ m from the nearest road"
    ):
        EmbeddedBackend(tel_aviv).route([NORTH, far])


def test_one_waypoint_is_not_a_route(tel_aviv: networks.Network) -> None:
    with pytest.raises(NoRoute, match="waypoints=1: give at least 2"):
        EmbeddedBackend(tel_aviv).route([NORTH])


def test_cost_estimate_is_the_offer_terms_over_the_route_length(
    tel_aviv: networks.Network,
) -> None:
    plan = EmbeddedBackend(tel_aviv).route([NORTH, SOUTH])
    cost = CostShare("ILS", 500, 80)
    assert plan.cost_minor(cost) == 500 + round(80 * plan.length_m / 1000)


def test_straight_lines_join_the_points_as_clicked() -> None:
    plan = StraightBackend().route([NORTH, SOUTH])
    assert plan.points == (NORTH, SOUTH)
    assert plan.length_m == pytest.approx(geo.distance_m(NORTH, SOUTH))
    assert plan.duration_s == pytest.approx(plan.length_m / (30 / 3.6))


@pytest.mark.trio
async def test_the_node_router_uses_straight_lines_when_it_has_no_network() -> None:
    router = NodeRouter(TEL_AVIV, network_for=lambda home: None)
    plan = await router.route([NORTH, SOUTH])
    assert plan.backend == "straight"
    assert (await router.describe())["network"] is None


@pytest.mark.trio
async def test_the_node_router_describes_its_network() -> None:
    router = NodeRouter(HELSINKI)
    described = await router.describe()
    assert described["backend"] == "embedded" and described["network"] == "helsinki"
    assert described["bounds"][0][0] < HELSINKI.lat < described["bounds"][1][0]


def test_osrm_settings_need_a_url() -> None:
    with pytest.raises(ValueError, match="osrm_url"):
        RouterSettings("osrm")
    with pytest.raises(ValueError, match="backend='valhalla'"):
        RouterSettings("valhalla")


# -- OSRM over HTTP, against a fake server on loopback


class FakeOsrm(BaseHTTPRequestHandler):
    answer: tuple[int, Any] = (200, {})
    paths: list[str]

    def do_GET(self) -> None:
        self.paths.append(self.path)
        status, body = self.answer
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def osrm() -> Iterator[tuple[str, type[FakeOsrm]]]:
    handler = type("Handler", (FakeOsrm,), {"paths": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", handler
    server.shutdown()
    thread.join(5)


OSRM_OK = {
    "code": "Ok",
    "routes": [
        {
            "distance": 3456.7,
            "duration": 420.5,
            "geometry": {
                "type": "LineString",
                "coordinates": [[34.785, 32.1], [34.783, 32.085], [34.78, 32.07]],
            },
        }
    ],
}


def test_osrm_route_is_read_from_its_geojson_answer(osrm: tuple[str, type[FakeOsrm]]) -> None:
    url, handler = osrm
    handler.answer = (200, OSRM_OK)
    plan = OsrmBackend(url).route([NORTH, SOUTH])
    assert plan.points[0] == GeoPoint.from_degrees(32.1, 34.785)
    assert len(plan.points) == 3
    assert (plan.length_m, plan.duration_s, plan.backend) == (3456.7, 420.5, "osrm")
    assert handler.paths == [
        "/route/v1/driving/34.785000,32.100000;34.780000,32.070000"
        "?overview=full&geometries=geojson&steps=false"
    ]


def test_osrm_no_route_is_a_no_route_error(osrm: tuple[str, type[FakeOsrm]]) -> None:
    url, handler = osrm
    handler.answer = (400, {"code": "NoSegment", "message": "Could not find a matching segment"})
    with pytest.raises(NoRoute, match=r"NoSegment.*Could not find a matching segment"):
        OsrmBackend(url).route([NORTH, SOUTH])


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        ((500, b"oops"), "answered HTTP 500"),
        ((200, b"<html>not osrm</html>"), "non-JSON"),
        ((200, {"code": "Ok", "routes": []}), "without a usable route"),
    ],
)
def test_a_broken_osrm_answer_is_router_unavailable(
    osrm: tuple[str, type[FakeOsrm]], answer: tuple[int, Any], says: str
) -> None:
    url, handler = osrm
    handler.answer = answer
    with pytest.raises(RouterUnavailable, match=says):
        OsrmBackend(url).route([NORTH, SOUTH])


def test_an_osrm_that_never_answers_times_out_as_router_unavailable() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # accepts the connection (in the backlog), never answers
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with pytest.raises(RouterUnavailable, match=r"did not answer within 0\.3 s"):
            OsrmBackend(url, timeout_s=0.3).route([NORTH, SOUTH])


def test_an_osrm_nobody_listens_on_is_router_unavailable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(RouterUnavailable, match="is OSRM running"):
        OsrmBackend(f"http://127.0.0.1:{port}").route([NORTH, SOUTH])


def test_an_osrm_url_must_be_http() -> None:
    with pytest.raises(ValueError, match="must be an http"):
        OsrmBackend("ftp://example/")


@pytest.mark.trio
async def test_the_node_router_routes_through_osrm_when_configured(
    osrm: tuple[str, type[FakeOsrm]],
) -> None:
    url, handler = osrm
    handler.answer = (200, OSRM_OK)
    router = NodeRouter(TEL_AVIV, RouterSettings("osrm", url))
    with trio.fail_after(10):
        plan = await router.route([NORTH, SOUTH])
    assert plan.backend == "osrm" and plan.length_m == 3456.7
