"""Bodies of the ride handshake messages on the wire (SPEC §7.2).

Each body is an array that starts ``[ride_id, step, ...]``. ``RIDE_CODECS`` is
merged into ``protocol.codec._CODECS``; this module must not import
``protocol.codec`` (that would be a cycle). Ranges and cross-field rules are
checked after the signature, in ``protocol.ride.validation``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, TypeVar

from protocol import wire
from protocol.errors import InvalidMessage, describe
from protocol.fields import CostShare, GeoPoint, H3Cell
from protocol.messages import Message
from protocol.ride.messages import (
    Accept,
    Cancel,
    CancelReason,
    Confirm,
    Decline,
    DeclineReason,
    DroppedOff,
    PickedUp,
    Propose,
    ReceiptEntry,
    Reveal,
)
from protocol.ride.terms import RideTerms
from protocol.wire import ID_BYTES, DecodeLimits

#: A ride stream carries small messages; a receipt half's log entry is the
#: largest, well under 1 KiB (SPEC §7.3).
RIDE_LIMITS = DecodeLimits(max_bytes=16 * 1024)

PIN_HASH_BYTES = 32

E = TypeVar("E", bound=enum.IntEnum)


def _head(value: object, name: str, length: int) -> tuple[tuple[object, ...], bytes, int]:
    f = wire.array(value, name, length)
    ride_id = wire.binary(f[0], f"{name}.ride_id", size=ID_BYTES)
    return f, ride_id, wire.integer(f[1], f"{name}.step")


def _point(value: object, field: str) -> GeoPoint:
    lat, lon = wire.array(value, field, 2)
    return GeoPoint(wire.integer(lat, f"{field}.lat_e6"), wire.integer(lon, f"{field}.lon_e6"))


def _reason(value: object, field: str, kind: type[E]) -> E:
    code = wire.integer(value, field)
    try:
        return kind(code)
    except ValueError:
        raise InvalidMessage(
            describe(field, code, f"must be one of {[int(r) for r in kind]}")
        ) from None


def encode_terms(t: RideTerms) -> list[object]:
    """A ride's terms as the eight fields ``ride.propose`` carries after ``step``
    (SPEC §7.2); a Peer's ride journal stores them the same way."""
    return [
        t.offer_id,
        t.request_id,
        t.seats,
        t.pickup_cell,
        t.dropoff_cell,
        [t.cost.currency, t.cost.base_minor, t.cost.per_km_minor],
        [t.window.start_ms, t.window.end_ms],
        t.max_walk_m,
    ]


def decode_terms(value: object, name: str) -> RideTerms:
    """The inverse of ``encode_terms``: types only; ranges are ``validation``'s."""
    f = wire.array(value, name, 8)
    offer_id, request_id, seats, pickup_cell, dropoff_cell, cost, window, max_walk_m = f
    # Keyword arguments are read in order: the first bad field, in wire order, is named.
    return RideTerms(
        offer_id=wire.binary(offer_id, f"{name}.offer_id", size=ID_BYTES),
        request_id=wire.binary(request_id, f"{name}.request_id", size=ID_BYTES),
        seats=wire.integer(seats, f"{name}.seats"),
        pickup_cell=H3Cell(wire.integer(pickup_cell, f"{name}.pickup_cell")),
        dropoff_cell=H3Cell(wire.integer(dropoff_cell, f"{name}.dropoff_cell")),
        cost=_cost(cost, f"{name}.cost"),
        window=wire.window(window, f"{name}.window"),
        max_walk_m=wire.integer(max_walk_m, f"{name}.max_walk_m"),
    )


def _cost(value: object, field: str) -> CostShare:
    currency, base_minor, per_km_minor = wire.array(value, field, 3)
    return CostShare(
        currency=wire.text(currency, f"{field}.currency"),
        base_minor=wire.integer(base_minor, f"{field}.base_minor"),
        per_km_minor=wire.integer(per_km_minor, f"{field}.per_km_minor"),
    )


def _encode_propose(m: Propose) -> list[object]:
    return [m.ride_id, m.step, *encode_terms(RideTerms.of(m)), m.expires_ms]


def _decode_propose(value: object) -> Propose:
    f, ride_id, step = _head(value, "Propose", 11)
    terms = decode_terms(f[2:10], "Propose")
    return terms.proposal(ride_id, step, wire.integer(f[10], "Propose.expires_ms"))


def _encode_accept(m: Accept) -> list[object]:
    return [m.ride_id, m.step]


def _decode_accept(value: object) -> Accept:
    _, ride_id, step = _head(value, "Accept", 2)
    return Accept(ride_id=ride_id, step=step)


def _encode_decline(m: Decline) -> list[object]:
    return [m.ride_id, m.step, int(m.reason)]


def _decode_decline(value: object) -> Decline:
    f, ride_id, step = _head(value, "Decline", 3)
    return Decline(ride_id, step, _reason(f[2], "Decline.reason", DeclineReason))


def _encode_reveal(m: Reveal) -> list[object]:
    return [
        m.ride_id,
        m.step,
        [m.pickup.lat_e6, m.pickup.lon_e6],
        [m.dropoff.lat_e6, m.dropoff.lon_e6],
        m.pin_hash,
    ]


def _decode_reveal(value: object) -> Reveal:
    f, ride_id, step = _head(value, "Reveal", 5)
    return Reveal(
        ride_id=ride_id,
        step=step,
        pickup=_point(f[2], "Reveal.pickup"),
        dropoff=_point(f[3], "Reveal.dropoff"),
        pin_hash=wire.binary(f[4], "Reveal.pin_hash", size=PIN_HASH_BYTES),
    )


def _encode_confirm(m: Confirm) -> list[object]:
    return [m.ride_id, m.step, m.pickup_ms]


def _decode_confirm(value: object) -> Confirm:
    f, ride_id, step = _head(value, "Confirm", 3)
    return Confirm(ride_id, step, pickup_ms=wire.integer(f[2], "Confirm.pickup_ms"))


def _encode_picked_up(m: PickedUp) -> list[object]:
    return [m.ride_id, m.step, m.pin, m.at_ms]


def _decode_picked_up(value: object) -> PickedUp:
    f, ride_id, step = _head(value, "PickedUp", 4)
    return PickedUp(
        ride_id,
        step,
        pin=wire.text(f[2], "PickedUp.pin"),
        at_ms=wire.integer(f[3], "PickedUp.at_ms"),
    )


def _encode_dropped_off(m: DroppedOff) -> list[object]:
    return [m.ride_id, m.step, m.at_ms, m.distance_m]


def _decode_dropped_off(value: object) -> DroppedOff:
    f, ride_id, step = _head(value, "DroppedOff", 4)
    return DroppedOff(
        ride_id,
        step,
        at_ms=wire.integer(f[2], "DroppedOff.at_ms"),
        distance_m=wire.integer(f[3], "DroppedOff.distance_m"),
    )


def _encode_receipt_entry(m: ReceiptEntry) -> list[object]:
    return [m.ride_id, m.step, m.entry]


def _decode_receipt_entry(value: object) -> ReceiptEntry:
    f, ride_id, step = _head(value, "ReceiptEntry", 3)
    return ReceiptEntry(ride_id, step, entry=wire.binary(f[2], "ReceiptEntry.entry"))


def _encode_cancel(m: Cancel) -> list[object]:
    return [m.ride_id, m.step, int(m.reason)]


def _decode_cancel(value: object) -> Cancel:
    f, ride_id, step = _head(value, "Cancel", 3)
    return Cancel(ride_id, step, _reason(f[2], "Cancel.reason", CancelReason))


# Any: each encoder takes its own message class; the table is keyed by that class.
Encoder = Callable[[Any], list[object]]
Decoder = Callable[[object], Message]

#: Handshake bodies, merged into ``protocol.codec._CODECS``.
RIDE_CODECS: dict[type[Message], tuple[Encoder, Decoder]] = {
    Propose: (_encode_propose, _decode_propose),
    Accept: (_encode_accept, _decode_accept),
    Decline: (_encode_decline, _decode_decline),
    Reveal: (_encode_reveal, _decode_reveal),
    Confirm: (_encode_confirm, _decode_confirm),
    PickedUp: (_encode_picked_up, _decode_picked_up),
    DroppedOff: (_encode_dropped_off, _decode_dropped_off),
    ReceiptEntry: (_encode_receipt_entry, _decode_receipt_entry),
    Cancel: (_encode_cancel, _decode_cancel),
}
