"""Canonical, bounded MessagePack for envelopes and message bodies (SPEC §2-3).

Everything is an array with fields in a fixed order; there are no maps, no
floats and no extension types. Decoding is bounded by unpacker limits, and
canonical: the decoded value must re-encode to exactly the bytes received, so
one message has exactly one encoding and one id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from protocol import wire
from protocol.envelope import VERSION, Envelope
from protocol.errors import DecodeError, InvalidMessage, UnknownKind, UnknownVersion, describe
from protocol.fields import VERTEX_BYTES, CostShare, H3Cell, Polyline, PublicKey
from protocol.identity import PUBLIC_KEY_BYTES, SIGNATURE_BYTES
from protocol.ledger.wire import LEDGER_CODECS
from protocol.messages import KINDS, Message, RideOffer, RideRequest
from protocol.ride.wire import RIDE_CODECS
from protocol.wire import GOSSIP_LIMITS, ID_BYTES, DecodeLimits, pack, unpack

__all__ = [
    "ALL_KINDS",
    "GOSSIP_CODECS",
    "GOSSIP_LIMITS",
    "ID_BYTES",
    "DecodeLimits",
    "check_header",
    "decode_body",
    "decode_envelope",
    "encode_body",
    "encode_envelope",
    "pack",
    "unpack",
]


# -- envelope


def encode_envelope(env: Envelope) -> bytes:
    return pack([env.version, env.kind, env.body, env.author, env.signature])


def decode_envelope(data: bytes, limits: DecodeLimits = GOSSIP_LIMITS) -> Envelope:
    """Structure of the outer array only; see ``check_header`` for version and kind."""
    value = unpack(data, "Envelope", limits)
    if type(value) is not tuple or len(value) != 5:
        raise DecodeError(describe("Envelope", wire.shape(value), "must be an array of 5"))
    version, kind, body, author, signature = value
    try:
        return Envelope(
            version=wire.integer(version, "Envelope.version"),
            kind=wire.text(kind, "Envelope.kind"),
            body=wire.binary(body, "Envelope.body"),
            author=PublicKey(wire.binary(author, "Envelope.author", size=PUBLIC_KEY_BYTES)),
            signature=wire.binary(signature, "Envelope.signature", size=SIGNATURE_BYTES),
        )
    except InvalidMessage as exc:
        # SPEC §5 step 2: the envelope's field types are part of decoding.
        raise DecodeError(str(exc)) from None


def check_header(env: Envelope, kinds: Mapping[str, type[Message]] = KINDS) -> type[Message]:
    """The message class an envelope announces, if it is one of ``kinds``.

    Each channel passes the kinds it carries: gossip topics carry offers and
    requests, a ride stream carries the handshake, a sync stream log entries.
    """
    if env.version != VERSION:
        raise UnknownVersion(
            describe("Envelope.version", env.version, f"this peer speaks {VERSION}")
        )
    try:
        return kinds[env.kind]
    except KeyError:
        raise UnknownKind(
            describe("Envelope.kind", env.kind, f"must be one of {sorted(kinds)}")
        ) from None


# -- bodies


def encode_body(message: Message) -> bytes:
    return pack(_CODECS[type(message)][0](message))


def decode_body(kind: str, body: bytes, limits: DecodeLimits = GOSSIP_LIMITS) -> Message:
    cls = ALL_KINDS[kind]
    return _CODECS[cls][1](unpack(body, cls.__name__, limits))


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
    f = wire.array(value, "RideOffer", 11)
    cost = wire.array(f[10], "RideOffer.cost", 3)
    route = wire.binary(f[4], "RideOffer.route")
    if len(route) % VERTEX_BYTES:
        raise InvalidMessage(
            describe(
                "RideOffer.route", f"<{len(route)} bytes>", "must be whole (lat, lon) int32 pairs"
            )
        )
    return RideOffer(
        offer_id=wire.binary(f[0], "RideOffer.offer_id", size=ID_BYTES),
        seq=wire.integer(f[1], "RideOffer.seq"),
        created_ms=wire.integer(f[2], "RideOffer.created_ms"),
        expires_ms=wire.integer(f[3], "RideOffer.expires_ms"),
        route=Polyline(route),
        departure=wire.window(f[5], "RideOffer.departure"),
        duration_s=wire.integer(f[6], "RideOffer.duration_s"),
        seats=wire.integer(f[7], "RideOffer.seats"),
        max_detour_m=wire.integer(f[8], "RideOffer.max_detour_m"),
        max_detour_s=wire.integer(f[9], "RideOffer.max_detour_s"),
        cost=CostShare(
            currency=wire.text(cost[0], "RideOffer.cost.currency"),
            base_minor=wire.integer(cost[1], "RideOffer.cost.base_minor"),
            per_km_minor=wire.integer(cost[2], "RideOffer.cost.per_km_minor"),
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
    f = wire.array(value, "RideRequest", 9)
    return RideRequest(
        request_id=wire.binary(f[0], "RideRequest.request_id", size=ID_BYTES),
        seq=wire.integer(f[1], "RideRequest.seq"),
        created_ms=wire.integer(f[2], "RideRequest.created_ms"),
        expires_ms=wire.integer(f[3], "RideRequest.expires_ms"),
        pickup_cell=H3Cell(wire.integer(f[4], "RideRequest.pickup_cell")),
        dropoff_cell=H3Cell(wire.integer(f[5], "RideRequest.dropoff_cell")),
        window=wire.window(f[6], "RideRequest.window"),
        seats=wire.integer(f[7], "RideRequest.seats"),
        max_walk_m=wire.integer(f[8], "RideRequest.max_walk_m"),
    )


# Any: each encoder takes its own message class; the table is keyed by that class.
Encoder = Callable[[Any], list[object]]
Decoder = Callable[[object], Message]

#: Gossip bodies. Other families (ride handshake, ledger) keep their tables
#: next to their messages and are merged into ``_CODECS`` below.
GOSSIP_CODECS: dict[type[Message], tuple[Encoder, Decoder]] = {
    RideOffer: (_encode_offer, _decode_offer),
    RideRequest: (_encode_request, _decode_request),
}
_CODECS: dict[type[Message], tuple[Encoder, Decoder]] = {
    **GOSSIP_CODECS,
    **LEDGER_CODECS,
    **RIDE_CODECS,
}

#: Every kind this peer can decode, by wire name.
ALL_KINDS: dict[str, type[Message]] = {cls.KIND: cls for cls in _CODECS}
