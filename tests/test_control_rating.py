"""Rating through the control API: ``POST /v1/rides/{id}/rating``, and ratings and reputations
shown in rides, receipts and candidates. Every answer is checked against the OpenAPI document."""

from __future__ import annotations

from typing import Any

import pytest

from lazooz.control.handle import LocalNode
from protocol.peer.params import MINUTE_MS
from tests.test_control_app import (
    Clock,
    Wire,
    client_of,
    local_node,
    offer_body,
    refused,
    request_body,
    step,
)


def done_ride(driver: LocalNode, rider: LocalNode, clock: Clock, wire: Wire) -> str:
    """Offer, request, propose, accept, confirm, pick up, finish, sign: the ride's id."""
    with client_of(driver) as d, client_of(rider) as r:
        offer = d.post("/v1/offers", json=offer_body()).json()
        wire.flush()
        request = r.post("/v1/requests", json=request_body()).json()
        wire.flush()
        body = {"request_id": request["request_id"], "offer_id": offer["offer_id"]}
        ride_id: str = r.post("/v1/rides", json=body).json()["ride_id"]
        wire.flush()
        step(d, ride_id, "accept")
        wire.flush()
        step(d, ride_id, "confirm")
        wire.flush()
        step(d, ride_id, "pickup", pin=r.get(f"/v1/rides/{ride_id}").json()["pin"])
        wire.flush()
        clock.now_ms += 12 * MINUTE_MS
        step(d, ride_id, "finish")
        wire.flush()
        step(r, ride_id, "sign")
        wire.flush()
        assert d.get(f"/v1/rides/{ride_id}").json()["state"] == "done"
        return ride_id


@pytest.fixture
def pair() -> tuple[LocalNode, LocalNode, Clock, Wire, str]:
    clock = Clock()
    driver, rider = local_node(1, clock), local_node(2, clock)
    wire = Wire(driver, rider)
    return driver, rider, clock, wire, done_ride(driver, rider, clock, wire)


def sync(wire: Wire, clock: Clock, *nodes: LocalNode) -> None:
    """Let the heads gossip a log change schedules go out, and the sync it starts finish."""
    clock.now_ms += 5_000
    for node in nodes:
        node.run(lambda p, now: (None, p.timer_fired(("heads",), now)))
    wire.flush()


def test_both_parties_rate_and_see_the_rating_given_and_the_others_reputation(
    pair: tuple[LocalNode, LocalNode, Clock, Wire, str],
) -> None:
    driver, rider, clock, wire, ride_id = pair
    with client_of(driver) as d, client_of(rider) as r:
        before = r.get(f"/v1/rides/{ride_id}").json()
        assert before["rating"] is None
        assert before["counterparty_reputation"] == {"count": 0, "mean": None}

        rated = r.post(f"/v1/rides/{ride_id}/rating", json={"stars": 5})
        assert rated.status_code == 200, rated.text
        assert rated.json()["rating"] == 5
        assert step(d, ride_id, "rating", stars=4)["rating"] == 4
        sync(wire, clock, driver, rider)

        seen_by_rider = r.get(f"/v1/rides/{ride_id}").json()
        assert seen_by_rider["counterparty_reputation"] == {"count": 1, "mean": 5.0}
        seen_by_driver = d.get("/v1/rides").json()[0]
        assert seen_by_driver["counterparty_reputation"] == {"count": 1, "mean": 4.0}
        assert [h["rating"] for h in r.get("/v1/receipts").json()] == [5]
        assert [h["rating"] for h in d.get("/v1/receipts").json()] == [4]
        # Each sees how the other rated it, by the logs sync brought.
        assert d.get("/v1/balance").json()["reputation"] == {"count": 1, "mean": 5.0}
        assert r.get("/v1/balance").json()["reputation"] == {"count": 1, "mean": 4.0}


def test_a_later_candidate_shows_the_drivers_reputation(
    pair: tuple[LocalNode, LocalNode, Clock, Wire, str],
) -> None:
    driver, rider, clock, wire, ride_id = pair
    with client_of(driver) as d, client_of(rider) as r:
        step(r, ride_id, "rating", stars=3)
        sync(wire, clock, rider, driver)
        clock.now_ms += 60 * MINUTE_MS
        start = clock.now_ms
        window = {"start_ms": start + 10 * MINUTE_MS, "end_ms": start + 25 * MINUTE_MS}
        offer = d.post(
            "/v1/offers", json=offer_body(departure=window, expires_ms=start + 120 * MINUTE_MS)
        ).json()
        wire.flush()
        asked = {"start_ms": start + 5 * MINUTE_MS, "end_ms": start + 40 * MINUTE_MS}
        request = r.post(
            "/v1/requests", json=request_body(window=asked, expires_ms=start + 60 * MINUTE_MS)
        ).json()
        wire.flush()
        matches = r.get(f"/v1/candidates/{request['request_id']}").json()
        assert [m["offer_id"] for m in matches] == [offer["offer_id"]]
        assert matches[0]["reputation"] == {"count": 1, "mean": 3.0}
        (seen,) = d.get(f"/v1/candidates/{offer['offer_id']}").json()
        assert seen["reputation"] == {"count": 0, "mean": None}  # nobody rated the rider


@pytest.mark.parametrize(
    ("body", "needles"),
    [
        ({"stars": 0}, ("stars=0", "1..5")),
        ({"stars": 6}, ("stars=6", "1..5")),
        ({"stars": "5"}, ("stars='5'",)),
        ({"stars": 4.5}, ("stars=4.5",)),
        ({}, ("stars=None", "required")),
        ({"stars": 5, "comment": "nice"}, ("comment",)),
    ],
)
def test_bad_stars_are_a_400_naming_the_field_and_nothing_is_written(
    pair: tuple[LocalNode, LocalNode, Clock, Wire, str], body: dict[str, Any], needles: tuple[str]
) -> None:
    _, rider, _, _, ride_id = pair
    entries = len(rider.peer.ledger)
    with client_of(rider) as r:
        refused(r.post(f"/v1/rides/{ride_id}/rating", json=body), 400, *needles)
    assert len(rider.peer.ledger) == entries


def test_a_second_rating_is_a_409_and_an_unknown_ride_a_404(
    pair: tuple[LocalNode, LocalNode, Clock, Wire, str],
) -> None:
    _, rider, _, _, ride_id = pair
    with client_of(rider) as r:
        step(r, ride_id, "rating", stars=2)
        answer = r.post(f"/v1/rides/{ride_id}/rating", json={"stars": 5})
        refused(answer, 409, ride_id, "rated 2 already")
        assert answer.json()["error"] == "already_rated"
        refused(r.post(f"/v1/rides/{'0' * 32}/rating", json={"stars": 5}), 404, "0" * 32)
        assert r.get(f"/v1/rides/{ride_id}").json()["rating"] == 2


def test_a_ride_not_done_is_a_409() -> None:
    clock = Clock()
    driver, rider = local_node(1, clock), local_node(2, clock)
    wire = Wire(driver, rider)
    with client_of(driver) as d, client_of(rider) as r:
        offer = d.post("/v1/offers", json=offer_body()).json()
        wire.flush()
        request = r.post("/v1/requests", json=request_body()).json()
        wire.flush()
        body = {"request_id": request["request_id"], "offer_id": offer["offer_id"]}
        ride_id = r.post("/v1/rides", json=body).json()["ride_id"]
        answer = r.post(f"/v1/rides/{ride_id}/rating", json={"stars": 5})
        refused(answer, 409, "is proposed", "once it is done")
        assert answer.json()["error"] == "not_done"
