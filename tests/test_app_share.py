"""Share-trip links: a contact with the link sees the ride's state live, without the control
token and without the PIN; unsharing ends the link."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.test_control_app import (
    Clock,
    Wire,
    client_of,
    local_node,
    offer_body,
    request_body,
    step,
)


def confirmed_ride(clock: Clock) -> tuple[TestClient, TestClient, str]:
    driver, rider = local_node(1, clock), local_node(2, clock)
    wire = Wire(driver, rider)
    d, r = client_of(driver), client_of(rider)
    offer = d.post("/v1/offers", json=offer_body()).json()
    wire.flush()
    request = r.post("/v1/requests", json=request_body()).json()
    wire.flush()
    ride_id = r.post(
        "/v1/rides", json={"request_id": request["request_id"], "offer_id": offer["offer_id"]}
    ).json()["ride_id"]
    wire.flush()
    step(d, ride_id, "accept")
    wire.flush()
    step(d, ride_id, "confirm")
    wire.flush()
    return d, r, ride_id


def test_a_share_link_shows_the_ride_without_the_token_and_without_the_pin() -> None:
    _, rider, ride_id = confirmed_ride(Clock())
    with rider as r:
        pin = r.get(f"/v1/rides/{ride_id}").json()["pin"]
        made = r.post(f"/v1/rides/{ride_id}/share")
        assert made.status_code == 201, made.text
        link = made.json()
        assert link["path"] == f"/share/{link['token']}" and len(link["token"]) >= 32
        page = r.get(link["path"], headers={"Authorization": ""})
        assert page.status_code == 200 and "shared trip" in page.text
        seen = r.get(link["path"] + "/ride", headers={"Authorization": ""})
        assert seen.status_code == 200
        view = seen.json()
        assert view["state"] == "confirmed" and view["sharer_role"] == "rider"
        assert view["ride"] == ride_id[:8] and view["other_party"].startswith("lz1")
        assert pin not in seen.text and ride_id not in seen.text


def test_unsharing_ends_every_link_and_a_made_up_link_is_404() -> None:
    _, rider, ride_id = confirmed_ride(Clock())
    with rider as r:
        paths = [r.post(f"/v1/rides/{ride_id}/share").json()["path"] for _ in range(2)]
        assert r.post(f"/v1/rides/{ride_id}/unshare").json() == {"ride_id": ride_id, "revoked": 2}
        for path in (*paths, "/share/guessed-token", "/share/guessed-token/ride"):
            assert r.get(path + "/ride", headers={"Authorization": ""}).status_code == 404
            assert r.get(path, headers={"Authorization": ""}).status_code == 404


def test_only_own_rides_can_be_shared_and_only_with_the_token() -> None:
    driver, _, _ = confirmed_ride(Clock())
    with driver as d:
        unknown = d.post(f"/v1/rides/{'ab' * 16}/share")
        assert unknown.status_code == 404 and "ride_id=" in unknown.json()["detail"]
        rides = d.get("/v1/rides").json()
        no_token = d.post(f"/v1/rides/{rides[0]['ride_id']}/share", headers={"Authorization": ""})
        assert no_token.status_code == 401
