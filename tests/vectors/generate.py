"""Write ``tests/vectors/gossip.json``: wire test vectors for SPEC §5 (format: README.md).

Run ``.venv/bin/python -m tests.vectors.generate`` after a deliberate change to
the wire format; ``tests/test_vectors.py`` fails whenever this script's output
and the committed file differ. Every expected outcome below is written by
hand from the SPEC, never computed by running the pipeline under test.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import h3
import h3.api.basic_int as h3i
import numpy as np

from protocol import codec
from protocol.envelope import signing_input
from protocol.fields import H3Cell, Polyline, TimeWindow
from protocol.identity import Identity
from protocol.messages import Message, RideOffer, RideRequest
from protocol.validation import DAY_MS, DEFAULT_POLICY, HOUR_MS
from tests.strategies import ALICE, BOB, MINUTE_MS, NOW_MS, envelope, envelope_of, offer, request

PATH = Path(__file__).with_name("gossip.json")
FORMAT = "lazooz-gossip-vectors/1"

#: The seeds of the two members who sign vectors (``tests.strategies`` makes them).
SEEDS = {"alice": bytes([1]) * 32, "bob": bytes([2]) * 32}


def message_json(message: Message) -> dict[str, Any]:
    """A message's fields as JSON: ids hex, routes ``[[lat_e6, lon_e6], ...]``, cells H3 hex."""
    out: dict[str, Any] = {"kind": message.KIND}
    for f in dataclasses.fields(message):
        value = getattr(message, f.name)
        if isinstance(value, bytes):
            out[f.name] = value.hex()
        elif isinstance(value, Polyline):
            out[f.name] = [[p.lat_e6, p.lon_e6] for p in value]
        elif isinstance(value, TimeWindow):
            out[f.name] = [value.start_ms, value.end_ms]
        elif f.name.endswith("_cell"):
            out[f.name] = h3.int_to_str(value)
        elif dataclasses.is_dataclass(value):
            out[f.name] = [getattr(value, g.name) for g in dataclasses.fields(value)]
        else:
            out[f.name] = value
    return out


def spec_message_id(author: bytes, kind: str, body: bytes) -> bytes:
    """SPEC §2.4, written out here independently of ``protocol.envelope``."""
    h = hashlib.blake2b(digest_size=32, person=b"lazooz/msgid")
    h.update(author + b"lazooz/1/" + kind.encode() + b"\x00" + body)
    return h.digest()


# -- building blocks


def _ok(name: str, description: str, message: Message, *, now_ms: int = NOW_MS) -> dict[str, Any]:
    body = codec.encode_body(message)
    return {
        "name": name,
        "description": description,
        "now_ms": now_ms,
        "hex": envelope(ALICE, message.KIND, body).hex(),
        "expect": "ok",
        "message": message_json(message),
        "author": ALICE.public_key.hex(),
        "message_id": spec_message_id(ALICE.public_key, message.KIND, body).hex(),
    }


def _reject(
    name: str,
    description: str,
    raw: bytes,
    expect: str,
    field: str,
    *,
    now_ms: int = NOW_MS,
    prior: Sequence[bytes] = (),
) -> dict[str, Any]:
    vector: dict[str, Any] = {"name": name, "description": description, "now_ms": now_ms}
    if prior:
        vector["prior"] = [p.hex() for p in prior]
    vector.update(hex=raw.hex(), expect=expect, field=field)
    return vector


def _offer_fields(**changes: Any) -> list[Any]:
    """The body array of the base offer, as a list to tamper with."""
    value = codec.unpack(codec.encode_body(offer(**changes)), "RideOffer")
    assert isinstance(value, tuple)
    return list(value)


def _offer_with(index: int, value: object) -> list[Any]:
    """The base offer's body array with field ``index`` (SPEC §4.1 order) set to ``value``."""
    fields = _offer_fields()
    fields[index] = value
    return fields


def _signed_body(fields: Sequence[object], kind: str = RideOffer.KIND) -> bytes:
    """An envelope by Alice, correctly signed, around a tampered body array."""
    return envelope(ALICE, kind, codec.pack(list(fields)))


def _array_of_packed(parts: Sequence[bytes]) -> bytes:
    """A fixarray whose elements are given already packed (to plant odd encodings)."""
    assert len(parts) < 16
    return bytes([0x90 + len(parts)]) + b"".join(parts)


def _raw_route(rows: Sequence[tuple[int, int]]) -> Polyline:
    return Polyline(np.asarray(rows, dtype="<i4").tobytes())


def _straight_route(n: int, step_m: float = 10.0) -> Polyline:
    """``n`` vertices ``step_m`` apart, heading north from central Tel Aviv."""
    lat0, lon0 = 32.05, 34.78
    step_deg = step_m / 110_900  # metres per degree of latitude here
    return Polyline.from_degrees((lat0 + i * step_deg, lon0) for i in range(n))


def _cell(lat: float, lon: float, resolution: int = 7) -> H3Cell:
    return H3Cell(h3i.latlng_to_cell(lat, lon, resolution))


def _exact_size_envelope(size: int) -> bytes:
    """A signed offer of exactly ``size`` bytes, found by varying route length and int widths."""

    def unsigned_size(candidate: RideOffer) -> int:
        body = codec.encode_body(candidate)
        return len(codec.pack([1, RideOffer.KIND, body, ALICE.public_key, bytes(64)]))

    # Every vertex adds 8 bytes: start a little short of the size and pad with wider ints.
    n0 = size // 8 - 64
    n_start = n0 + (size - unsigned_size(offer(route=_straight_route(n0)))) // 8 - 1
    widths = (0, 200, 1_000)  # 1-, 2- and 3-byte msgpack integers
    for n in range(n_start - 1, n_start + 3):
        route = _straight_route(n)
        for seq, detour_m, detour_s in itertools.product((0, 100_000), widths, widths):
            candidate = offer(route=route, seq=seq, max_detour_m=detour_m, max_detour_s=detour_s)
            if unsigned_size(candidate) == size:
                return envelope_of(ALICE, candidate)
    raise AssertionError(f"no offer of exactly {size} bytes")


# -- the vectors


def build() -> list[dict[str, Any]]:
    p = DEFAULT_POLICY
    basic = envelope_of(ALICE, offer())
    basic_signature_at = len(basic) - 64
    bad_cell = request().pickup_cell & ~0b111  # unused digit 15 must be 7
    pentagon = H3Cell(h3.str_to_int(h3.get_pentagons(7)[3]))
    return [
        # ---- accepted
        _ok("offer_basic", "A driver's offer along 2.6 km of a city street.", offer()),
        _ok(
            "offer_across_antimeridian",
            "A route over the 180th meridian in Fiji: 1.6 km, not 40,000 km.",
            offer(
                route=Polyline.from_degrees([(-16.8, 179.99), (-16.8, -179.995)]), duration_s=120
            ),
        ),
        _ok(
            "offer_at_limits",
            "1024 vertices, 8 seats, maximum detours and costs, lifetime exactly 48 h, "
            "departure window exactly 24 h.",
            offer(
                route=_straight_route(p.max_route_vertices),
                seq=2**63 - 1,
                seats=p.max_seats,
                max_detour_m=p.max_detour_m,
                max_detour_s=p.max_detour_s,
                expires_ms=NOW_MS + p.max_lifetime_ms,
                departure=TimeWindow(NOW_MS, NOW_MS + p.max_window_ms),
                cost=dataclasses.replace(
                    offer().cost, base_minor=p.max_cost_minor, per_km_minor=p.max_cost_minor
                ),
            ),
        ),
        _ok(
            "offer_minimal",
            "Two vertices about 250 m apart, one seat, no detour, free of charge.",
            offer(
                route=Polyline.from_degrees([(32.0800, 34.7800), (32.0822, 34.7800)]),
                duration_s=60,
                seats=1,
                max_detour_m=0,
                max_detour_s=0,
                cost=dataclasses.replace(offer().cost, base_minor=0, per_km_minor=0),
            ),
        ),
        _ok(
            "offer_future_within_skew",
            "Created 30 s ahead of the receiver's clock: exactly the allowed skew.",
            offer(created_ms=NOW_MS + p.max_skew_ms),
        ),
        _ok(
            "offer_expired_within_skew",
            "Expired 30 s before the receiver's clock: still inside the allowed skew.",
            offer(created_ms=NOW_MS - HOUR_MS, expires_ms=NOW_MS - p.max_skew_ms),
        ),
        _ok("request_basic", "A rider's request with resolution-7 cells.", request()),
        _ok(
            "request_coarsest_cells",
            "Resolution 5, the coarsest allowed.",
            request(
                pickup_cell=_cell(32.095, 34.784, 5), dropoff_cell=_cell(31.77, 35.21, 5), seats=2
            ),
        ),
        _ok(
            "request_finest_cells",
            "Resolution 9, the finest allowed.",
            request(pickup_cell=_cell(32.095, 34.784, 9), dropoff_cell=_cell(32.074, 34.7815, 9)),
        ),
        _ok(
            "request_same_cell",
            "Pickup and drop-off in one cell: a short hop is allowed.",
            request(dropoff_cell=request().pickup_cell),
        ),
        _ok(
            "request_pentagon",
            "A pentagon cell and its neighbour, the irregular corners of H3.",
            request(
                pickup_cell=pentagon,
                dropoff_cell=H3Cell(min(set(h3i.grid_disk(pentagon, 1)) - {pentagon})),
            ),
        ),
        _ok(
            "request_southern_antimeridian",
            "Cells on either side of the 180th meridian, south of the equator.",
            request(pickup_cell=_cell(-16.8, 179.99), dropoff_cell=_cell(-16.8, -179.99)),
        ),
        _ok(
            "request_at_limits",
            "8 seats, 5 km walk, window already open and exactly 24 h long, lifetime 48 h.",
            request(
                seq=2**63 - 1,
                seats=p.max_seats,
                max_walk_m=p.max_walk_m,
                window=TimeWindow(NOW_MS - HOUR_MS, NOW_MS - HOUR_MS + DAY_MS),
                expires_ms=NOW_MS + p.max_lifetime_ms,
            ),
        ),
        # SPEC §5.7: limits use the mean sphere, not the ellipsoid. Meridian steps,
        # so the spherical length is R * dlat exactly: R = 6 371 008.8 m.
        _ok(
            "route_spherical_long_enough_at_equator",
            "1799 µdeg of latitude at the equator: 200.04 m on the sphere (accepted), "
            "though 198.92 m on the WGS84 ellipsoid.",
            offer(route=_raw_route([(0, 10_000_000), (1_799, 10_000_000)]), duration_s=30),
        ),
        _ok(
            "route_spherical_segment_under_50km_at_80n",
            "A 448,760 µdeg meridian segment at 80° N: 49,899.9 m on the sphere (accepted), "
            "though 50,109.2 m on the WGS84 ellipsoid.",
            offer(
                route=_raw_route([(80_000_000, 10_000_000), (80_448_760, 10_000_000)]),
                duration_s=3_600,
            ),
        ),
        # ---- step 1: size
        _reject(
            "oversized",
            "A correctly signed offer 8200 vertices long: 65,816 bytes, over the 64 KiB limit.",
            envelope_of(ALICE, offer(route=_straight_route(8200))),
            "oversized",
            "message",
        ),
        _reject(
            "size_limit_is_inclusive",
            "Exactly 65,536 bytes passes the size step; it fails later for too many vertices.",
            _exact_size_envelope(p.max_bytes),
            "invalid",
            "RideOffer.route.vertices",
        ),
        # ---- step 2: decode
        _reject("truncated", "The last byte is missing.", basic[:-1], "decode", "Envelope"),
        _reject(
            "trailing_bytes", "One byte after the envelope.", basic + b"\x00", "decode", "Envelope"
        ),
        _reject("empty", "No bytes at all.", b"", "decode", "Envelope"),
        _reject(
            "envelope_as_map",
            "The envelope as a map with named fields instead of an array.",
            codec.pack({"v": 1, "kind": "ride.offer", "body": codec.encode_body(offer())}),
            "decode",
            "Envelope",
        ),
        _reject(
            "envelope_of_four",
            "An envelope array without its signature.",
            codec.pack([1, RideOffer.KIND, codec.encode_body(offer()), bytes(ALICE.public_key)]),
            "decode",
            "Envelope",
        ),
        _reject(
            "envelope_noncanonical_version",
            "Version 1 written as uint8 (cc 01) instead of fixint (01).",
            b"\x95\xcc\x01" + basic[2:],
            "decode",
            "Envelope",
        ),
        _reject(
            "envelope_noncanonical_kind",
            "The kind written as str8 (d9 0a ...) where fixstr (aa ...) fits.",
            basic[:2] + b"\xd9\x0a" + basic[3:],
            "decode",
            "Envelope",
        ),
        _reject(
            "envelope_author_short",
            "A 31-byte author key.",
            codec.pack(
                [1, RideOffer.KIND, codec.encode_body(offer()), ALICE.public_key[:31], bytes(64)]
            ),
            "decode",
            "Envelope.author",
        ),
        _reject(
            "envelope_version_bool",
            "The version as true: booleans are not integers.",
            codec.pack(
                [True, RideOffer.KIND, codec.encode_body(offer()), ALICE.public_key, bytes(64)]
            ),
            "decode",
            "Envelope.version",
        ),
        _reject(
            "body_noncanonical_int",
            "Seats written as uint16 (cd 00 03) instead of fixint; signed as written.",
            envelope(
                ALICE,
                RideOffer.KIND,
                _array_of_packed(
                    [codec.pack(v) for v in _offer_fields()[:7]]
                    + [b"\xcd\x00\x03"]
                    + [codec.pack(v) for v in _offer_fields()[8:]]
                ),
            ),
            "decode",
            "RideOffer",
        ),
        _reject(
            "body_as_map",
            "The offer body as a map with named fields; signed as written.",
            envelope(
                ALICE,
                RideOffer.KIND,
                codec.pack({"offer_id": bytes(16), "seq": 0, "seats": 3}),
            ),
            "decode",
            "RideOffer",
        ),
        _reject(
            "body_empty_map",
            "An empty map as the body: maps are refused even when they have no entries.",
            envelope(ALICE, RideOffer.KIND, b"\x80"),
            "decode",
            "RideOffer",
        ),
        _reject(
            "body_extension_type",
            "An empty extension value (c7 00 05) as the body: extension types are refused.",
            envelope(ALICE, RideOffer.KIND, b"\xc7\x00\x05"),
            "decode",
            "RideOffer",
        ),
        # ---- step 3: schema
        _reject(
            "unknown_version",
            "Version 2, which this peer does not speak.",
            envelope_of(ALICE, offer(), version=2),
            "unknown_version",
            "Envelope.version",
        ),
        _reject(
            "unknown_kind",
            "A kind that version 1 does not have.",
            envelope(ALICE, "ride.cancel", codec.encode_body(offer())),
            "unknown_kind",
            "Envelope.kind",
        ),
        _reject(
            "seats_float",
            "Seats as the float 3.0 where an integer belongs.",
            _signed_body(_offer_with(7, 3.0)),
            "invalid",
            "RideOffer.seats",
        ),
        _reject(
            "seats_bool",
            "Seats as true where an integer belongs.",
            _signed_body(_offer_with(7, True)),
            "invalid",
            "RideOffer.seats",
        ),
        _reject(
            "offer_id_short",
            "A 15-byte offer id.",
            _signed_body(_offer_with(0, bytes(15))),
            "invalid",
            "RideOffer.offer_id",
        ),
        _reject(
            "offer_of_ten_fields",
            "An offer body without its cost terms.",
            _signed_body(_offer_fields()[:10]),
            "invalid",
            "RideOffer",
        ),
        _reject(
            "offer_body_under_request_kind",
            "A well-formed offer body sent as kind ride.request.",
            _signed_body(_offer_fields(), kind=RideRequest.KIND),
            "invalid",
            "RideRequest",
        ),
        _reject(
            "route_odd_bytes",
            "A route of 12 bytes: one and a half vertices.",
            _signed_body(_offer_with(4, bytes(12))),
            "invalid",
            "RideOffer.route",
        ),
        # ---- step 4: signature
        _reject(
            "bad_signature",
            "One bit of the signature flipped.",
            basic[:basic_signature_at] + bytes([basic[basic_signature_at] ^ 1]) + basic[-63:],
            "bad_signature",
            "Envelope.signature",
        ),
        _reject(
            "signed_by_another_key",
            "Alice named as author, but Bob signed.",
            envelope_of(ALICE, offer(), signer=BOB),
            "bad_signature",
            "Envelope.signature",
        ),
        _reject(
            "body_changed_after_signing",
            "Seats raised from 3 to 4 after Alice signed.",
            envelope_of(ALICE, offer(seats=4))[:-64]
            + ALICE.sign(signing_input(RideOffer.KIND, codec.encode_body(offer()))),
            "bad_signature",
            "Envelope.signature",
        ),
        _reject(
            "signature_for_another_kind",
            "A signature over the same body as kind ride.request (domain separation).",
            codec.pack(
                [
                    1,
                    RideOffer.KIND,
                    codec.encode_body(offer()),
                    ALICE.public_key,
                    ALICE.sign(signing_input(RideRequest.KIND, codec.encode_body(offer()))),
                ]
            ),
            "bad_signature",
            "Envelope.signature",
        ),
        # ---- step 5: freshness
        _reject(
            "expired",
            "Expired 30.001 s before the receiver's clock: 1 ms beyond the skew.",
            envelope_of(
                ALICE, offer(created_ms=NOW_MS - HOUR_MS, expires_ms=NOW_MS - p.max_skew_ms - 1)
            ),
            "expired",
            "RideOffer.expires_ms",
        ),
        _reject(
            "future",
            "Created 30.001 s ahead of the receiver's clock: 1 ms beyond the skew.",
            envelope_of(ALICE, offer(created_ms=NOW_MS + p.max_skew_ms + 1)),
            "future",
            "RideOffer.created_ms",
        ),
        _reject(
            "request_expired_before_semantics",
            "Expired and also without seats: freshness (step 5) is checked before semantics.",
            envelope_of(
                ALICE,
                request(created_ms=NOW_MS - 3 * HOUR_MS, expires_ms=NOW_MS - HOUR_MS, seats=0),
            ),
            "expired",
            "RideRequest.expires_ms",
        ),
        # ---- step 6: replay
        _reject(
            "replayed",
            "The basic offer again, after the same peer accepted it once.",
            basic,
            "replayed",
            "message_id",
            prior=[basic],
        ),
        # ---- step 7: semantics
        _reject(
            "seats_zero",
            "An offer with no free seats.",
            envelope_of(ALICE, offer(seats=0)),
            "invalid",
            "RideOffer.seats",
        ),
        _reject(
            "request_seats_nine",
            "A request for 9 seats; the limit is 8.",
            envelope_of(ALICE, request(seats=9)),
            "invalid",
            "RideRequest.seats",
        ),
        _reject(
            "departure_backwards",
            "A departure window that ends before it starts.",
            envelope_of(
                ALICE,
                offer(departure=TimeWindow(NOW_MS + 25 * MINUTE_MS, NOW_MS + 10 * MINUTE_MS)),
            ),
            "invalid",
            "RideOffer.departure",
        ),
        _reject(
            "request_window_backwards",
            "A pickup window that ends before it starts.",
            envelope_of(
                ALICE,
                request(window=TimeWindow(NOW_MS + 35 * MINUTE_MS, NOW_MS + 5 * MINUTE_MS)),
            ),
            "invalid",
            "RideRequest.window",
        ),
        _reject(
            "lifetime_too_long",
            "Expires 48 h + 1 ms after creation.",
            envelope_of(ALICE, offer(expires_ms=NOW_MS + p.max_lifetime_ms + 1)),
            "invalid",
            "RideOffer.expires_ms",
        ),
        _reject(
            "currency_not_letters",
            "A currency code with a digit.",
            envelope_of(ALICE, offer(cost=dataclasses.replace(offer().cost, currency="A1B"))),
            "invalid",
            "RideOffer.cost.currency",
        ),
        _reject(
            "too_few_vertices",
            "A route of a single vertex.",
            envelope_of(ALICE, offer(route=_straight_route(1))),
            "invalid",
            "RideOffer.route.vertices",
        ),
        _reject(
            "too_many_vertices",
            "A route of 1025 vertices 10 m apart; the limit is 1024.",
            envelope_of(ALICE, offer(route=_straight_route(p.max_route_vertices + 1))),
            "invalid",
            "RideOffer.route.vertices",
        ),
        _reject(
            "request_cells_too_fine",
            "Resolution-12 cells (~300 m²) would all but reveal the rider's door.",
            envelope_of(
                ALICE,
                request(
                    pickup_cell=_cell(32.095, 34.784, 12), dropoff_cell=_cell(32.074, 34.7815, 12)
                ),
            ),
            "invalid",
            "RideRequest.pickup_cell",
        ),
        _reject(
            "request_cells_too_coarse",
            "Resolution-4 cells, coarser than the limit of 5.",
            envelope_of(
                ALICE,
                request(pickup_cell=_cell(32.095, 34.784, 4), dropoff_cell=_cell(31.77, 35.21, 4)),
            ),
            "invalid",
            "RideRequest.pickup_cell",
        ),
        _reject(
            "request_resolutions_differ",
            "Pickup at resolution 7, drop-off at 8.",
            envelope_of(ALICE, request(dropoff_cell=_cell(32.074, 34.7815, 8))),
            "invalid",
            "RideRequest.dropoff_cell",
        ),
        _reject(
            "route_lat_91",
            "A vertex at latitude 91°.",
            envelope_of(ALICE, offer(route=Polyline.from_degrees([(32.07, 34.78), (91.0, 34.78)]))),
            "geometry",
            "RideOffer.route[1]",
        ),
        _reject(
            "route_lon_int32_min",
            "lon_e6 = -2^31, which wraps to a point 300 m from its neighbour if read mod 360°.",
            envelope_of(ALICE, offer(route=_raw_route([(0, -(2**31)), (0, 12_516_352 + 3_000)]))),
            "geometry",
            "RideOffer.route[0]",
        ),
        _reject(
            "route_too_short",
            "A route of 100 m, shorter than the 200 m minimum.",
            envelope_of(ALICE, offer(route=_straight_route(2, step_m=100.0), duration_s=30)),
            "geometry",
            "RideOffer.route",
        ),
        _reject(
            "route_segment_too_long",
            "One straight 54 km segment, Tel Aviv to Jerusalem; the limit is 50 km.",
            envelope_of(
                ALICE,
                offer(
                    route=Polyline.from_degrees([(32.0853, 34.7818), (31.7683, 35.2137)]),
                    duration_s=3_600,
                ),
            ),
            "geometry",
            "RideOffer.route[0]",
        ),
        _reject(
            "route_spherical_too_short_at_80n",
            "1794 µdeg of latitude at 80° N: 199.48 m on the sphere (rejected), "
            "though 200.32 m on the WGS84 ellipsoid.",
            envelope_of(
                ALICE,
                offer(route=_raw_route([(80_000_000, 10_000_000), (80_001_794, 10_000_000)])),
            ),
            "geometry",
            "RideOffer.route",
        ),
        _reject(
            "route_spherical_segment_over_50km_at_equator",
            "A 449,700 µdeg meridian segment at the equator: 50,004.4 m on the sphere "
            "(rejected), though 49,725.3 m on the WGS84 ellipsoid.",
            envelope_of(
                ALICE,
                offer(route=_raw_route([(0, 10_000_000), (449_700, 10_000_000)]), duration_s=3_600),
            ),
            "geometry",
            "RideOffer.route[0]",
        ),
        _reject(
            "impossible_speed",
            "2.6 km in 10 s (935 km/h).",
            envelope_of(ALICE, offer(duration_s=10)),
            "geometry",
            "RideOffer.duration_s",
        ),
        _reject(
            "request_invalid_cell",
            "A resolution-7 cell whose unused 15th digit is 0 instead of 7.",
            envelope_of(ALICE, request(pickup_cell=bad_cell)),
            "geometry",
            "RideRequest.pickup_cell",
        ),
        _reject(
            "request_negative_cell",
            "A negative number where an H3 cell belongs.",
            envelope_of(ALICE, request(dropoff_cell=H3Cell(-1))),
            "geometry",
            "RideRequest.dropoff_cell",
        ),
    ]


def render() -> str:
    """The whole vectors file, byte for byte."""
    document = {
        "format": FORMAT,
        "spec": "SPEC.md §2-§5; layout in tests/vectors/README.md",
        "policy": dataclasses.asdict(DEFAULT_POLICY),
        "keys": {
            name: {
                "seed": seed.hex(),
                "public_key": identity.public_key.hex(),
                "member_id": identity.member_id,
            }
            for name, seed in SEEDS.items()
            for identity in [Identity.from_seed(seed)]
        },
        "vectors": build(),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {PATH} ({len(json.loads(PATH.read_text())['vectors'])} vectors)")


if __name__ == "__main__":
    main()
