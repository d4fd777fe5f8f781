"""The web UI in Debian's chromium against two nodes' control servers: a whole ride through
the pages, and no page loading anything from beyond 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import publish_screenshots
from tests.browser.flow import (
    Trip,
    offer_through_ui,
    open_app,
    rate_through_ui,
    ride_card,
    ride_through_ui,
    tab,
)
from tests.browser.harness import TOKEN, ExternalGuard, LocalPair, local_pair
from tests.test_peer_net import DRIVE

ROUTE = [(p.lat, p.lon) for p in DRIVE.points()]
TRIP = Trip(ROUTE, pickup=(32.0950, 34.7840), dropoff=(32.0745, 34.7815))


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[LocalPair]:
    with local_pair(tmp_path) as p:
        yield p


def test_a_ride_through_the_web_ui_ends_with_the_same_balance_in_both_wallets_and_a_live_share(
    pair: LocalPair, new_page: Any, guard: ExternalGuard, artifacts: Path
) -> None:
    driver, rider = new_page(), new_page()
    open_app(driver, pair.driver_url, TOKEN)
    open_app(rider, pair.rider_url, TOKEN)
    contact: list[Any] = []

    def share_with_a_contact() -> None:
        card = rider.locator("#rides [data-state=confirmed]")
        card.locator("[data-action=share]").click()
        link = card.locator(".share-link input").input_value()
        assert link.startswith(pair.rider_url + "/share/") and TOKEN not in link
        page = new_page()  # a browser of its own: no control token anywhere
        page.goto(link)
        expect(page.locator("body[data-state=confirmed]")).to_be_attached()
        expect(page.locator("#words")).to_contain_text("on its way")
        contact.append(page)

    # The ride takes a quarter of an hour, so its distance is a plausible drive (SPEC credit rule).
    balance = ride_through_ui(
        driver,
        rider,
        TRIP,
        artifacts,
        before_finish=lambda: pair.advance(15 * 60_000),
        on_confirmed=share_with_a_contact,
    )
    expect(contact[0].locator("body[data-state=done]")).to_be_attached()
    expect(contact[0].locator("#words")).to_contain_text("both signed its receipt")
    rate_through_ui(driver, rider, artifacts)
    assert float(balance) > 0
    assert pair.driver.peer.balances() == pair.rider.peer.balances()
    assert guard.blocked == []
    publish_screenshots(
        artifacts,
        {
            "1-driver-offered": "driver-view",
            "2-rider-candidates": "rider-view",
            "6-driver-wallet": "wallet",
        },
    )


def test_the_pages_request_nothing_beyond_this_machine(
    pair: LocalPair, new_page: Any, guard: ExternalGuard
) -> None:
    page = new_page()
    open_app(page, pair.driver_url, TOKEN)
    for name in ("ride", "rides", "wallet", "history", "drive"):
        tab(page, name)
    expect(page.locator("#live.on")).to_be_attached()  # the event stream too
    assert guard.seen, "the guard saw no request at all"
    assert all(url.startswith(pair.driver_url) or url.startswith("data:") for url in guard.seen)
    assert guard.blocked == []
    expect(page.locator("#notice")).to_be_hidden()


#: A stand-in for the browser's Notification: allowed, and recording what it is asked to show.
RECORD_NOTIFICATIONS = """
window.shown = [];
window.Notification = class {
  static permission = "granted";
  static requestPermission() { return Promise.resolve("granted"); }
  constructor(title, options) { window.shown.push(title + ": " + options.body); }
};
document.hasFocus = () => false;
"""


def test_state_changes_reach_the_system_when_the_page_is_not_in_front(
    pair: LocalPair, new_page: Any, artifacts: Path
) -> None:
    driver, rider = new_page(), new_page()
    rider.add_init_script(RECORD_NOTIFICATIONS)
    open_app(driver, pair.driver_url, TOKEN)
    open_app(rider, pair.rider_url, TOKEN)
    offer_through_ui(driver, TRIP, artifacts)
    tab(rider, "ride")
    rider.fill("#request-pickup", f"{TRIP.pickup[0]}, {TRIP.pickup[1]}")
    rider.fill("#request-dropoff", f"{TRIP.dropoff[0]}, {TRIP.dropoff[1]}")
    rider.click("#request-submit")
    rider.click("#requests .candidate button")
    tab(driver, "rides")
    ride_card(driver, "proposed").locator("[data-action=accept]").click()
    rider.wait_for_function("() => shown.some((s) => s.includes('accepted'))")
    shown = rider.evaluate("() => shown")
    assert any("match(es) for your request" in s for s in shown), shown
    assert all(s.startswith("lazooz: ") for s in shown)
