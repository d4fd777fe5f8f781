"""The codec: one canonical, bounded encoding per message (SPEC §2.1, §3)."""

from __future__ import annotations

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import codec
from protocol.envelope import Envelope
from protocol.errors import DecodeError, InvalidMessage, UnknownKind, UnknownVersion
from protocol.fields import GeoPoint, Polyline, PublicKey
from protocol.messages import KINDS, RideOffer, RideRequest
from tests import strategies

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

STRATEGIES = {RideOffer: strategies.offers(), RideRequest: strategies.requests()}


def test_every_message_kind_has_a_round_trip_strategy() -> None:
    # A new kind added to KINDS without a strategy here would go untested.
    assert set(KINDS.values()) == set(STRATEGIES)


@FAST
@given(strategies.offers())
def test_offer_body_round_trips(offer: RideOffer) -> None:
    assert codec.decode_body(RideOffer.KIND, codec.encode_body(offer)) == offer


@FAST
@given(strategies.requests())
def test_request_body_round_trips(request: RideRequest) -> None:
    assert codec.decode_body(RideRequest.KIND, codec.encode_body(request)) == request


@FAST
@given(
    strategies.messages, st.binary(min_size=32, max_size=32), st.binary(min_size=64, max_size=64)
)
def test_envelope_round_trips(
    message: RideOffer | RideRequest, author: bytes, signature: bytes
) -> None:
    env = Envelope(1, message.KIND, codec.encode_body(message), PublicKey(author), signature)
    assert codec.decode_envelope(codec.encode_envelope(env)) == env


@FAST
@given(st.binary(max_size=300))
def test_unpack_either_refuses_bytes_or_returns_their_one_encoding(data: bytes) -> None:
    try:
        value = codec.unpack(data, "Envelope")
    except DecodeError as exc:
        assert str(exc).startswith("Envelope=")
    else:
        assert codec.pack(value) == data


@FAST
@given(strategies.offers())
def test_encoding_an_offer_twice_gives_the_same_bytes(offer: RideOffer) -> None:
    assert codec.encode_body(offer) == codec.encode_body(offer)


# -- canonical and bounded decoding, by example


def test_integer_in_a_wider_form_than_needed_is_not_canonical() -> None:
    with pytest.raises(DecodeError, match=r"^seats=.*not canonical"):
        codec.unpack(b"\xcd\x00\x03", "seats")  # uint16 3; fixint 03 is canonical


def test_string_in_str8_where_fixstr_fits_is_not_canonical() -> None:
    with pytest.raises(DecodeError, match="not canonical"):
        codec.unpack(b"\xd9\x02ab", "kind")


def test_float32_is_not_canonical() -> None:
    data = msgpack.packb(1.5, use_single_float=True)
    with pytest.raises(DecodeError, match="not canonical"):
        codec.unpack(data, "value")


def test_trailing_byte_is_refused_naming_what_was_decoded() -> None:
    with pytest.raises(DecodeError, match=r"^Envelope='<2 bytes>': not msgpack"):
        codec.unpack(b"\x01\x00", "Envelope")


def test_truncated_input_is_refused() -> None:
    with pytest.raises(DecodeError, match=r"^Envelope='<2 bytes>'"):
        codec.unpack(b"\x92\x01", "Envelope")


@pytest.mark.parametrize(
    ("what", "data"),
    [
        ("a map", msgpack.packb({"seats": 3})),
        ("an empty map", b"\x80"),
        ("an empty map inside an array", b"\x91\x80"),
        ("an extension value", msgpack.packb(msgpack.ExtType(5, b"x"))),
        ("a 0-byte extension value", b"\xc7\x00\x05"),
        ("a timestamp", msgpack.packb(msgpack.Timestamp(1, 0))),
    ],
)
def test_maps_and_extension_types_are_refused(what: str, data: bytes) -> None:
    with pytest.raises(DecodeError, match=r"^body="):
        codec.unpack(data, "body")


def test_array_longer_than_16_is_refused() -> None:
    codec.unpack(codec.pack([0] * 16), "x")
    with pytest.raises(DecodeError, match="17 exceeds max_array_len"):
        codec.unpack(codec.pack([0] * 17), "x")


def test_string_longer_than_64_bytes_is_refused() -> None:
    codec.unpack(codec.pack("a" * 64), "x")
    with pytest.raises(DecodeError, match="65 exceeds max_str_len"):
        codec.unpack(codec.pack("a" * 65), "x")


def test_invalid_utf8_is_refused() -> None:
    with pytest.raises(DecodeError):
        codec.unpack(b"\xa2\xff\xfe", "kind")


def test_deep_nesting_is_refused_without_recursion_error() -> None:
    with pytest.raises(DecodeError):
        codec.unpack(b"\x91" * 100_000 + b"\x00", "x")


# -- envelope structure (SPEC §2.1, §5 step 2)


def _envelope_value(**changes: object) -> list[object]:
    fields = {
        "version": 1,
        "kind": RideOffer.KIND,
        "body": codec.encode_body(strategies.offer()),
        "author": strategies.ALICE.public_key,
        "signature": bytes(64),
    }
    fields.update(changes)
    return list(fields.values())


def test_envelope_that_is_not_an_array_of_five_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match=r"^Envelope='<array of 4>': must be an array of 5"):
        codec.decode_envelope(codec.pack(_envelope_value()[:4]))


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("version", True, "Envelope.version='<bool>': must be an integer"),
        ("kind", b"ride.offer", "Envelope.kind='<bytes>': must be a string"),
        ("body", "text", "Envelope.body='<str>': must be binary"),
        ("author", bytes(31), "Envelope.author='<31 bytes>': must be 32 bytes"),
        ("signature", bytes(65), "Envelope.signature='<65 bytes>': must be 64 bytes"),
    ],
)
def test_envelope_field_of_the_wrong_type_is_a_decode_error_naming_it(
    field: str, value: object, shown: str
) -> None:
    with pytest.raises(DecodeError) as caught:
        codec.decode_envelope(codec.pack(_envelope_value(**{field: value})))
    assert str(caught.value) == shown


def test_unknown_version_is_named_with_the_version_spoken() -> None:
    env = codec.decode_envelope(codec.pack(_envelope_value(version=2)))
    with pytest.raises(UnknownVersion, match=r"^Envelope.version=2: this peer speaks 1"):
        codec.check_header(env)


def test_unknown_kind_is_named_with_the_kinds_known() -> None:
    env = codec.decode_envelope(codec.pack(_envelope_value(kind="ride.cancel")))
    with pytest.raises(UnknownKind, match=r"^Envelope.kind='ride.cancel': must be one of"):
        codec.check_header(env)


# -- bodies (SPEC §4, §5 step 3)


def _offer_value(index: int, value: object) -> bytes:
    fields = strategies.body_fields(strategies.offer())
    fields[index] = value
    return codec.pack(fields)


@pytest.mark.parametrize(
    ("index", "value", "shown"),
    [
        (7, True, "RideOffer.seats='<bool>': must be an integer"),
        (7, 3.0, "RideOffer.seats='<float>': must be an integer"),
        (7, None, "RideOffer.seats='<NoneType>': must be an integer"),
        (1, "0", "RideOffer.seq='<str>': must be an integer"),
        (0, bytes(15), "RideOffer.offer_id='<15 bytes>': must be 16 bytes"),
        (4, bytes(12), "RideOffer.route='<12 bytes>': must be whole (lat, lon) int32 pairs"),
        (5, (1, 2, 3), "RideOffer.departure='<array of 3>': must be an array of 2"),
        (5, (1, False), "RideOffer.departure.end_ms='<bool>': must be an integer"),
        (10, ("EUR", 1), "RideOffer.cost='<array of 2>': must be an array of 3"),
        (10, (b"EUR", 1, 2), "RideOffer.cost.currency='<bytes>': must be a string"),
    ],
)
def test_offer_field_of_the_wrong_type_is_invalid_naming_it(
    index: int, value: object, shown: str
) -> None:
    with pytest.raises(InvalidMessage) as caught:
        codec.decode_body(RideOffer.KIND, _offer_value(index, value))
    assert type(caught.value) is InvalidMessage
    assert str(caught.value) == shown


def test_request_body_with_an_extra_field_is_invalid() -> None:
    fields = strategies.body_fields(strategies.request())
    with pytest.raises(
        InvalidMessage, match=r"^RideRequest='<array of 10>': must be an array of 9"
    ):
        codec.decode_body(RideRequest.KIND, codec.pack([*fields, 0]))


def test_request_cell_that_is_not_an_integer_is_invalid() -> None:
    fields = strategies.body_fields(strategies.request())
    fields[4] = "872db0cc1ffffff"
    with pytest.raises(InvalidMessage, match=r"^RideRequest.pickup_cell='<str>'"):
        codec.decode_body(RideRequest.KIND, codec.pack(fields))


# -- packed polylines (SPEC §3.2)


def test_polyline_packs_each_vertex_as_little_endian_lat_then_lon() -> None:
    route = Polyline.from_points([GeoPoint(1, -2), GeoPoint(90_000_000, -180_000_000)])
    assert route.packed == bytes.fromhex("01000000 feffffff 804a5d05 006b45f5")
    assert route.points() == (GeoPoint(1, -2), GeoPoint(90_000_000, -180_000_000))


@FAST
@given(
    st.lists(
        st.builds(
            GeoPoint, st.integers(-90_000_000, 90_000_000), st.integers(-180_000_000, 180_000_000)
        ),
        max_size=50,
    )
)
def test_polyline_round_trips_its_points(points: list[GeoPoint]) -> None:
    assert Polyline.from_points(points).points() == tuple(points)


def test_geopoint_from_degrees_rounds_to_the_nearest_microdegree() -> None:
    assert GeoPoint.from_degrees(32.0853004, -34.7818006) == GeoPoint(32_085_300, -34_781_801)
