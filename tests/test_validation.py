"""The gossip validation pipeline (SPEC §5): what it accepts, what it refuses and why."""

from __future__ import annotations

import contextlib
import dataclasses

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import codec, geo
from protocol.errors import (
    BadGeometry,
    BadSignature,
    ConfigError,
    DecodeError,
    Expired,
    InvalidMessage,
    LazoozError,
    NotYetValid,
    Oversized,
    RemoteError,
    Replayed,
    UnknownKind,
)
from protocol.fields import CostShare, GeoPoint, MessageId, Polyline, TimeWindow
from protocol.identity import Identity
from protocol.messages import KINDS, RideOffer, RideRequest
from protocol.signing import seal
from protocol.validation import (
    DEFAULT_POLICY,
    HOUR_MS,
    ReplayWindow,
    ValidationPolicy,
    check_route,
    check_semantics,
    open_gossip,
)
from tests import strategies
from tests.strategies import (
    ALICE,
    BOB,
    MINUTE_MS,
    NOW_MS,
    body_fields,
    envelope,
    envelope_of,
    offer,
    request,
)

FAST = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
SKEW_MS = DEFAULT_POLICY.max_skew_ms


def _open(raw: bytes, replay: ReplayWindow | None = None, now_ms: int = NOW_MS) -> object:
    return open_gossip(raw, now_ms=now_ms, replay=replay or ReplayWindow())


def _rejection(raw: bytes, error: type[RemoteError], now_ms: int = NOW_MS) -> str:
    """The message of the error ``open_gossip`` raises for ``raw``, which must be ``error``."""
    with pytest.raises(error) as caught:
        _open(raw, now_ms=now_ms)
    assert type(caught.value) is error, caught.value
    return str(caught.value)


# -- properties


@FAST
@given(strategies.messages, strategies.identities)
def test_every_valid_message_is_accepted_as_it_was_sealed(
    message: RideOffer | RideRequest, author: Identity
) -> None:
    sealed = seal(author, message)
    replay = ReplayWindow()
    opened = open_gossip(sealed.raw, now_ms=message.created_ms, replay=replay)
    assert opened == sealed
    assert sealed.message_id in replay


@FAST
@given(strategies.messages, st.data())
def test_any_single_bit_flip_is_rejected(
    message: RideOffer | RideRequest, data: st.DataObject
) -> None:
    raw = seal(ALICE, message).raw
    _open(raw, now_ms=message.created_ms)  # the original is accepted
    bit = data.draw(st.integers(0, len(raw) * 8 - 1), label="bit")
    flipped = bytearray(raw)
    flipped[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(RemoteError):
        _open(bytes(flipped), now_ms=message.created_ms)


@FAST
@given(st.binary(max_size=2_000))
def test_arbitrary_bytes_are_rejected_as_remote_errors(data: bytes) -> None:
    with pytest.raises(RemoteError):
        _open(data)


_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats()
    | st.text(max_size=70)
    | st.binary(max_size=80)
)
_VALUES = st.recursive(
    _LEAVES,
    lambda inner: (
        st.lists(inner, max_size=12) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=24,
)


@FAST
@given(_VALUES)
def test_arbitrary_msgpack_values_are_rejected_as_remote_errors(value: object) -> None:
    with pytest.raises(RemoteError):
        _open(msgpack.packb(value))


@FAST
@given(st.sampled_from(sorted(KINDS)), st.lists(_VALUES, max_size=13))
def test_signed_envelopes_around_arbitrary_bodies_raise_only_lazooz_errors(
    kind: str, body: list[object]
) -> None:
    # Correctly signed, so the junk reaches schema and beyond.
    with pytest.raises(LazoozError):
        _open(envelope(ALICE, kind, msgpack.packb(body)))


_FIELD_VALUES = (
    st.integers(-(2**63), 2**64 - 1)
    | st.integers(-10, 10**13)
    | st.booleans()
    | st.floats()
    | st.binary(max_size=40)
    | st.text(max_size=5)
    | st.tuples(st.integers(-(2**63), 2**64 - 1), st.integers(-(2**63), 2**64 - 1))
    | st.tuples(st.text(max_size=4), st.integers(-5, 10**8), st.integers(-5, 10**8))
)


@FAST
@given(strategies.messages, st.dictionaries(st.integers(0, 10), _FIELD_VALUES, min_size=1))
def test_valid_messages_with_fields_replaced_raise_only_lazooz_errors(
    message: RideOffer | RideRequest, changes: dict[int, object]
) -> None:
    fields = body_fields(message)
    for index, value in changes.items():
        fields[index % len(fields)] = value
    raw = envelope(ALICE, message.KIND, codec.pack(fields))
    # Failing with a LazoozError is the one allowed way to fail; accepting is fine too.
    with contextlib.suppress(LazoozError):
        _open(raw, now_ms=message.created_ms)


_OPS = st.lists(
    st.tuples(
        st.integers(0, 11),  # which id
        st.integers(0, 5_000),  # its lifetime from now
        st.integers(0, 3_000),  # how far the clock moves first
    ),
    max_size=60,
)


@FAST
@given(st.integers(1, 6), st.integers(0, 500), _OPS)
def test_replay_window_stays_within_capacity_and_forgets_only_expired_ids_unless_full(
    capacity: int, skew_ms: int, ops: list[tuple[int, int, int]]
) -> None:
    window = ReplayWindow(capacity=capacity, skew_ms=skew_ms)
    held: dict[MessageId, int] = {}  # what the window should still hold, and expiries
    now_ms = 0
    for which, lifetime_ms, advance_ms in ops:
        now_ms += advance_ms
        message_id = MessageId(bytes([which]) * 32)
        # An id fixes its message, so one id always comes with one expiry.
        expires_ms = which * 1_000 + lifetime_ms if message_id not in held else held[message_id]
        live = {m: e for m, e in held.items() if e + skew_ms >= now_ms}
        window.record(message_id, expires_ms, now_ms)
        live[message_id] = expires_ms
        kept = {m: e for m, e in live.items() if m in window}
        dropped = live.keys() - kept.keys()

        assert len(window) <= capacity
        assert len(window._heap) <= capacity  # the memory that is really bounded
        if len(live) <= capacity:
            assert not dropped, "forgot a live id while there was room"
        else:
            assert len(dropped) == len(live) - capacity
            assert max(live[m] for m in dropped) <= min(kept.values()), "kept a sooner expiry"
        held = kept


# -- accepted, by example


def test_valid_offer_is_accepted_with_its_author_and_id(replay: ReplayWindow) -> None:
    sealed = seal(ALICE, offer())
    opened = open_gossip(sealed.raw, now_ms=NOW_MS, replay=replay)
    assert opened.message == offer()
    assert opened.author == ALICE.public_key
    assert opened.message_id == sealed.message_id
    assert len(replay) == 1


def test_offer_dated_exactly_skew_ahead_is_accepted() -> None:
    _open(envelope_of(ALICE, offer(created_ms=NOW_MS + SKEW_MS)))


def test_offer_expired_exactly_skew_ago_is_accepted() -> None:
    _open(envelope_of(ALICE, offer(created_ms=NOW_MS - HOUR_MS, expires_ms=NOW_MS - SKEW_MS)))


def test_custom_policy_limits_are_applied() -> None:
    raw = envelope_of(ALICE, offer(seats=6))
    strict = ValidationPolicy(max_seats=4)
    with pytest.raises(InvalidMessage, match=r"^RideOffer.seats=6: must be 1..4"):
        open_gossip(raw, now_ms=NOW_MS, replay=ReplayWindow(), policy=strict)


# -- rejected: one test per rule, naming the field and the value


def test_message_over_the_size_limit_is_oversized_naming_size_and_limit() -> None:
    raw = envelope_of(ALICE, offer())
    policy = ValidationPolicy(max_bytes=len(raw) - 1)
    with pytest.raises(Oversized) as caught:
        open_gossip(raw, now_ms=NOW_MS, replay=ReplayWindow(), policy=policy)
    assert str(caught.value) == f"message='<{len(raw)} bytes>': limit is {len(raw) - 1}"
    open_gossip(raw, now_ms=NOW_MS, replay=ReplayWindow(), policy=ValidationPolicy(len(raw)))


def test_junk_over_64_kib_is_oversized_before_any_decoding() -> None:
    assert "65537 bytes" in _rejection(b"\xc1" * 65_537, Oversized)


def test_truncated_envelope_is_a_decode_error() -> None:
    raw = envelope_of(ALICE, offer())
    assert _rejection(raw[:-1], DecodeError).startswith(f"Envelope='<{len(raw) - 1} bytes>'")


def test_unknown_kind_is_rejected_before_the_signature_is_checked() -> None:
    raw = envelope(ALICE, "ride.cancel", codec.encode_body(offer()), signer=BOB)
    assert _rejection(raw, UnknownKind).startswith("Envelope.kind='ride.cancel'")


def test_offer_signed_by_another_key_is_rejected_naming_the_claimed_author() -> None:
    message = _rejection(envelope_of(ALICE, offer(), signer=BOB), BadSignature)
    assert message.startswith("Envelope.signature=")
    assert f"does not verify for {ALICE.member_id}" in message


def test_offer_changed_after_signing_is_rejected_as_bad_signature() -> None:
    signature = ALICE.sign(b"lazooz/1/ride.offer\x00" + codec.encode_body(offer()))
    tampered = codec.pack(
        [1, RideOffer.KIND, codec.encode_body(offer(seats=4)), ALICE.public_key, signature]
    )
    _rejection(tampered, BadSignature)


def test_signature_is_checked_before_freshness() -> None:
    stale = offer(created_ms=NOW_MS - 3 * HOUR_MS, expires_ms=NOW_MS - HOUR_MS)
    _rejection(envelope_of(ALICE, stale, signer=BOB), BadSignature)


def test_expired_offer_is_rejected_naming_expiry_and_now() -> None:
    expires_ms = NOW_MS - SKEW_MS - 1
    raw = envelope_of(ALICE, offer(created_ms=NOW_MS - HOUR_MS, expires_ms=expires_ms))
    assert _rejection(raw, Expired) == (
        f"RideOffer.expires_ms={expires_ms}: expired before now={NOW_MS}"
    )


def test_expiry_is_checked_before_semantics() -> None:
    raw = envelope_of(
        ALICE, request(created_ms=NOW_MS - 3 * HOUR_MS, expires_ms=NOW_MS - HOUR_MS, seats=0)
    )
    _rejection(raw, Expired)


def test_future_dated_request_is_rejected_naming_created_ms_and_skew() -> None:
    created_ms = NOW_MS + SKEW_MS + 1
    raw = envelope_of(ALICE, request(created_ms=created_ms, expires_ms=created_ms + HOUR_MS))
    assert _rejection(raw, NotYetValid) == (
        f"RideRequest.created_ms={created_ms}: more than {SKEW_MS} ms after now={NOW_MS}"
    )


def test_replayed_offer_is_rejected_naming_its_id(replay: ReplayWindow) -> None:
    sealed = seal(ALICE, offer())
    open_gossip(sealed.raw, now_ms=NOW_MS, replay=replay)
    with pytest.raises(Replayed) as caught:
        open_gossip(sealed.raw, now_ms=NOW_MS + MINUTE_MS, replay=replay)
    assert str(caught.value) == f"message_id='{sealed.message_id.hex()[:16]}': already accepted"


def test_replay_after_expiry_is_rejected_as_expired_and_the_id_is_forgotten(
    replay: ReplayWindow,
) -> None:
    sealed = seal(ALICE, offer())
    open_gossip(sealed.raw, now_ms=NOW_MS, replay=replay)
    later_ms = offer().expires_ms + SKEW_MS + 1
    with pytest.raises(Expired):
        open_gossip(sealed.raw, now_ms=later_ms, replay=replay)
    replay.forget_expired(later_ms)
    assert sealed.message_id not in replay


def test_rejected_message_is_not_recorded(replay: ReplayWindow) -> None:
    with pytest.raises(InvalidMessage):
        open_gossip(envelope_of(ALICE, offer(seats=0)), now_ms=NOW_MS, replay=replay)
    assert len(replay) == 0


def test_offer_with_zero_seats_is_rejected_naming_seats() -> None:
    assert _rejection(envelope_of(ALICE, offer(seats=0)), InvalidMessage) == (
        "RideOffer.seats=0: must be 1..8"
    )


def test_request_for_nine_seats_is_rejected_naming_seats() -> None:
    assert _rejection(envelope_of(ALICE, request(seats=9)), InvalidMessage) == (
        "RideRequest.seats=9: must be 1..8"
    )


def test_offer_with_seats_as_boolean_is_invalid_not_one_seat() -> None:
    fields = body_fields(offer())
    fields[7] = True
    raw = envelope(ALICE, RideOffer.KIND, codec.pack(fields))
    assert _rejection(raw, InvalidMessage) == "RideOffer.seats='<bool>': must be an integer"


def test_departure_window_running_backwards_is_rejected_naming_both_ends() -> None:
    start, end = NOW_MS + 25 * MINUTE_MS, NOW_MS + 10 * MINUTE_MS
    raw = envelope_of(ALICE, offer(departure=TimeWindow(start, end)))
    assert _rejection(raw, InvalidMessage).startswith(
        f"RideOffer.departure=({start}, {end}): must run forward"
    )


def test_request_window_longer_than_a_day_is_rejected() -> None:
    window = TimeWindow(NOW_MS, NOW_MS + 24 * HOUR_MS + 1)
    raw = envelope_of(ALICE, request(window=window, expires_ms=NOW_MS + 2 * HOUR_MS))
    assert _rejection(raw, InvalidMessage).startswith("RideRequest.window=(")


def test_window_ending_before_the_message_was_created_is_rejected() -> None:
    window = TimeWindow(NOW_MS - 2 * HOUR_MS, NOW_MS - 1)
    raw = envelope_of(ALICE, request(window=window))
    assert _rejection(raw, InvalidMessage) == (
        f"RideRequest.window.end_ms={NOW_MS - 1}: ends before the message was created"
    )


@pytest.mark.parametrize("lifetime_ms", [0, -1, 48 * HOUR_MS + 1])
def test_lifetime_outside_0_to_48_hours_is_rejected_naming_expires_ms(lifetime_ms: int) -> None:
    expires_ms = NOW_MS + lifetime_ms
    raw = envelope_of(ALICE, offer(created_ms=NOW_MS, expires_ms=expires_ms))
    now_ms = min(NOW_MS, expires_ms)
    assert _rejection(raw, InvalidMessage, now_ms=now_ms).startswith(
        f"RideOffer.expires_ms={expires_ms}: must be 1..{48 * HOUR_MS} ms after created_ms"
    )


def test_negative_seq_is_rejected_naming_seq() -> None:
    assert _rejection(envelope_of(ALICE, request(seq=-1)), InvalidMessage).startswith(
        "RideRequest.seq=-1: must be 0.."
    )


@pytest.mark.parametrize(
    ("change", "shown"),
    [
        ({"max_detour_m": 50_001}, "RideOffer.max_detour_m=50001: must be 0..50000"),
        ({"max_detour_s": -1}, "RideOffer.max_detour_s=-1: must be 0..10800"),
        ({"duration_s": 0}, "RideOffer.duration_s=0: must be 1..86400"),
    ],
)
def test_offer_limits_are_rejected_naming_field_value_and_range(
    change: dict[str, int], shown: str
) -> None:
    assert _rejection(envelope_of(ALICE, offer(**change)), InvalidMessage) == shown


def test_walk_over_5_km_is_rejected_naming_max_walk_m() -> None:
    assert _rejection(envelope_of(ALICE, request(max_walk_m=5_001)), InvalidMessage) == (
        "RideRequest.max_walk_m=5001: must be 0..5000"
    )


@pytest.mark.parametrize("currency", ["A1B", "eur", "EURO", "EU", "ÉUR", "E R"])
def test_currency_that_is_not_three_capital_letters_is_rejected(currency: str) -> None:
    raw = envelope_of(ALICE, offer(cost=CostShare(currency, 100, 10)))
    assert _rejection(raw, InvalidMessage) == (
        f"RideOffer.cost.currency={currency!r}: must be ISO 4217"
    )


def test_negative_cost_is_rejected_naming_base_minor() -> None:
    raw = envelope_of(ALICE, offer(cost=CostShare("EUR", -1, 10)))
    assert _rejection(raw, InvalidMessage).startswith("RideOffer.cost.base_minor=-1")


def test_vertex_at_latitude_91_is_rejected_naming_the_vertex() -> None:
    route = Polyline.from_degrees([(32.07, 34.78), (91.0, 34.78)])
    assert _rejection(envelope_of(ALICE, offer(route=route)), BadGeometry) == (
        "RideOffer.route[1]=(91000000, 34780000): not on Earth (lat_e6, lon_e6)"
    )


def test_vertex_at_the_most_negative_int32_longitude_is_off_the_earth() -> None:
    # abs(int32 -2**31) overflows; read modulo 360° this vertex is 300 m from the next.
    route = Polyline.from_points([GeoPoint(0, -(2**31)), GeoPoint(0, 12_519_352)])
    assert _rejection(envelope_of(ALICE, offer(route=route)), BadGeometry) == (
        "RideOffer.route[0]=(0, -2147483648): not on Earth (lat_e6, lon_e6)"
    )


@pytest.mark.parametrize("vertices", [0, 1, 1025])
def test_route_vertex_count_outside_2_to_1024_is_rejected_naming_the_count(vertices: int) -> None:
    route = Polyline.from_points(
        GeoPoint(32_000_000 + 100 * i, 34_780_000) for i in range(vertices)
    )
    assert _rejection(envelope_of(ALICE, offer(route=route)), InvalidMessage) == (
        f"RideOffer.route.vertices={vertices}: must be 2..1024"
    )


def test_route_with_an_odd_byte_count_is_rejected_naming_its_size() -> None:
    fields = body_fields(offer())
    fields[4] = offer().route.packed[:-4]
    raw = envelope(ALICE, RideOffer.KIND, codec.pack(fields))
    assert _rejection(raw, InvalidMessage) == (
        "RideOffer.route='<44 bytes>': must be whole (lat, lon) int32 pairs"
    )


def test_route_shorter_than_200_m_is_rejected_naming_its_length() -> None:
    route = Polyline.from_degrees([(32.0800, 34.78), (32.0810, 34.78)])
    raw = envelope_of(ALICE, offer(route=route, duration_s=30))
    assert _rejection(raw, BadGeometry) == "RideOffer.route='<111 m>': must be 200..1000000 m"


def test_route_limits_use_the_spherical_length_not_the_geodesic() -> None:
    # SPEC §5.7: 1794 µdeg of latitude at 80° N is 200.3 m on WGS84 but 199.5 m
    # on the mean sphere; 1799 µdeg at the equator is 198.9 m on WGS84, 200.04 m
    # on the sphere. The sphere decides.
    polar = Polyline.from_points(
        [GeoPoint(80_000_000, 10_000_000), GeoPoint(80_001_794, 10_000_000)]
    )
    assert geo.route_length_m(polar) > 200
    raw = envelope_of(ALICE, offer(route=polar, duration_s=30))
    assert _rejection(raw, BadGeometry) == "RideOffer.route='<199 m>': must be 200..1000000 m"

    equator = Polyline.from_points([GeoPoint(0, 10_000_000), GeoPoint(1_799, 10_000_000)])
    assert geo.route_length_m(equator) < 200
    _open(envelope_of(ALICE, offer(route=equator, duration_s=30)))


@FAST
@given(strategies.offers())
def test_route_length_returned_by_validation_is_the_sum_in_route_order(offer: RideOffer) -> None:
    segments = geo.spherical_segment_lengths_m(offer.route.coords_e6().astype("int64"))
    total_m = 0.0
    for segment_m in segments.tolist():
        total_m += segment_m
    assert check_route("RideOffer.route", offer.route) == total_m


def test_segment_longer_than_50_km_is_rejected_naming_the_segment() -> None:
    route = Polyline.from_degrees([(32.0853, 34.7818), (31.7683, 35.2137)])
    raw = envelope_of(ALICE, offer(route=route, duration_s=3_600))
    assert _rejection(raw, BadGeometry) == "RideOffer.route[0]='<53887 m segment>': limit 50000"


def test_impossible_speed_is_rejected_naming_duration_and_speed() -> None:
    assert _rejection(envelope_of(ALICE, offer(duration_s=10)), BadGeometry) == (
        "RideOffer.duration_s=10: implies 935 km/h over 2598 m (limit 200)"
    )


def test_request_cells_at_resolution_12_are_rejected_as_too_fine() -> None:
    pickup = geo.cell_of(GeoPoint.from_degrees(32.095, 34.784), 12)
    dropoff = geo.cell_of(GeoPoint.from_degrees(32.074, 34.781), 12)
    raw = envelope_of(ALICE, request(pickup_cell=pickup, dropoff_cell=dropoff))
    assert _rejection(raw, InvalidMessage) == (
        "RideRequest.pickup_cell='<res 12>': resolution must be 5..9"
    )


def test_request_cells_of_different_resolutions_are_rejected_naming_dropoff() -> None:
    dropoff = geo.cell_of(GeoPoint.from_degrees(32.074, 34.781), 8)
    raw = envelope_of(ALICE, request(dropoff_cell=dropoff))
    assert _rejection(raw, InvalidMessage) == (
        "RideRequest.dropoff_cell='<res 8>': must match pickup's"
    )


@pytest.mark.parametrize("cell", [0, -1, 2**64 - 1, request().pickup_cell & ~0b111])
def test_request_with_an_invalid_h3_cell_is_rejected_as_geometry(cell: int) -> None:
    raw = envelope_of(ALICE, request(pickup_cell=cell))
    assert _rejection(raw, BadGeometry) == f"RideRequest.pickup_cell={cell}: not a valid H3 cell"


def test_check_semantics_applies_the_same_rules_to_local_input() -> None:
    with pytest.raises(InvalidMessage, match=r"^RideOffer.seats=0"):
        check_semantics(offer(seats=0))
    check_semantics(dataclasses.replace(offer(), seats=8))


# -- the replay window, by example


@pytest.mark.parametrize("capacity", [0, -5])
def test_replay_window_without_room_is_a_config_error(capacity: int) -> None:
    with pytest.raises(ConfigError, match=r"^ReplayWindow.capacity="):
        ReplayWindow(capacity=capacity)


def test_replay_window_forgetting_before_freshness_allows_is_a_config_error() -> None:
    # With skew 60 s but ids kept only 30 s past expiry, a replay 45 s after
    # expiry would pass freshness and find its id forgotten.
    policy = ValidationPolicy(max_skew_ms=60_000)
    raw = envelope_of(ALICE, offer())
    with pytest.raises(ConfigError) as caught:
        open_gossip(raw, now_ms=NOW_MS, replay=ReplayWindow(skew_ms=30_000), policy=policy)
    assert str(caught.value) == (
        "ReplayWindow.skew_ms=30000: must be >= ValidationPolicy.max_skew_ms=60000"
    )
    open_gossip(raw, now_ms=NOW_MS, replay=ReplayWindow(skew_ms=60_000), policy=policy)


def test_full_replay_window_forgets_the_id_that_expires_first() -> None:
    window = ReplayWindow(capacity=2, skew_ms=0)
    a, b, c = (MessageId(bytes([i]) * 32) for i in range(3))
    window.record(a, expires_ms=500, now_ms=0)
    window.record(b, expires_ms=100, now_ms=0)
    window.record(c, expires_ms=900, now_ms=0)
    assert (a in window, b in window, c in window) == (True, False, True)


def test_replay_window_keeps_an_id_until_expiry_plus_skew() -> None:
    window = ReplayWindow(capacity=10, skew_ms=30)
    a, b = MessageId(b"a" * 32), MessageId(b"b" * 32)
    window.record(a, expires_ms=100, now_ms=0)
    window.record(b, expires_ms=1_000, now_ms=130)
    assert a in window
    window.forget_expired(131)
    assert a not in window
    assert b in window


def test_full_replay_window_drops_a_new_id_that_expires_before_all_it_holds() -> None:
    window = ReplayWindow(capacity=1, skew_ms=0)
    held, newcomer = MessageId(b"h" * 32), MessageId(b"n" * 32)
    window.record(held, expires_ms=1_001, now_ms=0)
    window.record(newcomer, expires_ms=1_000, now_ms=0)
    assert held in window
    assert newcomer not in window


def test_recording_an_id_twice_holds_it_once() -> None:
    window = ReplayWindow(capacity=2, skew_ms=0)
    a, b = MessageId(b"a" * 32), MessageId(b"b" * 32)
    window.record(a, expires_ms=100, now_ms=0)
    window.record(a, expires_ms=100, now_ms=0)
    window.record(b, expires_ms=200, now_ms=0)
    assert len(window) == 2
    assert len(window._heap) == 2
