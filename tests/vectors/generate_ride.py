"""Write ``tests/vectors/ride.json``: ride-stream test vectors for SPEC §7.3 (format: README.md).

Run ``.venv/bin/python -m tests.vectors.generate_ride`` after a deliberate
change to the handshake messages; ``tests/test_ride_vectors.py`` fails
whenever this script's output and the committed file differ. Messages are
built with the protocol code; every expected outcome below is written by hand
from the SPEC, and message ids and PIN hashes are computed here independently.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import h3.api.basic_int as h3i

from protocol import codec
from protocol.fields import CostShare, GeoPoint, H3Cell, TimeWindow
from protocol.identity import Identity
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
    RideMessage,
)
from protocol.ride.terms import RideTerms
from tests.strategies import ALICE, BOB, MINUTE_MS, NOW_MS, envelope, envelope_of, offer, request
from tests.vectors.generate import message_json, spec_message_id

PATH = Path(__file__).with_name("ride.json")
FORMAT = "lazooz-ride-vectors/1"

#: Alice rides, Bob drives (``tests.strategies`` makes both from these seeds).
SEEDS = {"alice": bytes([1]) * 32, "bob": bytes([2]) * 32}
RIDER, DRIVER = ALICE, BOB

DAY_MS = 24 * 60 * MINUTE_MS
RIDE_ID = bytes.fromhex("5a1e0f00d5ca1ab1e000000000000001")
PIN = "0427"
#: Exact points in ``request()``'s pickup and drop-off cells.
PICKUP = GeoPoint(32_095_000, 34_784_000)
DROPOFF = GeoPoint(32_074_000, 34_781_500)
MAX_RIDE_BYTES = 16 * 1024


def spec_pin_hash(ride_id: bytes, pin: str) -> bytes:
    """SPEC §7.7, written out here independently of ``protocol.ride.pin``."""
    return hashlib.blake2b(
        ride_id + pin.encode("ascii"), digest_size=32, person=b"lazooz/ride-pin"
    ).digest()


# -- the messages of one ride, in order


def propose(**changes: Any) -> Propose:
    """The proposal of ``request()`` on ``offer()``: its seat, cells, window and walk,
    the offer's cost; open for ten minutes."""
    base = RideTerms.between(offer(), request()).proposal(RIDE_ID, 0, NOW_MS + 10 * MINUTE_MS)
    return dataclasses.replace(base, **changes)


ACCEPT = Accept(RIDE_ID, 0)
REVEAL = Reveal(RIDE_ID, 1, PICKUP, DROPOFF, spec_pin_hash(RIDE_ID, PIN))
CONFIRM = Confirm(RIDE_ID, 1, NOW_MS + 8 * MINUTE_MS)
PICKED_UP = PickedUp(RIDE_ID, 2, PIN, NOW_MS + 9 * MINUTE_MS)
DROPPED_OFF = DroppedOff(RIDE_ID, 3, NOW_MS + 21 * MINUTE_MS, 2_300)
#: A receipt half's entry is opaque on the ride stream (a log entry, SPEC §8).
PROPOSAL = ReceiptEntry(RIDE_ID, 4, bytes([0xAB]) * 40)
AGREEMENT = ReceiptEntry(RIDE_ID, 2, bytes([0xCD]) * 40)


# -- building blocks


def _ok(name: str, description: str, author: Identity, message: RideMessage) -> dict[str, Any]:
    body = codec.encode_body(message)
    return {
        "name": name,
        "description": description,
        "hex": envelope(author, message.KIND, body).hex(),
        "expect": "ok",
        "message": message_json(message),
        "author": author.public_key.hex(),
        "message_id": spec_message_id(author.public_key, message.KIND, body).hex(),
    }


def _reject(name: str, description: str, raw: bytes, expect: str, field: str) -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "hex": raw.hex(),
        "expect": expect,
        "field": field,
    }


def _fields(message: RideMessage) -> list[Any]:
    value = codec.unpack(codec.encode_body(message), type(message).__name__)
    assert isinstance(value, tuple)
    return list(value)


def _with(message: RideMessage, index: int, value: object) -> list[Any]:
    fields = _fields(message)
    fields[index] = value
    return fields


def _signed(author: Identity, kind: str, fields: Sequence[object]) -> bytes:
    """A correctly signed envelope around a tampered body array."""
    return envelope(author, kind, codec.pack(list(fields)))


def build() -> list[dict[str, Any]]:
    fine = envelope_of(DRIVER, ACCEPT)
    signature_at = len(fine) - 64
    res9 = H3Cell(h3i.latlng_to_cell(32.0950, 34.7840, 9))
    res9_drop = H3Cell(h3i.latlng_to_cell(32.0740, 34.7815, 9))
    res10 = H3Cell(h3i.latlng_to_cell(32.0950, 34.7840, 10))
    return [
        # ---- accepted: one ride, message by message
        _ok(
            "propose_basic",
            "The rider's proposal: one seat, the request's cells, the offer's cost.",
            RIDER,
            propose(),
        ),
        _ok(
            "propose_at_limits",
            "Eight seats, resolution-9 cells, the largest cost terms, a 24 h window, 5 km walk.",
            RIDER,
            propose(
                seats=8,
                pickup_cell=res9,
                dropoff_cell=res9_drop,
                cost=CostShare("EUR", 10_000_000, 10_000_000),
                window=TimeWindow(NOW_MS, NOW_MS + DAY_MS),
                max_walk_m=5_000,
            ),
        ),
        _ok(
            "propose_instant_window_no_walk",
            "A window of one instant and no walking are terms too.",
            RIDER,
            propose(window=TimeWindow(NOW_MS, NOW_MS), max_walk_m=0),
        ),
        _ok(
            "accept_basic", "The driver accepts; the body is only ride id and step.", DRIVER, ACCEPT
        ),
        _ok(
            "decline_off_route",
            "The driver declines after checking the exact points.",
            DRIVER,
            Decline(RIDE_ID, 1, DeclineReason.OFF_ROUTE),
        ),
        _ok(
            "reveal_basic", f"Exact pickup and drop-off, and the hash of PIN {PIN}.", RIDER, REVEAL
        ),
        _ok("confirm_basic", "Pickup in eight minutes.", DRIVER, CONFIRM),
        _ok(
            "pickedup_basic",
            f"The driver typed {PIN}, the PIN whose hash was revealed.",
            DRIVER,
            PICKED_UP,
        ),
        _ok(
            "pickedup_leading_zero_pin",
            "A PIN is four digit characters, leading zeros kept.",
            DRIVER,
            dataclasses.replace(PICKED_UP, pin="0000"),
        ),
        _ok(
            "droppedoff_basic",
            "2.3 km along the route, twelve minutes after pickup.",
            DRIVER,
            DROPPED_OFF,
        ),
        _ok(
            "droppedoff_zero_distance",
            "Zero metres is a ride (a very short one).",
            DRIVER,
            dataclasses.replace(DROPPED_OFF, distance_m=0),
        ),
        _ok(
            "receipt_proposal",
            "The driver's receipt half; the entry is opaque here.",
            DRIVER,
            PROPOSAL,
        ),
        _ok("receipt_agreement", "The rider's countersignature half.", RIDER, AGREEMENT),
        _ok(
            "cancel_timeout",
            "The rider's deadline passed.",
            RIDER,
            Cancel(RIDE_ID, 2, CancelReason.TIMEOUT),
        ),
        _ok(
            "cancel_max_step",
            "Step 15, the largest a party may use.",
            DRIVER,
            Cancel(RIDE_ID, 15, CancelReason.DISPUTED),
        ),
        # ---- the channel
        _reject(
            "gossip_offer_on_ride_stream",
            "A valid gossip offer is the wrong kind for a ride stream.",
            envelope_of(DRIVER, offer()),
            "unknown_kind",
            "Envelope.kind",
        ),
        _reject(
            "gossip_request_on_ride_stream",
            "A valid gossip request, likewise.",
            envelope_of(RIDER, request()),
            "unknown_kind",
            "Envelope.kind",
        ),
        _reject(
            "unknown_ride_kind",
            "ride.rate is not a kind of version 1.",
            _signed(RIDER, "ride.rate", _fields(ACCEPT)),
            "unknown_kind",
            "Envelope.kind",
        ),
        _reject(
            "unknown_version",
            "Version 2 envelope around a valid accept.",
            envelope(DRIVER, ACCEPT.KIND, codec.encode_body(ACCEPT), version=2),
            "unknown_version",
            "Envelope.version",
        ),
        _reject(
            "oversized_receipt",
            f"A receipt half with a {MAX_RIDE_BYTES}-byte entry: over the stream's limit.",
            envelope_of(DRIVER, dataclasses.replace(PROPOSAL, entry=bytes(MAX_RIDE_BYTES))),
            "oversized",
            "message",
        ),
        # ---- decoding
        _reject(
            "truncated_envelope",
            "The last byte of a valid accept is missing.",
            fine[:-1],
            "decode",
            "Envelope",
        ),
        _reject(
            "truncated_to_header",
            "Only the first 10 bytes of a valid accept.",
            fine[:10],
            "decode",
            "Envelope",
        ),
        _reject(
            "trailing_byte",
            "A valid accept followed by one more byte.",
            fine + b"\x00",
            "decode",
            "Envelope",
        ),
        _reject(
            "body_truncated",
            "The body's last byte is missing (the envelope is intact and signed).",
            envelope(DRIVER, ACCEPT.KIND, codec.encode_body(ACCEPT)[:-1]),
            "decode",
            "Accept",
        ),
        _reject(
            "body_not_canonical",
            "step 0 written as a uint16: not the shortest form.",
            envelope(DRIVER, ACCEPT.KIND, b"\x92\xc4\x10" + RIDE_ID + b"\xcd\x00\x00"),
            "decode",
            "Accept",
        ),
        _reject(
            "body_is_a_map",
            "A map where the body array belongs.",
            envelope(DRIVER, ACCEPT.KIND, b"\x81\xa1a\x00"),
            "decode",
            "Accept",
        ),
        # ---- signature
        _reject(
            "bad_signature",
            "One bit of a valid accept's signature flipped.",
            fine[:signature_at] + bytes([fine[signature_at] ^ 1]) + fine[signature_at + 1 :],
            "bad_signature",
            "Envelope.signature",
        ),
        _reject(
            "signed_by_someone_else",
            "The driver's key as author, signed by the rider.",
            envelope(DRIVER, ACCEPT.KIND, codec.encode_body(ACCEPT), signer=RIDER),
            "bad_signature",
            "Envelope.signature",
        ),
        # ---- field types and ranges
        _reject(
            "ride_id_15_bytes",
            "ride_id must be 16 bytes.",
            _signed(DRIVER, ACCEPT.KIND, _with(ACCEPT, 0, RIDE_ID[:15])),
            "invalid",
            "Accept.ride_id",
        ),
        _reject(
            "ride_id_as_text",
            "ride_id as a string, not bin.",
            _signed(DRIVER, ACCEPT.KIND, _with(ACCEPT, 0, "x" * 16)),
            "invalid",
            "Accept.ride_id",
        ),
        _reject(
            "step_boolean",
            "true is not an integer.",
            _signed(DRIVER, ACCEPT.KIND, _with(ACCEPT, 1, True)),
            "invalid",
            "Accept.step",
        ),
        _reject(
            "step_16",
            "Step above 15.",
            _signed(DRIVER, ACCEPT.KIND, _with(ACCEPT, 1, 16)),
            "invalid",
            "Accept.step",
        ),
        _reject(
            "step_negative",
            "Step below 0.",
            _signed(DRIVER, ACCEPT.KIND, _with(ACCEPT, 1, -1)),
            "invalid",
            "Accept.step",
        ),
        _reject(
            "accept_extra_field",
            "An accept is an array of exactly 2.",
            _signed(DRIVER, ACCEPT.KIND, [*_fields(ACCEPT), 0]),
            "invalid",
            "Accept",
        ),
        _reject(
            "cancel_missing_reason",
            "A cancel is an array of 3.",
            _signed(DRIVER, Cancel.KIND, _fields(ACCEPT)),
            "invalid",
            "Cancel",
        ),
        _reject(
            "cancel_unknown_reason",
            "Reason codes are 0..7.",
            _signed(DRIVER, Cancel.KIND, [RIDE_ID, 1, 8]),
            "invalid",
            "Cancel.reason",
        ),
        _reject(
            "decline_unknown_reason",
            "Decline reason codes are 0..5.",
            _signed(DRIVER, Decline.KIND, [RIDE_ID, 0, 6]),
            "invalid",
            "Decline.reason",
        ),
        _reject(
            "propose_step_1",
            "A proposal is always its sender's first message.",
            _signed(RIDER, Propose.KIND, _with(propose(), 1, 1)),
            "invalid",
            "Propose.step",
        ),
        _reject(
            "propose_zero_seats",
            "Seats are 1..8.",
            _signed(RIDER, Propose.KIND, _with(propose(), 4, 0)),
            "invalid",
            "Propose.seats",
        ),
        _reject(
            "propose_bad_cell",
            "Not an H3 cell.",
            _signed(RIDER, Propose.KIND, _with(propose(), 5, 12345)),
            "geometry",
            "Propose.pickup_cell",
        ),
        _reject(
            "propose_cell_too_fine",
            "Resolution 10 would all but reveal the door.",
            _signed(RIDER, Propose.KIND, _with(propose(), 5, res10)),
            "invalid",
            "Propose.pickup_cell",
        ),
        _reject(
            "propose_mixed_resolutions",
            "Pickup at resolution 9, drop-off at 7.",
            _signed(RIDER, Propose.KIND, _with(propose(), 5, res9)),
            "invalid",
            "Propose.dropoff_cell",
        ),
        _reject(
            "propose_currency_lowercase",
            "Currency codes are ISO 4217, upper case.",
            _signed(RIDER, Propose.KIND, _with(propose(), 7, ["ils", 500, 80])),
            "invalid",
            "Propose.cost.currency",
        ),
        _reject(
            "propose_cost_float",
            "A float 64 where an integer belongs.",
            _signed(RIDER, Propose.KIND, _with(propose(), 7, ["ILS", 5.0, 80])),
            "invalid",
            "Propose.cost.base_minor",
        ),
        _reject(
            "propose_window_backwards",
            "The pickup window ends before it starts.",
            _signed(RIDER, Propose.KIND, _with(propose(), 8, [NOW_MS + 1, NOW_MS])),
            "invalid",
            "Propose.window",
        ),
        _reject(
            "propose_window_too_long",
            "A window of 24 h and 1 ms: longer than a request may ask for.",
            _signed(RIDER, Propose.KIND, _with(propose(), 8, [NOW_MS, NOW_MS + DAY_MS + 1])),
            "invalid",
            "Propose.window",
        ),
        _reject(
            "propose_window_before_1970",
            "Times are Unix milliseconds, not negative.",
            _signed(RIDER, Propose.KIND, _with(propose(), 8, [-1, NOW_MS])),
            "invalid",
            "Propose.window.start_ms",
        ),
        _reject(
            "propose_window_one_number",
            "A window is [start_ms, end_ms].",
            _signed(RIDER, Propose.KIND, _with(propose(), 8, [NOW_MS])),
            "invalid",
            "Propose.window",
        ),
        _reject(
            "propose_walk_too_far",
            "Walks are 0..5000 m.",
            _signed(RIDER, Propose.KIND, _with(propose(), 9, 5_001)),
            "invalid",
            "Propose.max_walk_m",
        ),
        _reject(
            "propose_without_window_and_walk",
            "A proposal without window and walk is an array of 9, not 11.",
            _signed(
                RIDER,
                Propose.KIND,
                [f for i, f in enumerate(_fields(propose())) if i not in (8, 9)],
            ),
            "invalid",
            "Propose",
        ),
        _reject(
            "propose_offer_id_short",
            "offer_id must be 16 bytes.",
            _signed(RIDER, Propose.KIND, _with(propose(), 2, bytes(8))),
            "invalid",
            "Propose.offer_id",
        ),
        _reject(
            "reveal_point_off_earth",
            "Latitude 90.000001 degrees.",
            _signed(RIDER, Reveal.KIND, _with(REVEAL, 2, [90_000_001, 0])),
            "geometry",
            "Reveal.pickup",
        ),
        _reject(
            "reveal_point_three_numbers",
            "A point is [lat_e6, lon_e6].",
            _signed(RIDER, Reveal.KIND, _with(REVEAL, 3, [1, 2, 3])),
            "invalid",
            "Reveal.dropoff",
        ),
        _reject(
            "reveal_pin_hash_31_bytes",
            "pin_hash is 32 bytes.",
            _signed(RIDER, Reveal.KIND, _with(REVEAL, 4, bytes(31))),
            "invalid",
            "Reveal.pin_hash",
        ),
        _reject(
            "pickedup_pin_not_digits",
            "A PIN is 4 decimal digits.",
            _signed(DRIVER, PickedUp.KIND, _with(PICKED_UP, 2, "04a7")),
            "invalid",
            "PickedUp.pin",
        ),
        _reject(
            "pickedup_pin_five_digits",
            "A PIN is exactly 4 digits.",
            _signed(DRIVER, PickedUp.KIND, _with(PICKED_UP, 2, "04270")),
            "invalid",
            "PickedUp.pin",
        ),
        _reject(
            "pickedup_pin_as_integer",
            "427 as an integer is not the PIN 0427.",
            _signed(DRIVER, PickedUp.KIND, _with(PICKED_UP, 2, 427)),
            "invalid",
            "PickedUp.pin",
        ),
        _reject(
            "droppedoff_negative_distance",
            "Distances are 0..1,000,000 m.",
            _signed(DRIVER, DroppedOff.KIND, _with(DROPPED_OFF, 3, -1)),
            "invalid",
            "DroppedOff.distance_m",
        ),
        _reject(
            "droppedoff_distance_too_long",
            "Longer than the longest route.",
            _signed(DRIVER, DroppedOff.KIND, _with(DROPPED_OFF, 3, 1_000_001)),
            "invalid",
            "DroppedOff.distance_m",
        ),
        _reject(
            "confirm_negative_time",
            "Times are Unix milliseconds, not negative.",
            _signed(DRIVER, Confirm.KIND, _with(CONFIRM, 2, -5)),
            "invalid",
            "Confirm.pickup_ms",
        ),
        _reject(
            "receipt_entry_as_text",
            "The entry is bin.",
            _signed(DRIVER, ReceiptEntry.KIND, _with(PROPOSAL, 2, "entry")),
            "invalid",
            "ReceiptEntry.entry",
        ),
    ]


def render() -> str:
    """The whole vectors file, byte for byte."""
    document = {
        "format": FORMAT,
        "spec": "SPEC.md §7 (docs/handshake.md); layout in tests/vectors/README.md",
        "limits": {"max_bytes": MAX_RIDE_BYTES, "max_step": 15, "pin_digits": 4},
        "keys": {
            name: {
                "seed": seed.hex(),
                "public_key": identity.public_key.hex(),
                "member_id": identity.member_id,
            }
            for name, seed in SEEDS.items()
            for identity in [Identity.from_seed(seed)]
        },
        "ride_id": RIDE_ID.hex(),
        "pin": PIN,
        "pin_hash": spec_pin_hash(RIDE_ID, PIN).hex(),
        "vectors": build(),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {PATH} ({len(json.loads(PATH.read_text())['vectors'])} vectors)")


if __name__ == "__main__":
    main()
