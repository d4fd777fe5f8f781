"""The user's own offers and requests: building, signing, republishing (SPEC §11.8).

An offer's route is cut by the privacy zone once, when it is made; every
republication carries the same cut route with a higher ``seq``, so repeating
an offer never reveals more of its ends. A request keeps its exact points
here, never in what is published.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field
from typing import Any, Literal

import shapely

from protocol import geo
from protocol.codec import decode_body, decode_envelope
from protocol.errors import InvalidMessage, LazoozError, describe
from protocol.fields import CostShare, GeoPoint, H3Cell, Polyline, TimeWindow
from protocol.identity import Identity
from protocol.messages import RideOffer, RideRequest
from protocol.peer.errors import BadCommand
from protocol.peer.params import PeerParams
from protocol.signing import seal
from protocol.validation import check_semantics
from protocol.wire import ID_BYTES, DecodeLimits, pack, unpack

Status = Literal["open", "booked", "expired", "withdrawn"]


@dataclass(slots=True)
class OwnOffer:
    """An offer the user made: what is published, and the full route kept private."""

    offer: RideOffer
    raw: bytes
    full_route: Polyline
    #: The area cells the published route crosses (SPEC §4.3).
    cells: tuple[H3Cell, ...]
    #: Seats the user offered; ``offer.seats`` is what is still free.
    base_seats: int
    #: Seats held by rides in progress, by ride id.
    taken: dict[bytes, int] = field(default_factory=dict)
    status: Status = "open"
    next_publish_ms: int = 0

    @property
    def offer_id(self) -> bytes:
        return self.offer.offer_id

    @property
    def free_seats(self) -> int:
        return self.base_seats - sum(self.taken.values())

    @property
    def topics(self) -> tuple[str, ...]:
        """Where it is published: the offer topic of every cell its route crosses."""
        return geo.area_topics(self.cells, "offers")

    @property
    def listens(self) -> tuple[str, ...]:
        """What it needs to hear while open: requests in the same cells."""
        return geo.area_topics(self.cells, "requests")


@dataclass(slots=True)
class OwnRequest:
    """A request the user made, with the exact points only the matched driver will see."""

    request: RideRequest
    raw: bytes
    pickup: GeoPoint
    dropoff: GeoPoint
    status: Status = "open"
    next_publish_ms: int = 0
    #: The ride that booked this request, while one does.
    ride_id: bytes | None = None

    @property
    def request_id(self) -> bytes:
        return self.request.request_id

    @property
    def topic(self) -> str:
        """Where it is published: the request topic of its pickup's area."""
        return geo.area_topic(self.request.pickup_cell, "requests")

    @property
    def listens(self) -> str:
        """What it needs to hear while open: offers in its pickup's area."""
        return geo.area_topic(self.request.pickup_cell, "offers")


def new_offer(
    identity: Identity,
    rng: random.Random,
    params: PeerParams,
    *,
    route: Polyline,
    departure: TimeWindow,
    duration_s: int,
    seats: int,
    max_detour_m: int,
    max_detour_s: int,
    cost: CostShare,
    expires_ms: int,
    now_ms: int,
) -> OwnOffer:
    """Cut, time, check and sign an offer of the user's full ``route``.

    ``departure`` is when the user leaves the route's first vertex and
    ``duration_s`` the drive of the whole route; both are moved to the
    published (cut) route in proportion to length.
    """
    _positive("duration_s", duration_s)
    if len(route) < 2:
        raise BadCommand(describe("route", f"<{len(route)} vertices>", "needs at least 2"))
    for i, p in enumerate(route.points()):
        if not geo.on_earth(p.lat_e6, p.lon_e6):
            raise BadCommand(describe(f"route[{i}]", (p.lat_e6, p.lon_e6), "not on Earth"))
    try:
        cut = geo.cut_privacy_zone(route, params.privacy_zone, rng)
    except LazoozError as exc:
        raise BadCommand(str(exc)) from None
    full_m = geo.route_length_m(route)
    head_m = _along_m(route, cut.points()[0])
    head_s = round(duration_s * head_m / full_m)
    offer = RideOffer(
        offer_id=rng.randbytes(ID_BYTES),
        seq=0,
        created_ms=now_ms,
        expires_ms=expires_ms,
        route=cut,
        departure=TimeWindow(departure.start_ms + head_s * 1000, departure.end_ms + head_s * 1000),
        duration_s=max(1, round(duration_s * geo.route_length_m(cut) / full_m)),
        seats=seats,
        max_detour_m=max_detour_m,
        max_detour_s=max_detour_s,
        cost=cost,
    )
    _check(offer, params)
    signed = seal(identity, offer)
    return OwnOffer(offer, signed.raw, route, geo.route_cells(cut), seats)


def new_request(
    identity: Identity,
    rng: random.Random,
    params: PeerParams,
    *,
    pickup: GeoPoint,
    dropoff: GeoPoint,
    window: TimeWindow,
    seats: int,
    max_walk_m: int,
    expires_ms: int,
    now_ms: int,
) -> OwnRequest:
    """Check and sign a request; only the points' cells are published (SPEC §4.2)."""
    for name, p in (("pickup", pickup), ("dropoff", dropoff)):
        if not geo.on_earth(p.lat_e6, p.lon_e6):
            raise BadCommand(describe(name, (p.lat_e6, p.lon_e6), "not on Earth"))
    request = RideRequest(
        request_id=rng.randbytes(ID_BYTES),
        seq=0,
        created_ms=now_ms,
        expires_ms=expires_ms,
        pickup_cell=geo.cell_of(pickup, params.request_resolution),
        dropoff_cell=geo.cell_of(dropoff, params.request_resolution),
        window=window,
        seats=seats,
        max_walk_m=max_walk_m,
    )
    _check(request, params)
    if request.pickup_cell == request.dropoff_cell:
        raise BadCommand(
            describe("dropoff", (dropoff.lat_e6, dropoff.lon_e6), "is in the pickup's cell")
        )
    signed = seal(identity, request)
    return OwnRequest(request, signed.raw, pickup, dropoff)


def republished_offer(identity: Identity, own: OwnOffer) -> None:
    """The next ``seq`` of ``own``'s offer, with its current free seats, signed."""
    own.offer = dataclasses.replace(own.offer, seq=own.offer.seq + 1, seats=max(1, own.free_seats))
    own.raw = seal(identity, own.offer).raw


def republished_request(identity: Identity, own: OwnRequest) -> None:
    own.request = dataclasses.replace(own.request, seq=own.request.seq + 1)
    own.raw = seal(identity, own.request).raw


def next_publish_ms(params: PeerParams, rng: random.Random, now_ms: int) -> int:
    return now_ms + params.republish_ms + rng.randint(0, params.republish_jitter_ms)


# -- durable form (Persist kinds "offer" and "request")


def dump_offer(own: OwnOffer) -> bytes:
    taken = [[ride_id, seats] for ride_id, seats in sorted(own.taken.items())]
    return pack([own.raw, own.full_route.packed, own.base_seats, own.status, taken])


def load_offer(data: bytes) -> OwnOffer:
    raw, full, base_seats, status, taken = _fields(data, 5)
    offer = _open_own(raw, RideOffer)
    assert isinstance(offer, RideOffer)
    own = OwnOffer(
        offer, raw, Polyline(full), geo.route_cells(offer.route), base_seats, status=status
    )
    own.taken = {bytes(r): int(s) for r, s in taken}
    return own


def dump_request(own: OwnRequest) -> bytes:
    p, d = own.pickup, own.dropoff
    return pack(
        [own.raw, [p.lat_e6, p.lon_e6], [d.lat_e6, d.lon_e6], own.status, own.ride_id or b""]
    )


def load_request(data: bytes) -> OwnRequest:
    raw, (plat, plon), (dlat, dlon), status, ride_id = _fields(data, 5)
    request = _open_own(raw, RideRequest)
    assert isinstance(request, RideRequest)
    own = OwnRequest(
        request,
        raw,
        GeoPoint(plat, plon),
        GeoPoint(dlat, dlon),
        status=status,
        ride_id=ride_id or None,
    )
    return own


def _fields(data: bytes, n: int) -> tuple[Any, ...]:
    # Own records are this Peer's own writing; a store that returns something
    # else is broken, and that is a StoreError for the shell, not remote input.
    value = unpack(data, "record", _RECORD_LIMITS)
    if type(value) is not tuple or len(value) != n:
        raise BadCommand(describe("record", f"<{len(data)} bytes>", f"must be an array of {n}"))
    return value


def _open_own(raw: bytes, cls: type[RideOffer | RideRequest]) -> RideOffer | RideRequest:
    env = decode_envelope(raw, _RECORD_LIMITS)
    message = decode_body(env.kind, env.body, _RECORD_LIMITS)
    if not isinstance(message, cls):
        raise BadCommand(describe("record", env.kind, f"must be a {cls.KIND}"))
    return message


# -- helpers

_RECORD_LIMITS = DecodeLimits(max_bytes=256 * 1024)


def _check(message: RideOffer | RideRequest, params: PeerParams) -> None:
    """The rules every receiver applies, applied before signing: a failure is the user's."""
    try:
        check_semantics(message, params.validation)
    except InvalidMessage as exc:
        raise BadCommand(str(exc)) from None


def _positive(name: str, value: int) -> None:
    if type(value) is not int or value < 1:
        raise BadCommand(describe(name, value, "must be a positive integer"))


def _along_m(route: Polyline, point: GeoPoint) -> float:
    """How far along ``route`` the point nearest ``point`` lies, in metres."""
    # Centred on the area cell, not the route's own start: a projection takes
    # ~25 ms to build, areas repeat (cached), and the frame moves a position
    # along a 45 km route by under a metre (200 random routes, 60 S to 60 N).
    projection = geo.LocalProjection.around(geo.cell_center(geo.topic_cell(route.points()[0])))
    line = shapely.LineString(projection.route_xy(route))
    return float(line.project(shapely.Point(projection.point_xy(point))))
