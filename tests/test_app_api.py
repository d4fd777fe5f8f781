"""The map endpoints the web UI and the CLI use: routes, places, the network, the settings;
every answer checked against the OpenAPI description."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from lazooz.control.mapping import MapContext
from lazooz.routing.service import NodeRouter
from protocol.fields import GeoPoint
from tests.test_control_app import Clock, client_of, local_node

HELSINKI = GeoPoint.from_degrees(60.1700, 24.9450)


@pytest.fixture
def api() -> Iterator[TestClient]:
    with client_of(local_node(1, Clock())) as c:
        yield c


def test_app_settings_name_home_the_router_and_no_tiles_by_default(api: TestClient) -> None:
    info = api.get("/v1/app").json()
    assert info["home"] == [32.0853, 34.7818]
    assert info["tile_url"] is None
    assert info["router"]["backend"] == "embedded" and info["router"]["network"] == "grid"


def test_the_network_is_geojson_with_every_road_of_the_grid(api: TestClient) -> None:
    net = api.get("/v1/network").json()
    assert net["type"] == "FeatureCollection"
    lines = net["features"][0]["geometry"]["coordinates"]
    assert len(lines) == 2 * 31 * 30  # a 31 x 31 grid, each two-way street once
    lon, lat = lines[0][0]
    assert 34.7 < lon < 34.9 and 32.0 < lat < 32.2  # GeoJSON order


def test_a_route_has_points_length_time_and_the_cost_share(api: TestClient) -> None:
    body = {
        "waypoints": [[32.1, 34.785], [32.07, 34.78]],
        "cost": {"currency": "ILS", "base_minor": 500, "per_km_minor": 80},
    }
    plan = api.post("/v1/route", json=body).json()
    assert len(plan["route"]) > 2 and plan["backend"] == "embedded"
    assert 3_300 < plan["length_m"] < 5_000
    assert plan["cost_minor"] == 500 + round(80 * plan["length_m"] / 1000)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"waypoints": [[32.1, 34.785]]}, "waypoints=1: must be a list of 2..25"),
        ({"waypoints": [[32.1, 34.785], [95, 0]]}, "waypoints[1]"),
        ({"waypoints": [[32.1, 34.785], [32.3, 34.78]]}, "from the nearest road of the grid"),
        ({"waypoints": [[32.1, 34.785], [32.07, 34.78]], "via": 1}, "via=1: unknown field"),
    ],
)
def test_a_route_that_cannot_be_given_is_refused_naming_the_field(
    api: TestClient, body: dict[str, object], detail: str
) -> None:
    answer = api.post("/v1/route", json=body)
    assert answer.status_code == 400
    assert detail in answer.json()["detail"]


def test_places_are_found_by_name_or_as_coordinates_and_nothing_else(api: TestClient) -> None:
    found = api.get("/v1/places", params={"q": "dizengoff"}).json()
    assert [p["name"] for p in found] == ["Dizengoff Square"]
    coords = api.get("/v1/places", params={"q": "32.08, 34.78"}).json()
    assert coords[0]["point"] == [32.08, 34.78]
    assert api.get("/v1/places", params={"q": "home"}).json()[0]["point"] == [32.0853, 34.7818]
    assert api.get("/v1/places", params={"q": "Atlantis"}).json() == []
    missing = api.get("/v1/places")
    assert missing.status_code == 400 and "q=None: is required" in missing.json()["detail"]


def test_a_helsinki_home_routes_on_the_osm_extract() -> None:
    context = MapContext(HELSINKI, router=NodeRouter(HELSINKI))
    from lazooz.control.app import make_app
    from tests.test_control_app import AUTH, TOKEN

    with TestClient(make_app(local_node(1, Clock()), TOKEN, context), backend="trio") as c:
        info = c.get("/v1/app", headers=AUTH).json()
        assert info["router"]["network"] == "helsinki"
        assert "OpenStreetMap" in info["router"]["attribution"]
        plan = c.post(
            "/v1/route",
            headers=AUTH,
            json={"waypoints": [[60.1710, 24.9414], [60.1674, 24.9526]]},
        ).json()
        assert plan["network"] == "helsinki" and 600 < plan["length_m"] < 2_000
