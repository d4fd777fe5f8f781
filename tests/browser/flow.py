"""A ride from offer to co-signed receipt, driven through two browser pages only.

Shared by the fast test (two LocalNodes) and the slow one (two real daemons).
Each step waits for what a person would wait for (a card, a state, a PIN)
with Playwright's own waits, and leaves a screenshot in ``artifacts``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.browser.harness import app_url, click_map, shot


@dataclass(frozen=True)
class Trip:
    route: Sequence[tuple[float, float]]
    pickup: tuple[float, float]
    dropoff: tuple[float, float]


def open_app(page: Any, base_url: str, token: str) -> None:
    page.goto(app_url(base_url, token))
    expect(page.locator("body[data-ready=true]")).to_be_attached()


def tab(page: Any, name: str) -> None:
    page.click(f"#tabs [data-tab={name}]")


def ride_card(page: Any, state: str) -> Any:
    return page.locator(f"#rides [data-state={state}]")


def redraw(page: Any) -> None:
    """Make the page redraw every ride card now, as an event arriving would."""
    page.evaluate("async () => { ridesShown = ''; await refresh(); }")


def offer_through_ui(page: Any, trip: Trip, artifacts: Path) -> None:
    for lat, lon in trip.route:
        click_map(page, lat, lon)
    expect(page.locator("#route-summary")).to_contain_text("Route ")
    page.fill("#offer-seats", "2")
    page.fill("#offer-currency", "ILS")
    page.fill("#offer-base", "500")
    page.fill("#offer-per-km", "80")
    expect(page.locator("#offer-cost-estimate")).to_contain_text("ILS")
    page.click("#offer-submit")
    expect(page.locator("#offers [data-offer]")).to_have_count(1)
    expect(page.locator("#offers .status.open")).to_have_count(1)
    shot(page, artifacts, "1-driver-offered")


def request_through_ui(page: Any, trip: Trip, artifacts: Path) -> None:
    tab(page, "ride")
    page.fill("#request-pickup", f"{trip.pickup[0]}, {trip.pickup[1]}")
    page.fill("#request-dropoff", f"{trip.dropoff[0]}, {trip.dropoff[1]}")
    page.click("#request-submit")
    expect(page.locator("#requests [data-request]")).to_have_count(1)
    expect(page.locator("#requests .candidate")).to_have_count(1, timeout=60_000)
    shot(page, artifacts, "2-rider-candidates")


def ride_through_ui(
    driver: Any,
    rider: Any,
    trip: Trip,
    artifacts: Path,
    *,
    before_finish: Callable[[], None] = lambda: None,
    on_confirmed: Callable[[], None] = lambda: None,
    distance_m: int | None = None,
) -> str:
    """Offer, request, propose, accept, confirm, PIN, finish, sign; the driver's balance."""
    offer_through_ui(driver, trip, artifacts)
    request_through_ui(rider, trip, artifacts)
    expect(rider.locator("#requests .candidate .reputation")).to_have_text(
        "Driver's rating: no ratings yet"
    )
    rider.click("#requests .candidate button")
    expect(ride_card(rider, "proposed")).to_have_count(1)

    tab(driver, "rides")
    ride_card(driver, "proposed").locator("[data-action=accept]").click()
    ride_card(driver, "revealed").locator("[data-action=confirm]").click(timeout=60_000)
    expect(ride_card(driver, "confirmed")).to_have_count(1)
    shot(driver, artifacts, "3-driver-confirmed")

    pin = rider.locator(".pin-value")
    expect(pin).to_have_text(re.compile(r"^\d{4,}$"), timeout=60_000)
    shot(rider, artifacts, "4-rider-pin")
    on_confirmed()
    card = ride_card(driver, "confirmed")
    card.locator("input.pin").fill(pin.inner_text())
    redraw(driver)  # live updates redraw the cards: what was typed must survive
    expect(card.locator("input.pin")).to_have_value(pin.inner_text())
    card.locator("[data-action=pickup]").click()
    expect(ride_card(driver, "picked_up")).to_have_count(1)
    before_finish()
    card = ride_card(driver, "picked_up")
    if distance_m is not None:
        card.locator("input.distance").fill(str(distance_m))
        redraw(driver)
        expect(card.locator("input.distance")).to_have_value(str(distance_m))
    card.locator("[data-action=finish]").click()

    ride_card(rider, "receipt_proposed").locator("[data-action=sign]").click(timeout=60_000)
    expect(ride_card(rider, "done")).to_have_count(1, timeout=60_000)
    expect(ride_card(driver, "done")).to_have_count(1, timeout=60_000)
    shot(rider, artifacts, "5-rider-done")

    credited = []
    for who, page in (("driver", driver), ("rider", rider)):
        tab(page, "wallet")
        expect(page.locator("#receipts tbody tr")).not_to_have_count(0, timeout=60_000)
        line = page.locator("#credit-lines li[data-ride]")
        expect(line).to_have_count(1, timeout=60_000)
        credited.append(line.get_attribute("data-credited"))
        shot(page, artifacts, f"6-{who}-wallet")
    # Both nodes credit the driver the same, and that is the driver's balance.
    assert credited[0] == credited[1], credited
    driver_balance = driver.locator("#wallet-balance").inner_text()
    assert f"{int(credited[0] or 0) / 1000:.3f}" == driver_balance
    return str(driver_balance)


def rate_through_ui(driver: Any, rider: Any, artifacts: Path) -> None:
    """After the receipt, each party rates the other on its done ride card; a Rate with no
    star chosen is refused in the page and sends nothing."""
    for who, page, stars in (("rider", rider, 5), ("driver", driver, 4)):
        tab(page, "rides")
        card = ride_card(page, "done")
        card.locator("[data-action=rate]").click()
        expect(card.locator(".ride-error")).to_have_text("Choose 1 to 5 stars first, then rate.")
        redraw(page)  # what the node holds: still no rating
        expect(card.locator("[data-action=rate]")).to_have_count(1)
        expect(card.locator(".rating.given")).to_have_count(0)
        card.locator(f"button.star[data-stars='{stars}']").click()
        expect(card.locator(".ride-error")).to_be_hidden()
        shot(page, artifacts, f"7-{who}-stars")
        card.locator("[data-action=rate]").click()
        given = card.locator(".rating.given")
        expect(given).to_have_attribute("data-rating", str(stars))
        expect(given).to_contain_text(f"You rated them ★★★★{'★' if stars == 5 else '☆'} {stars}/5")
        expect(card.locator("[data-action=rate]")).to_have_count(0)
        shot(page, artifacts, f"8-{who}-rated")
    # Each party's own ledger counts its rating at once: the rider sees the driver's
    # reputation, the driver the rider's, on the ride card.
    expect(ride_card(rider, "done").locator(".reputation")).to_have_text("Their rating: ★ 5.0 (1)")
    expect(ride_card(driver, "done").locator(".reputation")).to_have_text("Their rating: ★ 4.0 (1)")
