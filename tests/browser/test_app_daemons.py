"""The web UI of two real ``lazooz daemon`` processes on loopback, in Debian's chromium: the
driver offers and the rider requests through their pages, both accept, the PIN is entered,
the ride finishes, and the receipt shows in both wallets with the same credit."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.flow import (
    Trip,
    open_app,
    rate_through_ui,
    redraw,
    ride_card,
    ride_through_ui,
    tab,
)
from tests.browser.harness import ExternalGuard
from tests.node_swarm import Member, Swarm
from tests.test_peer_net import DRIVE

TRIP = Trip(
    [(p.lat, p.lon) for p in DRIVE.points()], pickup=(32.0950, 34.7840), dropoff=(32.0745, 34.7815)
)
#: The ride is over within a fraction of a second of the pickup here: 3 m keep its implied
#: speed under the credit rule's limit (150 km/h), as in tests/test_node_e2e.py.
DRIVEN_M = 3


def rated(member: Member) -> dict[str, Any] | None:
    """How others rated ``member`` by its node's ledger, once some rating counts."""
    rep: dict[str, Any] = member.get("/v1/balance")["reputation"]
    return rep if rep["count"] else None


def connected(member: Member) -> bool:
    return int(member.get("/v1/status")["connected"]) >= 1


@pytest.mark.slow
def test_two_daemons_ride_through_their_web_uis_to_the_same_credit(
    swarm: Swarm, new_page: Any, guard: ExternalGuard, artifacts: Path
) -> None:
    driver = swarm.add("driver")
    swarm.start(driver)
    rider = swarm.add("rider", bootstrap=[driver.addr()])
    swarm.start(rider)
    swarm.wait("driver and rider to connect", lambda: connected(driver) and connected(rider))

    driver_page, rider_page = new_page(), new_page()
    open_app(driver_page, driver.api.url, driver.api.token)
    open_app(rider_page, rider.api.url, rider.api.token)

    def rider_sees_the_pickup() -> None:
        expect(ride_card(rider_page, "picked_up")).to_have_count(1)

    ride_through_ui(
        driver_page,
        rider_page,
        TRIP,
        artifacts,
        before_finish=rider_sees_the_pickup,
        distance_m=DRIVEN_M,
    )
    driver_view = driver.get("/v1/balance")
    rider_view = rider.get("/v1/balance", member=driver.public_key)
    why = [(line["verdict"], line["text"]) for line in driver_view["lines"]]
    assert driver_view["balance_milli"] == rider_view["balance_milli"] > 0, why
    assert [line["verdict"] for line in driver_view["lines"]] == ["counted"]

    # Both rate; sync carries each rating to the other daemon, whose wallet then shows it.
    rate_through_ui(driver_page, rider_page, artifacts)
    for member, stars in ((driver, 5.0), (rider, 4.0)):
        heard = swarm.wait(f"{member.name} to hear how it was rated", partial(rated, member))
        assert heard == {"count": 1, "mean": stars}
    for page, shown in ((driver_page, "★ 5.0 (1)"), (rider_page, "★ 4.0 (1)")):
        tab(page, "wallet")
        redraw(page)
        expect(page.locator("#my-reputation")).to_have_text(shown)
    assert guard.blocked == []
    assert swarm.stop_all() == {"driver": 0, "rider": 0}
