"""Canonical, bounded MessagePack for envelopes and message bodies (SPEC §2-3).

Everything is an array with fields in a fixed order; there are no maps, no
floats and no extension types. Decoding is bounded by unpacker limits, and
canonical: the decoded value must re-encode to exactly the bytes received, so
one message has exactly one encoding and one id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgpack

from protocol.envelope import VERSION, Envelope
from protocol.errors import DecodeError, InvalidMessage, UnknownKind, UnknownVersion, describe
from protocol.fields import VERTEX_BYTES, CostShare, H3Cell, Polyline, PublicKey, TimeWindow
from protocol.identity import PUBLIC_KEY_BYTES, SIGNATURE_BYTES
from protocol.messages import KINDS, Message, RideOffer, RideRequest

ID_BYTES = 16
_MAX_ARRAY = 16
_MAX_STR = 64


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    """Hard bounds the unpacker enforces before any object is built."""

    max_bytes: int = 64 * 1024


GOSSIP_LIMITS = DecodeLimits()


def pack(value: object) -> bytes:
    """Canonical encoding: shortest forms, ``bin`` for bytes, ``str`` for text."""
    return msgpack.packb(value, use_bin_type=True)  # type: ignore[no-any-return]


def unpack(data: bytes, what: str, limits: DecodeLimits = GOSSIP_LIMITS) -> object:
    """Decode one canonical value, or raise ``DecodeError`` naming ``what``."""
    try:
        value = msgpack.unpackb(
            data,
            use_list=False,
            raw=False,
            strict_map_key=True,
            max_bin_len=limits.max_bytes,
            max_str_len=_MAX_STR,
            max_array_len=_MAX_ARRAY,
            max_map_len=0,
            max_ext_len=0,
            # The length limits let an empty map and a 0-byte ext through (SPEC §3.3).
            object_hook=_refuse_map,
            ext_hook=_refuse_ext,
        )
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        # ValueError covers truncation, trailing bytes, limits and bad UTF-8.
        raise DecodeError(describe(what, f"<{len(data)} bytes>", f"not msgpack: {exc}")) from None
    if pack(value) != data:
        raise DecodeError(describe(what, f"<{len(data)} bytes>", "not canonical msgpack"))
    return value


def _refuse_map(_: object) -> object:
    raise ValueError("maps are not allowed")


def _refuse_ext(code: int, _: bytes) -> object:
    raise ValueError(f"extension type {code} is not allowed")


# -- envelope


def encode_envelope(env: Envelope) -> bytes:
    return pack([env.version, env.kind, env.body, env.author, env.signature])


def decode_envelope(data: bytes, limits: DecodeLimits = GOSSIP_LIMITS) -> Envelope:
    """Structure of the outer array only; see ``check_header`` for version and kind."""
    value = unpack(data, "Envelope", limits)
    if type(value) is not tuple or len(value) != 5:
        raise DecodeError(describe("Envelope", _shape(value), "must be an array of 5"))
    version, kind, body, author, signature = value
    try:
        return Envelope(
            version=_int(version, "Envelope.version"),
            kind=_str(kind, "Envelope.kind"),
            body=_bin(body, "Envelope.body"),
            author=PublicKey(_bin(author, "Envelope.author", size=PUBLIC_KEY_BYTES)),
            signature=_bin(signature, "Envelope.signature", size=SIGNATURE_BYTES),
        )
    except InvalidMessage as exc:
        # SPEC §5 step 2: the envelope's field types are part of decoding.
        raise DecodeError(str(exc)) from None


def check_header(env: Envelope) -> type[Message]:
    """The message class an envelope announces, if this peer speaks it."""
    if env.version != VERSION:
        raise UnknownVersion(
            describe("Envelope.version", env.version, f"this peer speaks {VERSION}")
        )
    try:
        return KINDS[env.kind]
    except KeyError:
        raise UnknownKind(
            describe("Envelope.kind", env.kind, f"must be one of {sorted(KINDS)}")
        ) from None


# -- bodies


def encode_body(message: Message) -> bytes:
    return pack(_ENCODERS[type(message)](message))


def decode_body(kind: str, body: bytes, limits: DecodeLimits = GOSSIP_LIMITS) -> Message:
    cls = KINDS[kind]
    return _DECODERS[cls](unpack(body, cls.__name__, limits))


def _encode_offer(m: RideOffer) -> list[object]:
    return [
        m.offer_id,
        m.seq,
        m.created_ms,
        m.expires_ms,
        m.route.packed,
        [m.departure.start_ms, m.departure.end_ms],
        m.duration_s,
        m.seats,
        m.max_detour_m,
        m.max_detour_s,
        [m.cost.currency, m.cost.base_minor, m.cost.per_km_minor],
    ]


def _decode_offer(value: object) -> RideOffer:
    f = _array(value, "RideOffer", 11)
    cost = _array(f[10], "RideOffer.cost", 3)
    route = _bin(f[4], "RideOffer.route")
    if len(route) % VERTEX_BYTES:
        raise InvalidMessage(
            describe(
                "RideOffer.route", f"<{len(route)} bytes>", "must be whole (lat, lon) int32 pairs"
            )
        )
    return RideOffer(
        offer_id=_bin(f[0], "RideOffer.offer_id", size=ID_BYTES),
        seq=_int(f[1], "RideOffer.seq"),
        created_ms=_int(f[2], "RideOffer.created_ms"),
        expires_ms=_int(f[3], "RideOffer.expires_ms"),
        route=Polyline(route),
        departure=_window(f[5], "RideOffer.departure"),
        duration_s=_int(f[6], "RideOffer.duration_s"),
        seats=_int(f[7], "RideOffer.seats"),
        max_detour_m=_int(f[8], "RideOffer.max_detour_m"),
        max_detour_s=_int(f[9], "RideOffer.max_detour_s"),
        cost=CostShare(
            currency=_str(cost[0], "RideOffer.cost.currency"),
            base_minor=_int(cost[1], "RideOffer.cost.base_minor"),
            per_km_minor=_int(cost[2], "RideOffer.cost.per_km_minor"),
        ),
    )


def _encode_request(m: RideRequest) -> list[object]:
    return [
        m.request_id,
        m.seq,
        m.created_ms,
        m.expires_ms,
        m.pickup_cell,
        m.dropoff_cell,
        [m.window.start_ms, m.window.end_ms],
        m.seats,
        m.max_walk_m,
    ]


def _decode_request(value: object) -> RideRequest:
    f = _array(value, "RideRequest", 9)
    return RideRequest(
        request_id=_bin(f[0], "RideRequest.request_id", size=ID_BYTES),
        seq=_int(f[1], "RideRequest.seq"),
        created_ms=_int(f[2], "RideRequest.created_ms"),
        expires_ms=_int(f[3], "RideRequest.expires_ms"),
        pickup_cell=H3Cell(_int(f[4], "RideRequest.pickup_cell")),
        dropoff_cell=H3Cell(_int(f[5], "RideRequest.dropoff_cell")),
        window=_window(f[6], "RideRequest.window"),
        seats=_int(f[7], "RideRequest.seats"),
        max_walk_m=_int(f[8], "RideRequest.max_walk_m"),
    )


# Any: each encoder takes its own message class; the table is keyed by that class.
_ENCODERS: dict[type[Message], Callable[[Any], list[object]]] = {
    RideOffer: _encode_offer,
    RideRequest: _encode_request,
}
_DECODERS: dict[type[Message], Callable[[object], Message]] = {
    RideOffer: _decode_offer,
    RideRequest: _decode_request,
}


# -- typed field readers: each names the field that failed


def _shape(value: object) -> str:
    if type(value) is tuple:
        return f"<array of {len(value)}>"
    return f"<{type(value).__name__}>"


def _array(value: object, field: str, length: int) -> tuple[object, ...]:
    if type(value) is not tuple or len(value) != length:
        raise InvalidMessage(describe(field, _shape(value), f"must be an array of {length}"))
    return value


def _int(value: object, field: str) -> int:
    # `type(...) is int` on purpose: msgpack booleans are Python bools, which
    # isinstance() would accept as integers.
    if type(value) is not int:
        raise InvalidMessage(describe(field, _shape(value), "must be an integer"))
    return value


def _str(value: object, field: str) -> str:
    if type(value) is not str:
        raise InvalidMessage(describe(field, _shape(value), "must be a string"))
    return value


def _bin(value: object, field: str, size: int | None = None) -> bytes:
    if type(value) is not bytes:
        raise InvalidMessage(describe(field, _shape(value), "must be binary"))
    if size is not None and len(value) != size:
        raise InvalidMessage(describe(field, f"<{len(value)} bytes>", f"must be {size} bytes"))
    return value


def _window(value: object, field: str) -> TimeWindow:
    start, end = _array(value, field, 2)
    return TimeWindow(_int(start, f"{field}.start_ms"), _int(end, f"{field}.end_ms"))
