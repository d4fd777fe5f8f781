"""The validation pipeline for gossiped messages (SPEC §5), as pure functions.

Order, cheapest and most fundamental first, and fixed so that every
implementation rejects the same input for the same reason:

    1 size  2 decode  3 schema  4 signature  5 freshness  6 replay  7 semantics

Only a message that passes all seven is recorded in the replay window and
returned; a rejection raises the ``RemoteError`` subclass of its step.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from protocol import geo
from protocol.codec import DecodeLimits
from protocol.envelope import Signed
from protocol.errors import (
    BadGeometry,
    ConfigError,
    Expired,
    InvalidMessage,
    NotYetValid,
    Oversized,
    RemoteError,
    Replayed,
    describe,
)
from protocol.fields import MICRO, CostShare, H3Cell, MessageId, Polyline, TimeWindow
from protocol.messages import KINDS, GossipMessage, Message, RideOffer, RideRequest
from protocol.opening import open_signed
from protocol.shared import SharedOpening

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


@dataclass(frozen=True, slots=True)
class ValidationPolicy:
    """Every limit the pipeline applies; defaults are the SPEC §5 values."""

    max_bytes: int = 64 * 1024
    max_skew_ms: int = 30_000
    max_lifetime_ms: int = 2 * DAY_MS
    max_window_ms: int = DAY_MS
    min_route_vertices: int = 2
    max_route_vertices: int = 1024
    min_route_m: float = 200.0
    max_route_m: float = 1_000_000.0
    max_segment_m: float = 50_000.0
    max_speed_kmh: float = 200.0
    max_seats: int = 8
    max_detour_m: int = 50_000
    max_detour_s: int = 3 * 3600
    max_walk_m: int = 5_000
    max_cost_minor: int = 10_000_000
    min_cell_resolution: int = 5
    max_cell_resolution: int = 9

    @property
    def decode_limits(self) -> DecodeLimits:
        return DecodeLimits(max_bytes=self.max_bytes)


DEFAULT_POLICY = ValidationPolicy()


@dataclass(slots=True)
class ReplayWindow:
    """Ids of accepted messages until they expire, in bounded memory.

    Every gossip message has a bounded lifetime (``max_lifetime_ms``), so an id
    can be forgotten once its message has expired: a replay after that fails
    freshness instead. If more than ``capacity`` live ids arrive, the one that
    expires first is forgotten early; a replay of it is then caught by the
    book's sequence check (SPEC §5.6).
    """

    capacity: int = 200_000
    skew_ms: int = 30_000
    _expiry: dict[MessageId, int] = field(default_factory=dict)
    _heap: list[tuple[int, MessageId]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ConfigError(describe("ReplayWindow.capacity", self.capacity, "must be >= 1"))

    def __len__(self) -> int:
        return len(self._expiry)

    def __contains__(self, message_id: MessageId) -> bool:
        return message_id in self._expiry

    def check(self, message_id: MessageId) -> None:
        if message_id in self._expiry:
            raise Replayed(describe("message_id", message_id.hex()[:16], "already accepted"))

    def record(self, message_id: MessageId, expires_ms: int, now_ms: int) -> None:
        self.forget_expired(now_ms)
        if message_id in self._expiry:
            # An id fixes its body and so its expiry; a second heap entry would
            # only grow the heap past ``capacity``.
            return
        self._expiry[message_id] = expires_ms
        heapq.heappush(self._heap, (expires_ms, message_id))
        # Evict after adding, so the new id competes too: it may be the one to go.
        while len(self._expiry) > self.capacity:
            _, soonest = heapq.heappop(self._heap)
            self._expiry.pop(soonest, None)

    def forget_expired(self, now_ms: int) -> None:
        # Keep ids as long as freshness would still accept their message.
        while self._heap and self._heap[0][0] + self.skew_ms < now_ms:
            _, gone = heapq.heappop(self._heap)
            self._expiry.pop(gone, None)


# -- the pipeline


def open_gossip(
    data: bytes,
    *,
    now_ms: int,
    replay: ReplayWindow,
    policy: ValidationPolicy = DEFAULT_POLICY,
    shared: SharedOpening | None = None,
    kinds: Mapping[str, type[Message]] = KINDS,
) -> Signed[GossipMessage]:
    """Run all seven steps on raw gossip bytes; return the verified message.

    ``kinds`` are those the topic carries (an area side carries one, SPEC §4.3);
    any other is refused at step 3, before the signature and the replay window.

    ``replay`` must remember ids at least as long as freshness accepts their
    messages, or a replay slips through the gap: ``ConfigError`` otherwise.
    With ``shared``, steps 1-4 and 7 (pure in the bytes) are taken from it
    when another Peer already ran them; the order of the steps, and so the
    first failure reported, is the same.
    """
    if replay.skew_ms < policy.max_skew_ms:
        raise ConfigError(
            describe(
                "ReplayWindow.skew_ms",
                replay.skew_ms,
                f"must be >= ValidationPolicy.max_skew_ms={policy.max_skew_ms}",
            )
        )
    if shared is None:
        opened = open_signed(data, kinds, policy.decode_limits)
        semantics: tuple[type[RemoteError], str] | None = None
    else:
        # One lookup for both pure parts; the semantic verdict is raised in its
        # place, after the checks that depend on this Peer.
        step = "gossip " + " ".join(kinds)
        opened, semantics = shared.run(
            step, policy, data, lambda: _open_judged(data, policy, kinds)
        )
    message = opened.message
    assert isinstance(message, (RideOffer, RideRequest))
    check_freshness(message, now_ms, policy)
    replay.check(opened.message_id)
    if shared is None:
        check_semantics(message, policy)
    elif semantics is not None:
        raise semantics[0](semantics[1])
    replay.record(opened.message_id, message.expires_ms, now_ms)
    return Signed(message=message, author=opened.author, message_id=opened.message_id, raw=data)


def _open_judged(
    data: bytes, policy: ValidationPolicy, kinds: Mapping[str, type[Message]]
) -> tuple[Signed[Message], tuple[type[RemoteError], str] | None]:
    """Steps 1-4, and step 7's verdict kept as its error's type and text rather than
    raised: it must come after steps 5 and 6, which depend on the Peer."""
    opened = open_signed(data, kinds, policy.decode_limits)
    message = opened.message
    assert isinstance(message, (RideOffer, RideRequest))  # gossip kinds are only these
    try:
        check_semantics(message, policy)
    except RemoteError as exc:
        return opened, (type(exc), str(exc))
    return opened, None


def check_size(data: bytes, policy: ValidationPolicy = DEFAULT_POLICY) -> None:
    if len(data) > policy.max_bytes:
        raise Oversized(describe("message", f"<{len(data)} bytes>", f"limit is {policy.max_bytes}"))


def check_freshness(
    message: GossipMessage, now_ms: int, policy: ValidationPolicy = DEFAULT_POLICY
) -> None:
    """Reject expired and future-dated messages, allowing ``max_skew_ms`` of clock skew."""
    name = type(message).__name__
    if message.expires_ms + policy.max_skew_ms < now_ms:
        raise Expired(
            describe(f"{name}.expires_ms", message.expires_ms, f"expired before now={now_ms}")
        )
    if message.created_ms - policy.max_skew_ms > now_ms:
        raise NotYetValid(
            describe(
                f"{name}.created_ms",
                message.created_ms,
                f"more than {policy.max_skew_ms} ms after now={now_ms}",
            )
        )


def check_semantics(message: GossipMessage, policy: ValidationPolicy = DEFAULT_POLICY) -> None:
    """Ranges and rules that need the whole message; also used for local input."""
    if isinstance(message, RideOffer):
        _check_offer(message, policy)
    else:
        _check_request(message, policy)


def _check_offer(m: RideOffer, p: ValidationPolicy) -> None:
    _check_common("RideOffer", m.seq, m.created_ms, m.expires_ms, m.seats, p)
    _check_window("RideOffer.departure", m.departure, m.created_ms, p)
    check_range("RideOffer.max_detour_m", m.max_detour_m, 0, p.max_detour_m)
    check_range("RideOffer.max_detour_s", m.max_detour_s, 0, p.max_detour_s)
    check_range("RideOffer.duration_s", m.duration_s, 1, p.max_window_ms // 1000)
    check_cost("RideOffer.cost", m.cost, p)
    length_m = check_route("RideOffer.route", m.route, p)
    speed_kmh = length_m / m.duration_s * 3.6
    if speed_kmh > p.max_speed_kmh:
        raise BadGeometry(
            describe(
                "RideOffer.duration_s",
                m.duration_s,
                f"implies {speed_kmh:.0f} km/h over {length_m:.0f} m (limit {p.max_speed_kmh:.0f})",
            )
        )


def _check_request(m: RideRequest, p: ValidationPolicy) -> None:
    _check_common("RideRequest", m.seq, m.created_ms, m.expires_ms, m.seats, p)
    _check_window("RideRequest.window", m.window, m.created_ms, p)
    check_range("RideRequest.max_walk_m", m.max_walk_m, 0, p.max_walk_m)
    check_cells("RideRequest", m.pickup_cell, m.dropoff_cell, p)


def check_cells(
    name: str, pickup: H3Cell, dropoff: H3Cell, p: ValidationPolicy = DEFAULT_POLICY
) -> None:
    """Both valid H3 cells, of one resolution a request may use (SPEC §4.2).

    A request's cells and a ride proposal's (protocol.ride.validation) obey the same rule.
    """
    resolutions = []
    for field_name, cell in (("pickup_cell", pickup), ("dropoff_cell", dropoff)):
        if not geo.is_cell(cell):
            raise BadGeometry(describe(f"{name}.{field_name}", cell, "not a valid H3 cell"))
        res = geo.cell_resolution(cell)
        if not p.min_cell_resolution <= res <= p.max_cell_resolution:
            raise InvalidMessage(
                describe(
                    f"{name}.{field_name}",
                    f"<res {res}>",
                    f"resolution must be {p.min_cell_resolution}..{p.max_cell_resolution}",
                )
            )
        resolutions.append(res)
    if resolutions[0] != resolutions[1]:
        raise InvalidMessage(
            describe(f"{name}.dropoff_cell", f"<res {resolutions[1]}>", "must match pickup's")
        )


def check_cost(field_name: str, cost: CostShare, p: ValidationPolicy = DEFAULT_POLICY) -> None:
    """An ISO 4217 currency and amounts within the policy (an offer's, a proposal's cost)."""
    c = cost.currency
    if not (len(c) == 3 and c.isascii() and c.isalpha() and c.isupper()):
        raise InvalidMessage(describe(f"{field_name}.currency", c, "must be ISO 4217"))
    check_range(f"{field_name}.base_minor", cost.base_minor, 0, p.max_cost_minor)
    check_range(f"{field_name}.per_km_minor", cost.per_km_minor, 0, p.max_cost_minor)


def check_route(field_name: str, route: Polyline, p: ValidationPolicy = DEFAULT_POLICY) -> float:
    """Vertex count, coordinates and lengths of a route; returns its length in metres.

    Lengths here are spherical and bit-exact (SPEC §5.7), so every peer draws
    the limits' edges in the same place; cost and matching use geodesics.
    """
    check_range(f"{field_name}.vertices", len(route), p.min_route_vertices, p.max_route_vertices)
    # int64 first: abs() of int32 -2**31 overflows to a negative number.
    coords = route.coords_e6().astype(np.int64)
    off = np.abs(coords) > _ON_EARTH_E6
    if off.any():
        i = int(off.any(axis=1).argmax())
        raise BadGeometry(
            describe(
                f"{field_name}[{i}]",
                (int(coords[i, 0]), int(coords[i, 1])),
                "not on Earth (lat_e6, lon_e6)",
            )
        )
    segments = geo.spherical_segment_lengths_m(coords)
    i = int(segments.argmax())
    if segments[i] > p.max_segment_m:
        raise BadGeometry(
            describe(
                f"{field_name}[{i}]",
                f"<{segments[i]:.0f} m segment>",
                f"limit {p.max_segment_m:.0f}",
            )
        )
    # Summed in route order, one rounding per addition: SPEC §5.7 fixes the order.
    length_m = float(np.cumsum(segments)[-1])
    if not p.min_route_m <= length_m <= p.max_route_m:
        raise BadGeometry(
            describe(
                field_name,
                f"<{length_m:.0f} m>",
                f"must be {p.min_route_m:.0f}..{p.max_route_m:.0f} m",
            )
        )
    return length_m


#: |lat_e6| and |lon_e6| limits of a vertex on Earth.
_ON_EARTH_E6 = np.array([90 * MICRO, 180 * MICRO], dtype=np.int64)


def _check_common(
    name: str, seq: int, created_ms: int, expires_ms: int, seats: int, p: ValidationPolicy
) -> None:
    check_range(f"{name}.seq", seq, 0, 2**63 - 1)
    check_range(f"{name}.created_ms", created_ms, 0, 2**63 - 1)
    lifetime = expires_ms - created_ms
    if not 0 < lifetime <= p.max_lifetime_ms:
        raise InvalidMessage(
            describe(
                f"{name}.expires_ms",
                expires_ms,
                f"must be 1..{p.max_lifetime_ms} ms after created_ms",
            )
        )
    check_range(f"{name}.seats", seats, 1, p.max_seats)


def check_window_length(
    field_name: str, window: TimeWindow, p: ValidationPolicy = DEFAULT_POLICY
) -> None:
    """A window that runs forward, at most ``p.max_window_ms`` long."""
    if not 0 <= window.length_ms <= p.max_window_ms:
        raise InvalidMessage(
            describe(
                field_name,
                (window.start_ms, window.end_ms),
                f"must run forward, at most {p.max_window_ms} ms",
            )
        )


def _check_window(
    field_name: str, window: TimeWindow, created_ms: int, p: ValidationPolicy
) -> None:
    check_window_length(field_name, window, p)
    if window.end_ms < created_ms:
        raise InvalidMessage(
            describe(f"{field_name}.end_ms", window.end_ms, "ends before the message was created")
        )


def check_range(field_name: str, value: int, lo: int, hi: int) -> None:
    """``lo <= value <= hi``, or ``InvalidMessage`` naming the field."""
    if not lo <= value <= hi:
        raise InvalidMessage(describe(field_name, value, f"must be {lo}..{hi}"))
