"""Valid lazooz messages for tests: fixed builders and Hypothesis strategies.

Builders give one known-good message that a test changes one field of; the
strategies give arbitrary *valid* messages, so a property failing on one of
them is a bug in the code, not in the test data.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import h3.api.basic_int as h3i
import pyproj
from hypothesis import strategies as st

from protocol import codec, geo
from protocol.envelope import VERSION, signing_input
from protocol.fields import CostShare, GeoPoint, H3Cell, Polyline, TimeWindow
from protocol.identity import Identity
from protocol.messages import Message, RideOffer, RideRequest
from protocol.validation import DEFAULT_POLICY, HOUR_MS

MINUTE_MS = 60_000

ALICE = Identity.from_seed(bytes([1]) * 32)
BOB = Identity.from_seed(bytes([2]) * 32)

#: 2026-01-01T08:00:00Z: the receiving peer's clock in fixed examples.
NOW_MS = 1_767_254_400_000

#: A drive along Tel Aviv's Ibn Gabirol street, already privacy-cut: ~2.6 km.
CITY_ROUTE = Polyline.from_degrees(
    [
        (32.073210, 34.781720),
        (32.077890, 34.781530),
        (32.082590, 34.781210),
        (32.087240, 34.782050),
        (32.091870, 34.783380),
        (32.096330, 34.784120),
    ]
)

_GEOD = pyproj.Geod(ellps="WGS84")


def offer(**changes: Any) -> RideOffer:
    """A valid offer created at ``NOW_MS``, with ``changes`` applied."""
    base = RideOffer(
        offer_id=bytes(range(16)),
        seq=0,
        created_ms=NOW_MS,
        expires_ms=NOW_MS + 2 * HOUR_MS,
        route=CITY_ROUTE,
        departure=TimeWindow(NOW_MS + 10 * MINUTE_MS, NOW_MS + 25 * MINUTE_MS),
        duration_s=540,
        seats=3,
        max_detour_m=1_500,
        max_detour_s=300,
        cost=CostShare("ILS", 500, 80),
    )
    return dataclasses.replace(base, **changes)


def request(**changes: Any) -> RideRequest:
    """A valid request created at ``NOW_MS`` from north to south Tel Aviv."""
    base = RideRequest(
        request_id=bytes(range(16, 32)),
        seq=0,
        created_ms=NOW_MS,
        expires_ms=NOW_MS + HOUR_MS,
        pickup_cell=geo.cell_of(GeoPoint.from_degrees(32.0950, 34.7840)),
        dropoff_cell=geo.cell_of(GeoPoint.from_degrees(32.0740, 34.7815)),
        window=TimeWindow(NOW_MS + 5 * MINUTE_MS, NOW_MS + 35 * MINUTE_MS),
        seats=1,
        max_walk_m=600,
    )
    return dataclasses.replace(base, **changes)


def envelope(
    identity: Identity,
    kind: str,
    body: bytes,
    *,
    version: int = VERSION,
    signer: Identity | None = None,
) -> bytes:
    """Raw envelope bytes around any ``body``, signed over it by ``signer`` (default: author)."""
    signature = (signer or identity).sign(signing_input(kind, body))
    return codec.pack([version, kind, body, identity.public_key, signature])


def envelope_of(identity: Identity, message: Message, **kwargs: Any) -> bytes:
    return envelope(identity, message.KIND, codec.encode_body(message), **kwargs)


def body_fields(message: Message) -> list[object]:
    """The decoded top-level fields of ``message``'s body, for a test to change one."""
    value = codec.unpack(codec.encode_body(message), type(message).__name__)
    assert type(value) is tuple
    return list(value)


# -- strategies


def h3_cells(resolution: int) -> st.SearchStrategy[H3Cell]:
    """Valid H3 cells at ``resolution``, anywhere on Earth."""
    return st.builds(
        lambda lat, lon: H3Cell(h3i.latlng_to_cell(lat, lon, resolution)),
        st.floats(-90, 90),
        st.floats(-180, 180),
    )


@st.composite
def routes(draw: st.DrawFn, max_vertices: int = 40) -> Polyline:
    """Valid routes: vertices 10 m to 3 km apart, turning as roads do, anywhere below 80°."""
    lat = draw(st.floats(-80, 80))
    lon = draw(st.floats(-180, 180))
    bearing = draw(st.floats(0, 360))
    n = draw(st.integers(2, max_vertices))
    coords = [(lat, lon)]
    for i in range(n - 1):
        bearing += draw(st.floats(-90, 90))
        # The first step alone makes the route longer than the 200 m minimum.
        step_m = draw(st.floats(250 if i == 0 else 10, 3_000))
        lon, lat, _ = _GEOD.fwd(lon, lat, bearing, step_m)
        coords.append((lat, lon))
    return Polyline.from_degrees(coords)


_TIMES = st.integers(0, 2**44)


@st.composite
def offers(draw: st.DrawFn) -> RideOffer:
    """Valid offers: every field inside the SPEC §4.1 limits."""
    p = DEFAULT_POLICY
    created_ms = draw(_TIMES)
    route = draw(routes())
    speed_ms = draw(st.floats(2.0, 50.0))
    start_ms = draw(st.integers(created_ms - HOUR_MS, created_ms + p.max_window_ms))
    return RideOffer(
        offer_id=draw(st.binary(min_size=16, max_size=16)),
        seq=draw(st.integers(0, 2**63 - 1)),
        created_ms=created_ms,
        expires_ms=created_ms + draw(st.integers(1, p.max_lifetime_ms)),
        route=route,
        departure=TimeWindow(
            start_ms, max(start_ms, created_ms) + draw(st.integers(0, p.max_window_ms // 2))
        ),
        duration_s=max(1, math.ceil(geo.route_length_m(route) / speed_ms)),
        seats=draw(st.integers(1, p.max_seats)),
        max_detour_m=draw(st.integers(0, p.max_detour_m)),
        max_detour_s=draw(st.integers(0, p.max_detour_s)),
        cost=CostShare(
            draw(st.sampled_from(["EUR", "ILS", "USD", "JPY", "BRL"])),
            draw(st.integers(0, p.max_cost_minor)),
            draw(st.integers(0, p.max_cost_minor)),
        ),
    )


@st.composite
def requests(draw: st.DrawFn) -> RideRequest:
    """Valid requests: both cells at one resolution of 5..9, anywhere on Earth."""
    p = DEFAULT_POLICY
    created_ms = draw(_TIMES)
    resolution = draw(st.integers(p.min_cell_resolution, p.max_cell_resolution))
    start_ms = draw(st.integers(created_ms - HOUR_MS, created_ms + p.max_window_ms))
    return RideRequest(
        request_id=draw(st.binary(min_size=16, max_size=16)),
        seq=draw(st.integers(0, 2**63 - 1)),
        created_ms=created_ms,
        expires_ms=created_ms + draw(st.integers(1, p.max_lifetime_ms)),
        pickup_cell=draw(h3_cells(resolution)),
        dropoff_cell=draw(h3_cells(resolution)),
        window=TimeWindow(
            start_ms, max(start_ms, created_ms) + draw(st.integers(0, p.max_window_ms // 2))
        ),
        seats=draw(st.integers(1, p.max_seats)),
        max_walk_m=draw(st.integers(0, p.max_walk_m)),
    )


messages: st.SearchStrategy[RideOffer | RideRequest] = st.one_of(offers(), requests())

identities = st.binary(min_size=32, max_size=32).map(Identity.from_seed)
