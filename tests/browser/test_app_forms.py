"""Bad input in the web UI's forms gets a clear message in the page, and nothing is sent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.flow import open_app, tab
from tests.browser.harness import TOKEN, LocalPair, click_map, local_pair, shot

NORTH, SOUTH = (32.1000, 34.7850), (32.0700, 34.7800)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPair]:
    with local_pair(tmp_path_factory.mktemp("forms")) as p:
        yield p


@pytest.fixture
def page(pair: LocalPair, new_page: Any) -> Any:
    p = new_page()
    open_app(p, pair.driver_url, TOKEN)
    return p


@pytest.fixture
def posted(page: Any) -> list[str]:
    """Paths of every offer or request the page sends."""
    sent: list[str] = []

    def seen(request: Any) -> None:
        if request.method == "POST" and request.url.endswith(("/v1/offers", "/v1/requests")):
            sent.append(request.url)

    page.on("request", seen)
    return sent


def past(page: Any, field: str) -> None:
    page.fill(field, "2020-01-01T08:00")


def offer_with_route(page: Any) -> None:
    for lat, lon in (NORTH, SOUTH):
        click_map(page, lat, lon)
    expect(page.locator("#route-summary")).to_contain_text("Route ")


def refused(page: Any, form: str, text: str, posted: list[str], artifacts: Path, name: str) -> None:
    error = page.locator(f"#{form}-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text(text)
    shot(page, artifacts, name)
    assert posted == []


def test_an_offer_without_a_route_is_refused_in_the_page(
    page: Any, posted: list[str], artifacts: Path
) -> None:
    page.click("#offer-submit")
    refused(page, "offer", "No route: click at least two points", posted, artifacts, "no-route")


def test_an_offer_of_zero_seats_is_refused_in_the_page(
    page: Any, posted: list[str], artifacts: Path
) -> None:
    offer_with_route(page)
    page.fill("#offer-seats", "0")
    page.click("#offer-submit")
    refused(page, "offer", "Seats must be a whole number from 1 to 8", posted, artifacts, "seats")


def test_an_offer_leaving_in_the_past_is_refused_in_the_page(
    page: Any, posted: list[str], artifacts: Path
) -> None:
    offer_with_route(page)
    past(page, "#offer-depart")
    page.click("#offer-submit")
    refused(page, "offer", "departure window ends in the past", posted, artifacts, "offer-past")


def test_a_request_in_the_past_is_refused_in_the_page(
    page: Any, posted: list[str], artifacts: Path
) -> None:
    tab(page, "ride")
    page.fill("#request-pickup", "Dizengoff Square")
    page.fill("#request-dropoff", "Azrieli Center")
    past(page, "#request-at")
    page.click("#request-submit")
    refused(page, "request", "pickup window ends in the past", posted, artifacts, "request-past")


def test_a_request_to_an_unknown_address_is_refused_in_the_page(
    page: Any, posted: list[str], artifacts: Path
) -> None:
    tab(page, "ride")
    page.fill("#request-pickup", "Dizengoff Square")
    page.fill("#request-dropoff", "Atlantis Central Station")
    page.click("#request-submit")
    refused(
        page,
        "request",
        "Unknown address for the drop-off: “Atlantis Central Station”",
        posted,
        artifacts,
        "unknown-address",
    )


def test_a_request_of_zero_seats_is_refused_in_the_page(
    page: Any, posted: list[str], artifacts: Path
) -> None:
    tab(page, "ride")
    page.fill("#request-pickup", "32.0950, 34.7840")
    page.fill("#request-dropoff", "home")
    page.fill("#request-seats", "0")
    page.click("#request-submit")
    refused(page, "request", "Seats must be a whole number from 1 to 8", posted, artifacts, "seats")


def test_a_good_request_after_a_refusal_is_sent(page: Any, posted: list[str]) -> None:
    tab(page, "ride")
    page.fill("#request-pickup", "Atlantis")
    page.click("#request-submit")
    expect(page.locator("#request-error")).to_contain_text("Unknown address")
    page.fill("#request-pickup", "Dizengoff Square")
    page.fill("#request-dropoff", "Azrieli Center")
    page.click("#request-submit")
    expect(page.locator("#request-error")).to_be_hidden()
    expect(page.locator("#requests [data-request]")).not_to_have_count(0)
    assert len(posted) == 1


def test_a_weekday_commute_is_scheduled_from_the_offer_form(
    page: Any, pair: LocalPair, artifacts: Path
) -> None:
    offer_with_route(page)
    past(page, "#offer-depart")  # only its time of day counts: 08:00
    for day in ("mon", "tue", "wed", "thu", "fri"):
        page.check(f"#offer-repeat input[value={day}]")
    page.fill("#offer-lead", "45")
    page.click("#offer-submit")
    card = page.locator("#schedules [data-schedule]")
    expect(card).to_have_count(1)
    expect(card).to_contain_text("mon, tue, wed, thu, fri at 08:00")
    expect(page.locator("#offer-error")).to_be_hidden()
    shot(page, artifacts, "recurring")
    card.locator("button").click()
    expect(card).to_have_count(0)
