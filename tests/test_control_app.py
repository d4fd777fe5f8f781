"""The control API over LocalNodes: every endpoint, its happy path and its refusals.

Two real Peers (a driver and a rider, in LocalNodes on a fixed clock) are
driven only through their APIs; ``Wire`` moves what one publishes or sends
to the other, as the network would. Each refusal is checked for its status
and for a detail that names the field and the value.
"""

from __future__ import annotations

import json
import random
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

with warnings.catch_warnings():
    # starlette 1.10 would rather have httpx2, which is not locked here; httpx works.
    from starlette.exceptions import StarletteDeprecationWarning

    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from lazooz.control.app import ENDPOINTS, MAX_BODY_BYTES, make_app
from lazooz.control.handle import LocalNode
from protocol.identity import Identity
from protocol.peer.actions import Publish, Send, Subscribe, Unsubscribe
from protocol.peer.notices import CandidatesFound
from protocol.peer.params import HOUR_MS, MINUTE_MS
from protocol.peer.peer import Peer
from tests.strategies import NOW_MS
from tests.test_peer_net import DRIVE, TEL_AVIV

TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PICKUP = [32.0950, 34.7840]
DROPOFF = [32.0745, 34.7815]
ROUTE = [[p.lat, p.lon] for p in DRIVE.points()]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now_ms: int = NOW_MS) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms


def local_node(seed: int, clock: Clock) -> LocalNode:
    identity = Identity.from_seed(bytes([seed]) * 32)
    return LocalNode(Peer(identity, TEL_AVIV, random.Random(seed)), clock=clock)


def client_of(node: LocalNode) -> TestClient:
    """A client of ``node``'s API that checks every answer against the OpenAPI description."""
    from tests.test_control_openapi import conforms, operation

    def check(response: httpx.Response) -> None:
        request = response.request
        if operation(request.method, request.url.path) is None:
            return  # a path or method the API does not have, on purpose
        if response.headers.get("content-type", "").startswith("application/json"):
            response.read()
            problems = conforms(
                request.method, request.url.path, response.status_code, response.json()
            )
            assert not problems, problems

    client = TestClient(make_app(node, TOKEN), backend="trio", headers=AUTH)
    client.event_hooks["response"] = [check]
    return client


class Wire:
    """Moves what each LocalNode publishes or sends to the others, until all is quiet."""

    def __init__(self, *nodes: LocalNode) -> None:
        self.nodes = nodes
        self.done = {id(n): len(n.actions) for n in nodes}

    def flush(self) -> None:
        moved = True
        while moved:
            moved = False
            for src in self.nodes:
                new = src.actions[self.done[id(src)] :]
                self.done[id(src)] = len(src.actions)
                for action in new:
                    for dst in self.nodes:
                        if dst is not src and self._deliver(src, dst, action):
                            moved = True

    @staticmethod
    def _deliver(src: LocalNode, dst: LocalNode, action: object) -> bool:
        if isinstance(action, Publish) and action.topic in topics(dst):
            topic, data = action.topic, action.data
            dst.run(lambda p, now: (None, p.gossip_received(topic, data, now)))
            return True
        if isinstance(action, Send) and action.to == dst.peer.public_key:
            key, channel, data = src.peer.public_key, action.channel, action.data
            dst.run(lambda p, now: (None, p.stream_received(key, channel, data, now)))
            return True
        return False


def topics(node: LocalNode) -> set[str]:
    out: set[str] = set()
    for a in node.actions:
        if isinstance(a, Subscribe):
            out.add(a.topic)
        elif isinstance(a, Unsubscribe):
            out.discard(a.topic)
    return out


def offer_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "route": ROUTE,
        "departure": {"start_ms": NOW_MS + 10 * MINUTE_MS, "end_ms": NOW_MS + 25 * MINUTE_MS},
        "duration_s": 660,
        "seats": 2,
        "max_detour_m": 1500,
        "max_detour_s": 300,
        "cost": {"currency": "ILS", "base_minor": 500, "per_km_minor": 80},
        "expires_ms": NOW_MS + 2 * HOUR_MS,
    }
    body.update(changes)
    return body


def request_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "pickup": PICKUP,
        "dropoff": DROPOFF,
        "window": {"start_ms": NOW_MS + 5 * MINUTE_MS, "end_ms": NOW_MS + 40 * MINUTE_MS},
        "max_walk_m": 400,
        "expires_ms": NOW_MS + HOUR_MS,
    }
    body.update(changes)
    return body


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def driver(clock: Clock) -> LocalNode:
    return local_node(1, clock)


@pytest.fixture
def rider(clock: Clock) -> LocalNode:
    return local_node(2, clock)


@pytest.fixture
def api(driver: LocalNode) -> Iterator[TestClient]:
    with client_of(driver) as c:
        yield c


def refused(response: Any, status: int, *needles: str) -> str:
    """Assert an error answer of ``status`` whose detail holds every needle; the detail."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "detail"}
    for needle in needles:
        assert needle in body["detail"], body
    return str(body["detail"])


# -- guard


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e.method} {e.path}")
@pytest.mark.parametrize("header", [None, "Bearer wrong-token-0123456789", f"Basic {TOKEN}"])
def test_every_endpoint_refuses_a_missing_or_wrong_token(
    driver: LocalNode, endpoint: Any, header: str | None
) -> None:
    path = endpoint.path.replace("{", "").replace("}", "")
    headers = {} if header is None else {"Authorization": header}
    with TestClient(make_app(driver, TOKEN), backend="trio") as c:
        response = c.request(endpoint.method, path, headers=headers, json={})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"] == "unauthorized"


def test_a_short_token_is_refused(driver: LocalNode) -> None:
    with pytest.raises(ValueError, match="token"):
        make_app(driver, "short")


# -- offers


def test_offer_is_signed_published_and_listed(api: TestClient, driver: LocalNode) -> None:
    response = api.post("/v1/offers", json=offer_body())
    assert response.status_code == 201, response.text
    offer = response.json()
    assert offer["status"] == "open"
    assert offer["seats"] == offer["free_seats"] == 2
    assert offer["cost"] == {"currency": "ILS", "base_minor": 500, "per_km_minor": 80}
    assert len(offer["route"]) == len(ROUTE)
    assert offer["published_route"] != offer["route"]  # the privacy zone is cut
    assert any(isinstance(a, Publish) for a in driver.actions)
    listed = api.get("/v1/offers").json()
    assert [o["offer_id"] for o in listed] == [offer["offer_id"]]


def test_offer_defaults_duration_detours_cost_and_expiry(api: TestClient) -> None:
    body = offer_body()
    for key in ("duration_s", "max_detour_m", "max_detour_s", "cost", "expires_ms"):
        del body[key]
    offer = api.post("/v1/offers", json=body).json()
    assert offer["cost"] == {"currency": "XXX", "base_minor": 0, "per_km_minor": 0}
    assert (offer["max_detour_m"], offer["max_detour_s"]) == (1000, 600)
    assert offer["expires_ms"] > body["departure"]["end_ms"]


def test_a_route_as_geojson_or_gpx_is_the_same_route(api: TestClient) -> None:
    line = {"type": "LineString", "coordinates": [[lon, lat] for lat, lon in ROUTE]}
    feature = {"type": "Feature", "properties": {}, "geometry": line}
    collection = {"type": "FeatureCollection", "features": [feature]}
    points = "".join(f'<trkpt lat="{lat}" lon="{lon}"><ele>10</ele></trkpt>' for lat, lon in ROUTE)
    gpx = (
        '<?xml version="1.0"?><gpx version="1.1" creator="test" '
        'xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
        f"{points}</trkseg></trk></gpx>"
    )
    routes = []
    for form in (ROUTE, line, feature, collection, gpx):
        response = api.post("/v1/offers", json=offer_body(route=form))
        assert response.status_code == 201, response.text
        routes.append(response.json()["route"])
    assert all(r == routes[0] for r in routes)


@pytest.mark.parametrize(
    ("changes", "needles"),
    [
        ({"seats": 0}, ["seats=0", "1..8"]),
        ({"seats": "2"}, ["seats='2'", "whole number"]),
        ({"seats": None}, ["seats=None", "required"]),
        ({"route": [[32.1, 34.78]]}, ["route=", "1 point", "at least 2"]),
        ({"route": [[32.1, 34.78], [95.0, 34.78]]}, ["route[1]=", "lat"]),
        ({"route": "<gpx><trk><trkpt lat="}, ["route=", "not well-formed XML"]),
        ({"route": "<kml></kml>"}, ["route=", "root element gpx"]),
        ({"route": '<!DOCTYPE gpx [<!ENTITY a "b">]><gpx/>'}, ["route=", "DOCTYPE"]),
        ({"route": "<gpx></gpx>"}, ["route=", "no track points"]),
        ({"route": {"type": "Point", "coordinates": [34.7, 32.1]}}, ["route.type='Point'"]),
        ({"route": 7}, ["route=7", "GeoJSON"]),
        (
            {"departure": {"start_ms": NOW_MS - 3 * HOUR_MS, "end_ms": NOW_MS - 2 * HOUR_MS}},
            ["departure.end_ms=", "in the past"],
        ),
        (
            {"departure": {"start_ms": NOW_MS + 2, "end_ms": NOW_MS + 1}},
            ["departure.end_ms=", "before start_ms"],
        ),
        ({"departure": {"start_ms": NOW_MS}}, ["departure.end_ms=None", "required"]),
        ({"cost": {"currency": "shekel"}}, ["cost.currency='shekel'", "ISO 4217"]),
        ({"expires_ms": NOW_MS - 1}, ["expires_ms=", "in the past"]),
        ({"max_detour_m": -1}, ["max_detour_m=-1"]),
        ({"colour": "red"}, ["colour='red'", "unknown field"]),
    ],
)
def test_a_bad_offer_is_refused_naming_the_field(
    api: TestClient, driver: LocalNode, changes: dict[str, Any], needles: list[str]
) -> None:
    body = offer_body(**changes)
    body = {k: v for k, v in body.items() if v is not None}
    before = len(driver.actions)
    refused(api.post("/v1/offers", json=body), 400, *needles)
    assert len(driver.actions) == before  # nothing happened
    assert api.get("/v1/offers").json() == []


def test_a_route_too_short_for_the_privacy_zone_is_the_peers_refusal(api: TestClient) -> None:
    route = [[32.0853, 34.7818], [32.0863, 34.7818]]  # ~110 m
    detail = refused(api.post("/v1/offers", json=offer_body(route=route)), 400)
    assert "route" in detail.lower()


def test_a_body_that_is_not_a_json_object_is_refused(api: TestClient) -> None:
    refused(api.post("/v1/offers", content=b"{not json"), 400, "body=", "not JSON")
    refused(api.post("/v1/offers", json=[1, 2]), 400, "body=", "JSON object")


def test_a_body_over_the_limit_is_refused(api: TestClient) -> None:
    big = b'{"route": "' + b"x" * MAX_BODY_BYTES + b'"}'
    refused(api.post("/v1/offers", content=big), 413, "body=")


# -- requests


def test_request_keeps_exact_points_home_and_publishes_cells(
    api: TestClient, driver: LocalNode
) -> None:
    response = api.post("/v1/requests", json=request_body())
    assert response.status_code == 201, response.text
    request = response.json()
    assert request["pickup"] == PICKUP and request["dropoff"] == DROPOFF
    assert request["seats"] == 1 and request["status"] == "open"
    published = [a for a in driver.actions if isinstance(a, Publish)]
    assert published and all(b"32095" not in a.data for a in published)
    assert [r["request_id"] for r in api.get("/v1/requests").json()] == [request["request_id"]]


@pytest.mark.parametrize(
    ("changes", "needles"),
    [
        ({"seats": 0}, ["seats=0"]),
        ({"pickup": [32.1]}, ["pickup=", "[lat, lon]"]),
        ({"dropoff": "here"}, ["dropoff='here'"]),
        ({"max_walk_m": 99_999}, ["max_walk_m=99999", "0..5000"]),
        (
            {"window": {"start_ms": NOW_MS - 2 * HOUR_MS, "end_ms": NOW_MS - HOUR_MS}},
            ["window.end_ms=", "in the past"],
        ),
        ({"dropoff": PICKUP}, ["dropoff=", "pickup's cell"]),
    ],
)
def test_a_bad_request_is_refused_naming_the_field(
    api: TestClient, changes: dict[str, Any], needles: list[str]
) -> None:
    refused(api.post("/v1/requests", json=request_body(**changes)), 400, *needles)


def test_withdraw_stops_an_offer_and_unknown_ids_are_404(api: TestClient) -> None:
    offer = api.post("/v1/offers", json=offer_body()).json()
    response = api.post(f"/v1/offers/{offer['offer_id']}/withdraw")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "withdrawn"
    refused(api.post(f"/v1/offers/{'ab' * 16}/withdraw"), 404, "offer_id=")
    refused(api.post("/v1/requests/xyz/withdraw"), 400, "request_id='xyz'", "hex")


# -- candidates and the whole ride


def test_a_ride_from_offer_to_credited_receipt_through_both_apis(
    driver: LocalNode, rider: LocalNode, clock: Clock
) -> None:
    wire = Wire(driver, rider)
    with client_of(driver) as d, client_of(rider) as r:
        offer = d.post("/v1/offers", json=offer_body()).json()
        wire.flush()
        request = r.post("/v1/requests", json=request_body()).json()
        wire.flush()
        assert any(isinstance(a.event, CandidatesFound) for a in notifies(rider))

        matches = r.get(f"/v1/candidates/{request['request_id']}").json()
        assert [m["offer_id"] for m in matches] == [offer["offer_id"]]
        assert matches[0]["driver"]["public_key"] == driver.peer.public_key.hex()
        assert matches[0]["exact"] is True

        proposed = r.post(
            "/v1/rides",
            json={"request_id": request["request_id"], "offer_id": offer["offer_id"]},
        )
        assert proposed.status_code == 201, proposed.text
        ride_id = proposed.json()["ride_id"]
        assert proposed.json()["state"] == "proposed"
        wire.flush()

        (seen,) = d.get("/v1/rides").json()
        assert (seen["ride_id"], seen["role"], seen["state"]) == (ride_id, "driver", "proposed")
        assert step(d, ride_id, "accept")["state"] in ("accepted", "revealed")
        refused(d.post(f"/v1/rides/{ride_id}/accept"), 409, "accept")
        wire.flush()  # the rider reveals its points by itself; the driver checks them
        assert d.get(f"/v1/rides/{ride_id}").json()["state"] == "revealed"
        assert step(d, ride_id, "confirm")["state"] == "confirmed"
        wire.flush()
        pin = r.get(f"/v1/rides/{ride_id}").json()["pin"]
        assert pin
        assert step(d, ride_id, "pickup", pin=pin)["state"] == "picked_up"
        wire.flush()
        clock.now_ms += 12 * MINUTE_MS
        step(d, ride_id, "finish")
        wire.flush()  # the driver signs its half at drop-off (policy), the rider holds it
        assert r.get(f"/v1/rides/{ride_id}").json()["state"] == "receipt_proposed"
        step(r, ride_id, "sign")
        wire.flush()
        assert d.get(f"/v1/rides/{ride_id}").json()["state"] == "done"

        (half,) = d.get("/v1/receipts").json()
        assert half["half"] == "proposal" and half["verdict"] == "counted"
        assert half["receipt"]["ride_id"] == ride_id
        assert [h["half"] for h in r.get("/v1/receipts").json()] == ["agreement"]
        balance = d.get("/v1/balance").json()
        assert balance["balance_milli"] > 0
        assert balance["balance_milli"] == balance["lines"][0]["credited_milli"]
        seen_by_rider = r.get("/v1/balance", params={"member": driver.peer.public_key.hex()})
        assert seen_by_rider.json()["balance_milli"] == balance["balance_milli"]
        status = d.get("/v1/status").json()
        assert status["rides"] == {"done": 1}
        assert status["balance_milli"] == balance["balance_milli"]


def step(api: TestClient, ride_id: str, command: str, **body: Any) -> dict[str, Any]:
    response = api.post(f"/v1/rides/{ride_id}/{command}", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def notifies(node: LocalNode) -> list[Any]:
    return [a for a in node.actions if type(a).__name__ == "Notify"]


def test_decline_and_cancel_take_named_reasons(driver: LocalNode, rider: LocalNode) -> None:
    wire = Wire(driver, rider)
    with client_of(driver) as d, client_of(rider) as r:
        offer = d.post("/v1/offers", json=offer_body()).json()
        wire.flush()
        request = r.post("/v1/requests", json=request_body()).json()
        wire.flush()
        ids = {"request_id": request["request_id"], "offer_id": offer["offer_id"]}
        ride_id = r.post("/v1/rides", json=ids).json()["ride_id"]
        wire.flush()
        refused(
            d.post(f"/v1/rides/{ride_id}/decline", json={"reason": "bored"}),
            400,
            "reason='bored'",
            "no_seats",
        )
        declined = step(d, ride_id, "decline", reason="no_seats")
        assert declined["state"] == "cancelled"
        assert declined["endings"] == [{"by": "driver", "reason": "no_seats"}]
        wire.flush()
        again = r.post("/v1/rides", json=ids).json()["ride_id"]
        cancelled = step(r, again, "cancel", reason="changed_mind")
        assert cancelled["endings"] == [{"by": "rider", "reason": "changed_mind"}]


@pytest.mark.parametrize(
    "command", ["accept", "decline", "confirm", "cancel", "pickup", "finish", "sign"]
)
def test_a_command_on_an_unknown_ride_is_404(api: TestClient, command: str) -> None:
    body = {"pin": "1234"} if command == "pickup" else {}
    refused(api.post(f"/v1/rides/{'cd' * 16}/{command}", json=body), 404, "ride_id=")
    refused(api.post(f"/v1/rides/nothex/{command}", json=body), 400, "ride_id='nothex'")


def test_unknown_ids_paths_and_methods(api: TestClient) -> None:
    refused(api.get(f"/v1/rides/{'cd' * 16}"), 404, "ride_id=")
    refused(api.get(f"/v1/candidates/{'ef' * 16}"), 404, "own_id=")
    refused(api.post("/v1/rides", json={"request_id": "ab" * 16, "offer_id": "cd" * 16}), 404)
    refused(api.post("/v1/rides", json={"request_id": "ab" * 16}), 400, "offer_id=None")
    refused(api.get("/v1/nowhere"), 404, "path='/v1/nowhere'")
    refused(api.delete("/v1/rides"), 405, "method='DELETE'")
    refused(api.get("/v1/balance", params={"member": "lz1abc"}), 400, "member='lz1abc'")


# -- status, peers


def test_status_and_peers(api: TestClient, driver: LocalNode) -> None:
    driver.connected.add(Identity.from_seed(bytes([9]) * 32).public_key)
    status = api.get("/v1/status").json()
    assert status["member_id"] == driver.peer.member_id
    assert status["public_key"] == driver.peer.public_key.hex()
    assert status["connected"] == 1
    assert status["peer_id"] is None and status["store_path"] is None
    assert status["book"] == {"offers": 0, "requests": 0}
    (peer,) = api.get("/v1/peers").json()
    assert peer["member_id"].startswith("lz1")


# -- no input is a crash

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(field=st.sampled_from(sorted(offer_body())), value=_json)
def test_no_value_in_an_offer_is_a_crash(api: TestClient, field: str, value: object) -> None:
    # json.dumps writes NaN and Infinity, which Python's json.loads (the server's) reads.
    response = api.post("/v1/offers", content=json.dumps(offer_body(**{field: value})))
    assert response.status_code in (201, 400), response.text


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(field=st.sampled_from(sorted(request_body())), value=_json)
def test_no_value_in_a_request_is_a_crash(api: TestClient, field: str, value: object) -> None:
    response = api.post("/v1/requests", content=json.dumps(request_body(**{field: value})))
    assert response.status_code in (201, 400), response.text
