"""Write ``tests/vectors/ledger.json``: test vectors for SPEC §8-§10 (format: README.md).

Run ``.venv/bin/python -m tests.vectors.generate_ledger`` after a deliberate
change to log entries, fork proofs or the credit rule; ``tests/test_ledger_vectors.py``
fails whenever this script's output and the committed file differ. Inputs are
built with the protocol code; every expected outcome is written by hand from
the SPEC, and entry ids and fork proofs are computed here independently.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import h3

from protocol import codec
from protocol.envelope import Signed
from protocol.fields import H3Cell
from protocol.identity import Identity
from protocol.ledger.chain import open_entry
from protocol.ledger.cosign import receipt_half
from protocol.ledger.rating import RideRating
from protocol.ledger.receipt import Receipt
from protocol.ledger.wire import MAX_ENTRY_BYTES, ZERO_HASH, ForkProof, LogEntry, ReceiptHalf
from tests.strategies import ALICE, BOB, NOW_MS, envelope, envelope_of, offer
from tests.test_ledger_fixtures import CAROL, DAY_MS, MINUTE_MS, Members, entry, receipt
from tests.vectors.generate import spec_message_id

PATH = Path(__file__).with_name("ledger.json")
FORMAT = "lazooz-ledger-vectors/1"
SEEDS = {"alice": bytes([1]) * 32, "bob": bytes([2]) * 32, "carol": bytes([3]) * 32}
HOUR_MS = 60 * MINUTE_MS


def receipt_json(r: Receipt) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(r):
        value = getattr(r, f.name)
        if isinstance(value, bytes):
            out[f.name] = value.hex()
        elif f.name.endswith("_cell"):
            out[f.name] = h3.int_to_str(value)
        elif dataclasses.is_dataclass(value):
            out[f.name] = [getattr(value, g.name) for g in dataclasses.fields(value)]
        else:
            out[f.name] = value
    return out


def entry_json(m: LogEntry) -> dict[str, Any]:
    half = m.payload
    if isinstance(half, RideRating):
        return {
            "seq": m.seq,
            "prev": m.prev.hex(),
            "time_ms": m.time_ms,
            "payload_kind": half.PAYLOAD_KIND,
            "payload": {
                "receipt_seq": half.receipt_seq,
                "receipt_hash": half.receipt_hash.hex(),
                "stars": half.stars,
            },
        }
    return {
        "seq": m.seq,
        "prev": m.prev.hex(),
        "time_ms": m.time_ms,
        "payload_kind": half.PAYLOAD_KIND,
        "payload": {
            "receipt": receipt_json(half.receipt),
            "link_seq": half.link_seq,
            "link_hash": half.link_hash.hex(),
        },
    }


def spec_entry_id(raw: bytes) -> bytes:
    """SPEC §2.4 over a raw entry, from its envelope fields."""
    env = codec.decode_envelope(raw)
    return spec_message_id(env.author, env.kind, env.body)


def spec_fork_proof(a: bytes, b: bytes) -> bytes:
    """SPEC §9.1: the body ``[first, second]`` with the lower entry id first."""
    first, second = sorted((a, b), key=spec_entry_id)
    return codec.pack([first, second])


# -- the entries every vector draws on: Alice drives Bob twice, Bob proposes once


def _history() -> tuple[Members, list[Signed[LogEntry]], list[Signed[LogEntry]]]:
    members = Members(ALICE, BOB)
    members.ride(ALICE, BOB)
    members.ride(ALICE, BOB, **_ending(NOW_MS + HOUR_MS))
    members.ride(ALICE, BOB, rider_proposes=True, **_ending(NOW_MS + 2 * HOUR_MS))
    return members, list(members.log(ALICE)), list(members.log(BOB))


def _ending(ended_ms: int, duration_ms: int = 15 * MINUTE_MS) -> dict[str, Any]:
    return {"started_ms": ended_ms - duration_ms, "ended_ms": ended_ms}


def _proposal(r: Receipt) -> ReceiptHalf:
    return ReceiptHalf(receipt=r, link_seq=0, link_hash=ZERO_HASH)


def _rival(e: Signed[LogEntry]) -> bytes:
    """Another entry Alice signs at ``e``'s seq: same prev and payload, 1 ms later."""
    m = e.message
    return entry(ALICE, m.seq, m.prev, m.payload, time_ms=m.time_ms + 1)


def _with_body(raw: bytes, fields: Sequence[object]) -> bytes:
    """``raw``'s author signing a body array of their choosing."""
    env = codec.decode_envelope(raw)
    author = next(i for i in (ALICE, BOB, CAROL) if i.public_key == env.author)
    return envelope(author, env.kind, codec.pack(list(fields)))


def _fields(raw: bytes) -> list[Any]:
    env = codec.decode_envelope(raw)
    value = codec.unpack(env.body, "LogEntry")
    assert isinstance(value, tuple)
    return list(value)


def _ok(
    name: str, description: str, e: Signed[LogEntry], expect: str, prior: Sequence[bytes] = ()
) -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "prior": [p.hex() for p in prior],
        "hex": e.raw.hex(),
        "expect": expect,
        "entry": entry_json(e.message),
        "author": e.author.hex(),
        "entry_id": spec_entry_id(e.raw).hex(),
    }


def _reject(
    name: str,
    description: str,
    raw: bytes,
    expect: str,
    field: str,
    prior: Sequence[bytes] = (),
) -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "prior": [p.hex() for p in prior],
        "hex": raw.hex(),
        "expect": expect,
        "field": field,
    }


def _fork(
    name: str, description: str, held: bytes, raw: bytes, prior: Sequence[bytes]
) -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "prior": [p.hex() for p in prior],
        "hex": raw.hex(),
        "expect": "fork",
        "fork_proof": spec_fork_proof(held, raw).hex(),
    }


def entry_vectors() -> list[dict[str, Any]]:
    _, alice, bob = _history()
    a1, a2 = alice[0], alice[1]
    good = receipt_half(a2)
    out = [
        _ok("proposal_first_entry", "Alice proposes a receipt as her first entry", a1, "added"),
        _ok(
            "agreement_links_to_proposal",
            "Bob's first entry countersigns Alice's entry 1 (link_seq 1, link_hash its id)",
            bob[0],
            "added",
        ),
        _ok("second_entry", "Alice's entry 2 after entry 1", a2, "added", prior=[a1.raw]),
        _ok(
            "rider_proposes",
            "Bob (the rider) proposes; Alice countersigns in her entry 3",
            alice[2],
            "added",
            prior=[a1.raw, a2.raw, bob[0].raw, bob[1].raw, bob[2].raw],
        ),
        _ok(
            "ahead_of_head_is_held",
            "entry 2 before entry 1: held until the gap fills (SPEC §8.6)",
            a2,
            "pending",
        ),
        _ok("already_held", "the same entry again", a1, "duplicate", prior=[a1.raw]),
        _ok(
            "already_held_pending",
            "the same pending entry again",
            a2,
            "duplicate",
            prior=[a2.raw],
        ),
    ]
    rival1, rival2 = _rival(a1), _rival(a2)
    out += [
        _fork(
            "fork_at_seq_1",
            "a second entry 1 of Alice (1 ms later): a fork, and this is its proof",
            a1.raw,
            rival1,
            prior=[a1.raw],
        ),
        _fork(
            "fork_while_pending",
            "a second entry 2 of Alice while her entry 2 waits for entry 1",
            a2.raw,
            rival2,
            prior=[a2.raw],
        ),
    ]
    out += [
        _reject(
            "bad_signature",
            "entry 2 signed by Bob in Alice's name",
            entry(ALICE, 2, a1.message_id, good, signer=BOB),
            "bad_signature",
            "Envelope.signature",
            prior=[a1.raw],
        ),
        _reject(
            "wrong_prev",
            "entry 2 whose prev is not entry 1's id",
            entry(ALICE, 2, b"\x07" * 32, good),
            "wrong_prev",
            "LogEntry.prev",
            prior=[a1.raw],
        ),
        _reject(
            "time_goes_back",
            "entry 2 written 1 ms before entry 1",
            entry(ALICE, 2, a1.message_id, good, time_ms=a1.message.time_ms - 1),
            "time_reversal",
            "LogEntry.time_ms",
            prior=[a1.raw],
        ),
        _reject(
            "first_entry_prev_not_zero",
            "entry 1 must have 32 zero bytes as prev",
            entry(ALICE, 1, b"\x07" * 32, good),
            "invalid",
            "LogEntry.prev",
        ),
        _reject(
            "later_entry_prev_zero",
            "only entry 1 may have a zero prev",
            entry(ALICE, 2, ZERO_HASH, good),
            "invalid",
            "LogEntry.prev",
        ),
        _reject(
            "seq_0",
            "sequence numbers start at 1",
            entry(ALICE, 0, ZERO_HASH, good),
            "invalid",
            "LogEntry.seq",
        ),
        _reject(
            "seq_is_boolean",
            "true where seq belongs",
            _with_body(a1.raw, [True, *_fields(a1.raw)[1:]]),
            "invalid",
            "LogEntry.seq",
        ),
        _reject(
            "not_a_party",
            "Alice logs a receipt of a ride between Bob and Carol",
            entry(ALICE, 1, ZERO_HASH, _proposal(receipt(BOB, CAROL))),
            "not_a_party",
            "Receipt",
        ),
        _reject(
            "driver_is_rider",
            "a receipt of Alice driving herself",
            entry(ALICE, 1, ZERO_HASH, _proposal(receipt(ALICE, ALICE))),
            "invalid",
            "Receipt.rider",
        ),
        _reject(
            "proposal_with_link_hash",
            "link_seq 0 (a proposal) but a non-zero link_hash",
            entry(ALICE, 1, ZERO_HASH, dataclasses.replace(good, link_hash=b"\x01" * 32)),
            "invalid",
            "ReceiptHalf.link_hash",
        ),
        _reject(
            "agreement_without_link_hash",
            "link_seq 1 (an agreement) but a zero link_hash",
            entry(ALICE, 1, ZERO_HASH, dataclasses.replace(good, link_seq=1)),
            "invalid",
            "ReceiptHalf.link_hash",
        ),
        _reject(
            "no_seats",
            "a receipt for 0 seats",
            entry(ALICE, 1, ZERO_HASH, _proposal(receipt(ALICE, BOB, seats=0))),
            "invalid",
            "Receipt.seats",
        ),
        _reject(
            "ride_over_1000_km",
            "a receipt for 1000.001 km",
            entry(ALICE, 1, ZERO_HASH, _proposal(receipt(ALICE, BOB, distance_m=1_000_001))),
            "invalid",
            "Receipt.distance_m",
        ),
        _reject(
            "pickup_not_a_cell",
            "pickup_cell is not an H3 cell",
            entry(ALICE, 1, ZERO_HASH, _proposal(receipt(ALICE, BOB, pickup_cell=H3Cell(12345)))),
            "invalid",
            "Receipt.pickup_cell",
        ),
        _reject(
            "ride_id_of_15_bytes",
            "ids in a receipt are 16 bytes",
            _with_body(a1.raw, _with_receipt_field(a1.raw, 0, b"\x01" * 15)),
            "invalid",
            "Receipt.ride_id",
        ),
        _reject(
            "unknown_payload_kind",
            "a payload kind this version does not know",
            _with_body(a1.raw, [*_fields(a1.raw)[:3], "ride.rating", [1, 2, 3]]),
            "unknown_payload",
            "LogEntry.payload_kind",
        ),
        _reject(
            "not_canonical",
            "seq 1 written as a uint64 (0xcf) instead of a fixint",
            envelope(
                ALICE,
                LogEntry.KIND,
                b"\x95\xcf" + (1).to_bytes(8, "big") + codec.encode_body(a1.message)[2:],
            ),
            "decode",
            "LogEntry",
        ),
        _reject(
            "oversized",
            f"an envelope of more than {MAX_ENTRY_BYTES} bytes",
            envelope(ALICE, LogEntry.KIND, b"\x00" * MAX_ENTRY_BYTES),
            "oversized",
            "message",
        ),
        _reject(
            "a_ride_offer",
            "a gossip message is not a log entry",
            envelope_of(ALICE, offer()),
            "unknown_kind",
            "Envelope.kind",
        ),
        _reject(
            "version_2",
            "an entry of protocol version 2",
            envelope(ALICE, LogEntry.KIND, codec.encode_body(a1.message), version=2),
            "unknown_version",
            "Envelope.version",
        ),
    ]
    return out


def rating_vectors() -> list[dict[str, Any]]:
    """Ratings (SPEC §8.7): each starts from Alice's proposal a1 or Bob's agreement b1."""
    _, alice, bob = _history()
    a1, b1 = alice[0], bob[0]
    t = a1.message.time_ms

    def rating(seq: int, prev: bytes, rated_seq: int, rated_id: bytes, stars: int) -> bytes:
        return entry(ALICE, seq, prev, RideRating(rated_seq, rated_id, stars), time_ms=t)

    r2 = rating(2, a1.message_id, 1, a1.message_id, 4)
    r2_id = spec_entry_id(r2)
    bob_rates = entry(
        BOB, 2, b1.message_id, RideRating(1, b1.message_id, 5), time_ms=b1.message.time_ms
    )
    ok_r2 = open_entry(r2)
    return [
        _ok(
            "rating_of_own_half",
            "Alice's entry 2 gives Bob 4 stars for the ride of her proposal, entry 1",
            ok_r2,
            "added",
            prior=[a1.raw],
        ),
        _ok(
            "rider_rates_driver",
            "Bob's entry 2 gives Alice 5 stars for the ride of his agreement, entry 1",
            open_entry(bob_rates),
            "added",
            prior=[b1.raw],
        ),
        _ok(
            "rating_before_its_half_is_held",
            "a rating whose receipt half has not arrived: held like any entry ahead",
            ok_r2,
            "pending",
        ),
        _reject(
            "rating_0_stars",
            "stars are 1..5",
            rating(2, a1.message_id, 1, a1.message_id, 0),
            "invalid",
            "RideRating.stars",
            prior=[a1.raw],
        ),
        _reject(
            "rating_6_stars",
            "stars are 1..5",
            rating(2, a1.message_id, 1, a1.message_id, 6),
            "invalid",
            "RideRating.stars",
            prior=[a1.raw],
        ),
        _reject(
            "rating_of_itself",
            "receipt_seq must name an earlier entry: entry 2 names entry 2",
            rating(2, a1.message_id, 2, a1.message_id, 4),
            "invalid",
            "RideRating.receipt_seq",
            prior=[a1.raw],
        ),
        _reject(
            "rating_hash_of_31_bytes",
            "receipt_hash is an entry id, 32 bytes",
            _with_body(r2, [*_fields(r2)[:4], [1, a1.message_id[:31], 4]]),
            "invalid",
            "RideRating.receipt_hash",
            prior=[a1.raw],
        ),
        _reject(
            "rating_wrong_link",
            "receipt_hash is not the id of Alice's entry 1",
            rating(2, a1.message_id, 1, b"\x07" * 32, 4),
            "wrong_link",
            "RideRating.receipt_hash",
            prior=[a1.raw],
        ),
        _reject(
            "rating_of_a_rating",
            "entry 3 rates entry 2, which is a rating, not a receipt half",
            rating(3, r2_id, 2, r2_id, 4),
            "not_a_receipt",
            "RideRating.receipt_seq",
            prior=[a1.raw, r2],
        ),
        _reject(
            "rated_twice",
            "entry 3 rates entry 1 again: one rating per receipt half",
            rating(3, r2_id, 1, a1.message_id, 2),
            "already_rated",
            "RideRating.receipt_seq",
            prior=[a1.raw, r2],
        ),
    ]


def reputation_vectors() -> list[dict[str, Any]]:
    """Reputation scenarios (SPEC §8.8), counted by hand."""
    members = Members(ALICE, BOB, CAROL)
    p1, g1 = members.ride(ALICE, BOB)
    members.rate(ALICE, p1, 4)  # counts for Bob
    members.rate(BOB, g1, 5)  # counts for Alice
    p2, _ = members.ride(BOB, ALICE, rider_proposes=True)
    members.rate(ALICE, p2, 3)  # counts for Bob: (4 + 3) / 2
    lone = members.propose(ALICE, receipt(ALICE, CAROL, ride_id=b"\x09" * 16))
    members.rate(ALICE, lone, 1)  # Carol never countersigned: does not count

    forked = Members(ALICE, BOB)
    p3, g3 = forked.ride(ALICE, BOB)
    forked.rate(ALICE, p3, 2)
    bob_rating = forked.rate(BOB, g3, 5)
    rival = entry(
        BOB,
        bob_rating.message.seq,
        bob_rating.message.prev,
        bob_rating.message.payload,
        time_ms=bob_rating.message.time_ms + 1,
    )
    fork = _gossip(spec_fork_proof(bob_rating.raw, rival))

    def rep(count: int, stars_total: int) -> dict[str, int]:
        return {"count": count, "stars_total": stars_total}

    return [
        {
            "name": "ratings_of_co_signed_receipts",
            "description": "Alice and Bob rate each other over two rides; Alice rates Carol"
            " for a receipt Carol never countersigned, which does not count",
            "entries": [r.hex() for r in members.raw_entries()],
            "forks": [],
            "reputations": {"alice": rep(1, 5), "bob": rep(2, 7), "carol": rep(0, 0)},
        },
        {
            "name": "forked_rater_void",
            "description": "Bob forks at the seq of his rating of Alice: it is void (SPEC §9.2);"
            " Alice's rating of Bob stands, since Bob's agreement is below the fork",
            "entries": [r.hex() for r in forked.raw_entries()],
            "forks": [fork.hex()],
            "reputations": {"alice": rep(0, 0), "bob": rep(1, 2)},
        },
    ]


def _with_receipt_field(raw: bytes, index: int, value: object) -> list[Any]:
    fields = _fields(raw)
    half = list(fields[4])
    r = list(half[0])
    r[index] = value
    half[0] = r
    fields[4] = half
    return fields


# -- fork proofs, as gossiped on lazooz/1/ledger by Carol


def _gossip(proof_body: bytes, reporter: Identity = CAROL, signer: Identity | None = None) -> bytes:
    return envelope(reporter, ForkProof.KIND, proof_body, signer=signer)


def fork_vectors() -> list[dict[str, Any]]:
    _, alice, bob = _history()
    a1, a2 = alice[0].raw, alice[1].raw
    rival1, rival2 = _rival(alice[0]), _rival(alice[1])

    def ok(name: str, description: str, body: bytes, seq: int) -> dict[str, Any]:
        return {
            "name": name,
            "description": description,
            "hex": _gossip(body).hex(),
            "expect": "ok",
            "author": ALICE.public_key.hex(),
            "seq": seq,
        }

    def bad(name: str, description: str, raw: bytes, expect: str, field: str) -> dict[str, Any]:
        return {
            "name": name,
            "description": description,
            "hex": raw.hex(),
            "expect": expect,
            "field": field,
        }

    lo1, hi1 = sorted((a1, rival1), key=spec_entry_id)
    bad_sig = entry(ALICE, 1, ZERO_HASH, alice[0].message.payload, time_ms=NOW_MS + 5, signer=BOB)
    nonsense = entry(ALICE, 1, ZERO_HASH, _proposal(receipt(BOB, CAROL)))
    nonsense_rival = entry(ALICE, 1, ZERO_HASH, _proposal(receipt(BOB, CAROL, seats=2)))
    return [
        ok("proof_at_seq_1", "two entries 1 of Alice", spec_fork_proof(a1, rival1), 1),
        ok("proof_at_seq_2", "two entries 2 of Alice, same prev", spec_fork_proof(a2, rival2), 2),
        ok(
            "fork_of_entries_breaking_content_rules",
            "a signature is a signature: two entries 1 no ledger would chain still prove a fork",
            spec_fork_proof(nonsense, nonsense_rival),
            1,
        ),
        bad(
            "different_authors",
            "Alice's entry 1 and Bob's entry 1",
            _gossip(spec_fork_proof(a1, bob[0].raw)),
            "wrong_author",
            "ForkProof.second",
        ),
        bad(
            "one_entry_twice",
            "the same entry as first and second",
            _gossip(codec.pack([a1, a1])),
            "not_a_fork",
            "ForkProof.second",
        ),
        bad(
            "different_seqs",
            "Alice's entries 1 and 2",
            _gossip(spec_fork_proof(a1, a2)),
            "not_a_fork",
            "ForkProof.second",
        ),
        bad(
            "entry_with_bad_signature",
            "the rival entry 1 is signed by Bob in Alice's name",
            _gossip(codec.pack(sorted((a1, bad_sig), key=lambda r: r == bad_sig))),
            "bad_signature",
            "Envelope.signature",
        ),
        bad(
            "ids_descend",
            "a real fork, entries in the wrong order",
            _gossip(codec.pack([hi1, lo1])),
            "invalid",
            "ForkProof.first",
        ),
        bad(
            "first_not_an_entry",
            "first is not an envelope at all",
            _gossip(codec.pack([b"\x93\x01\x02\x03", a1])),
            "decode",
            "Envelope",
        ),
        bad(
            "reporter_signature_bad",
            "a real fork in a gossip envelope Carol did not sign",
            _gossip(spec_fork_proof(a1, rival1), signer=BOB),
            "bad_signature",
            "Envelope.signature",
        ),
    ]


# -- credit scenarios: balances worked out by hand from SPEC §10.2


def credit_vectors() -> list[dict[str, Any]]:
    members = Members(ALICE, BOB, CAROL)
    t0 = NOW_MS  # 2026-01-01T08:00Z
    rides = [
        # r1 08:00 Alice->Bob 10 km, 1 seat: pair ride 1            -> 10000
        ("01", ALICE, BOB, {"distance_m": 10_000, **_ending(t0)}),
        # r2 09:00 Alice->Bob 10 km, 2 seats: pair ride 2, 20000/2   -> 10000
        ("02", ALICE, BOB, {"distance_m": 10_000, "seats": 2, **_ending(t0 + HOUR_MS)}),
        # r3 12:00 Alice->Carol 300 km in 2.5 h (120 km/h)          -> 300000
        ("03", ALICE, CAROL, {"distance_m": 300_000, **_ending(t0 + 4 * HOUR_MS, 150 * MINUTE_MS)}),
        # r4 12:30 Bob->Carol 6 km in 2 min (180 km/h): too fast    -> 0
        ("04", BOB, CAROL, {"distance_m": 6_000, **_ending(t0 + 270 * MINUTE_MS, 2 * MINUTE_MS)}),
        # r5 17:00 Alice->Carol 400 km in 4 h: pair ride 2 -> 200000,
        #          capped at 500000 - 320000 = 180000 earned so far today -> 180000
        ("05", ALICE, CAROL, {"distance_m": 400_000, **_ending(t0 + 9 * HOUR_MS, 4 * HOUR_MS)}),
        # r7 next day 08:00 Bob->Alice 5 km: pair ride 3 (r1, r2 within 7 days) -> 1250
        ("07", BOB, ALICE, {"distance_m": 5_000, **_ending(t0 + DAY_MS)}),
    ]
    for ride_id, driver, rider, changes in rides:
        members.ride(driver, rider, ride_id=bytes.fromhex(ride_id) * 16, **changes)
    # r6 13:00 Carol->Alice 5 km: Carol proposes, Alice never countersigns -> 0
    members.propose(CAROL, receipt(CAROL, ALICE, ride_id=b"\x06" * 16, **_ending(t0 + 5 * HOUR_MS)))

    fork_members = Members(ALICE, BOB)
    for week in range(3):
        fork_members.ride(
            ALICE,
            BOB,
            ride_id=bytes([0x10 + week]) * 16,
            distance_m=8_000,
            **_ending(t0 + week * 8 * DAY_MS),
        )
    second = fork_members.log(ALICE).at(2)
    assert second is not None
    fork = _gossip(spec_fork_proof(second.raw, _rival(second)))

    def line(ride_id: str, verdict: str, credited: int) -> dict[str, Any]:
        return {"ride_id": ride_id * 16, "verdict": verdict, "credited_milli": credited}

    return [
        {
            "name": "every_term_of_v1",
            "description": "pair halving, seats, the daily cap, speed, one signature, a new day",
            "entries": [r.hex() for r in members.raw_entries()],
            "forks": [],
            "balances": {"alice": 500_000, "bob": 1_250, "carol": 0},
            "lines": [
                line("01", "counted", 10_000),
                line("02", "counted", 10_000),
                line("03", "counted", 300_000),
                line("04", "too_fast", 0),
                line("06", "one_signature", 0),
                line("05", "counted", 180_000),
                line("07", "counted", 1_250),
            ],
        },
        {
            "name": "forked_driver_frozen",
            "description": "Alice drives Bob weekly (8 km); a proof that she forked at seq 2",
            "entries": [r.hex() for r in fork_members.raw_entries()],
            "forks": [fork.hex()],
            "balances": {"alice": 8_000, "bob": 0},
            "lines": [
                line("10", "counted", 8_000),
                line("11", "forked", 0),
                line("12", "forked", 0),
            ],
        },
    ]


def render() -> str:
    """The whole vectors file, byte for byte."""
    document = {
        "format": FORMAT,
        "spec": "SPEC.md §8-§10; layout in tests/vectors/README.md",
        "keys": {
            name: {"seed": seed.hex(), "public_key": Identity.from_seed(seed).public_key.hex()}
            for name, seed in SEEDS.items()
        },
        "credit": {
            "version": "credit/1",
            "pair_window_ms": 7 * DAY_MS,
            "daily_cap_milli": 500_000,
            "max_speed_kmh": 150,
        },
        "entries": entry_vectors() + rating_vectors(),
        "forks": fork_vectors(),
        "balances": credit_vectors(),
        "reputations": reputation_vectors(),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    PATH.write_text(render(), encoding="utf-8")
    doc = json.loads(PATH.read_text())
    counts = ", ".join(
        f"{len(doc[k])} {k}" for k in ("entries", "forks", "balances", "reputations")
    )
    print(f"wrote {PATH} ({counts})")


if __name__ == "__main__":
    main()
