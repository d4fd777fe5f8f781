"""Builders for the matching tests: offers and requests in local metres, and small cities.

Matching works in the local metric frame, so most tests build places and
routes there directly; ``test_matching_rule`` also builds them from real
messages. The other matching test modules import from here.
"""

from __future__ import annotations

import math
from typing import Any

import shapely
from hypothesis import strategies as st

from protocol.fields import CostShare, TimeWindow
from protocol.matching import OpenOffer, OpenRequest, Place

T0_MS = 1_800_000_000_000
MINUTE_MS = 60_000


def offer(offer_id: bytes = b"offer-a", **changes: Any) -> OpenOffer:
    """A 10 km drive due east along y = 0, leaving in [T0, T0 + 15 min], 1250 s (8 m/s)."""
    fields: dict[str, Any] = {
        "offer_id": offer_id,
        "driver": b"driver",
        "route": shapely.LineString([(0, 0), (5_000, 0), (10_000, 0)]),
        "departure": TimeWindow(T0_MS, T0_MS + 15 * MINUTE_MS),
        "duration_s": 1_250,
        "seats": 3,
        "max_detour_m": 2_000,
        "max_detour_s": 600,
        "cost": CostShare("ILS", 500, 80),
    }
    fields.update(changes)
    return OpenOffer(**fields)


def request(
    pickup: tuple[float, float],
    dropoff: tuple[float, float],
    request_id: bytes = b"request-1",
    *,
    radius_m: float = 0.0,
    window: tuple[int, int] = (10, 40),
    seats: int = 1,
    max_walk_m: int = 200,
) -> OpenRequest:
    """A request between two places; ``window`` is in minutes after T0."""
    return OpenRequest(
        request_id=request_id,
        rider=b"rider-" + request_id,
        pickup=Place(*pickup, radius_m),
        dropoff=Place(*dropoff, radius_m),
        window=TimeWindow(T0_MS + window[0] * MINUTE_MS, T0_MS + window[1] * MINUTE_MS),
        seats=seats,
        max_walk_m=max_walk_m,
    )


# -- hypothesis: small random cities, 6 x 6 km


def _coord() -> st.SearchStrategy[float]:
    return st.floats(-3_000, 3_000, allow_nan=False).map(lambda v: round(v, 1))


@st.composite
def routes(draw: st.DrawFn) -> shapely.LineString:
    """Wandering routes of 2-40 vertices, sometimes with a repeated vertex."""
    x, y = draw(_coord()), draw(_coord())
    heading = draw(st.floats(0, 2 * math.pi))
    xy = [(x, y)]
    for _ in range(draw(st.integers(1, 39))):
        heading += draw(st.floats(-1.2, 1.2))
        step = draw(st.sampled_from([0.0, 50.0, 400.0, 900.0, 2_000.0]))
        x, y = x + step * math.cos(heading), y + step * math.sin(heading)
        xy.append((round(x, 1), round(y, 1)))
    if shapely.LineString(xy).length == 0:
        xy.append((xy[0][0] + 500.0, xy[0][1]))
    return shapely.LineString(xy)


_TIMES = st.integers(0, 4 * 60).map(lambda m: T0_MS + m * MINUTE_MS)


@st.composite
def offers(draw: st.DrawFn, offer_id: bytes) -> OpenOffer:
    start_ms = draw(_TIMES)
    return OpenOffer(
        offer_id=offer_id,
        driver=b"d",
        route=draw(routes()),
        departure=TimeWindow(start_ms, start_ms + draw(st.integers(0, 40)) * MINUTE_MS),
        duration_s=draw(st.integers(60, 3_000)),
        seats=draw(st.integers(1, 4)),
        max_detour_m=draw(st.sampled_from([0, 300, 1_000, 3_000])),
        max_detour_s=draw(st.sampled_from([0, 60, 300, 900])),
        cost=CostShare("EUR", draw(st.integers(0, 500)), draw(st.integers(0, 100))),
    )


@st.composite
def requests(draw: st.DrawFn, request_id: bytes) -> OpenRequest:
    radius_m = draw(st.sampled_from([0.0, 0.0, 300.0, 1_200.0]))
    start_ms = draw(_TIMES)
    return OpenRequest(
        request_id=request_id,
        rider=b"r",
        pickup=Place(draw(_coord()), draw(_coord()), radius_m),
        dropoff=Place(draw(_coord()), draw(_coord()), radius_m),
        window=TimeWindow(start_ms, start_ms + draw(st.integers(0, 60)) * MINUTE_MS),
        seats=draw(st.integers(1, 3)),
        max_walk_m=draw(st.sampled_from([0, 200, 800])),
    )


@st.composite
def cities(
    draw: st.DrawFn, max_offers: int = 12, max_requests: int = 12
) -> tuple[list[OpenOffer], list[OpenRequest]]:
    """Offers and requests with distinct ids; ids are drawn so that tie-breaks get exercised."""
    n_offers = draw(st.integers(1, max_offers))
    n_requests = draw(st.integers(1, max_requests))
    offer_ids = draw(st.permutations([bytes([i]) * 4 for i in range(n_offers)]))
    return (
        [draw(offers(oid)) for oid in offer_ids],
        [draw(requests(b"r" + bytes([i]))) for i in range(n_requests)],
    )


def test_the_default_offer_is_a_ten_km_drive_east() -> None:
    o = offer()
    assert o.geometry.length_m == 10_000
    assert o.route.coords[-1] == (10_000, 0)
