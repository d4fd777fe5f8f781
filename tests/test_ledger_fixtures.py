"""Builders for ledger tests: members writing their own logs, receipts, rides, strategies.

The other ``test_ledger_*`` modules and the ledger vector generator import
these. The tests at the bottom check the builders themselves make what the
rest assume: valid, co-signed rides.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterable
from typing import Any

from hypothesis import strategies as st

from protocol import geo
from protocol.envelope import Signed
from protocol.fields import CostShare, GeoPoint
from protocol.identity import Identity
from protocol.ledger.book import Ledger
from protocol.ledger.chain import MemberLog
from protocol.ledger.cosign import countersign, propose_receipt, rating_entry, receipt_half
from protocol.ledger.credit import Verdict, explain
from protocol.ledger.receipt import Receipt
from protocol.ledger.wire import LogEntry, Payload
from tests.strategies import ALICE, BOB, NOW_MS, envelope_of

CAROL = Identity.from_seed(bytes([3]) * 32)
DAVE = Identity.from_seed(bytes([4]) * 32)

MINUTE_MS = 60_000
DAY_MS = 86_400_000
#: 2026-01-01T00:00:00Z, the start of the UTC day of ``NOW_MS``.
DAY_START_MS = NOW_MS - NOW_MS % DAY_MS

#: Pickup and drop-off cells in Tel Aviv (H3 resolution 7).
PICKUP = geo.cell_of(GeoPoint.from_degrees(32.0950, 34.7840))
DROPOFF = geo.cell_of(GeoPoint.from_degrees(32.0740, 34.7815))


def receipt(driver: Identity, rider: Identity, **changes: Any) -> Receipt:
    """A 5 km, 15-minute, one-seat ride ending at ``NOW_MS``, with ``changes`` applied."""
    base = Receipt(
        ride_id=bytes(range(16)),
        offer_id=bytes(range(16, 32)),
        request_id=bytes(range(32, 48)),
        driver=driver.public_key,
        rider=rider.public_key,
        pickup_cell=PICKUP,
        dropoff_cell=DROPOFF,
        distance_m=5_000,
        seats=1,
        started_ms=NOW_MS - 15 * MINUTE_MS,
        ended_ms=NOW_MS,
        cost=CostShare("ILS", 500, 80),
        cost_minor=900,
    )
    return dataclasses.replace(base, **changes)


class Members:
    """Members each writing their own log, as their own peers would; no ledger of others."""

    def __init__(self, *identities: Identity) -> None:
        self.identities = {i.public_key: i for i in identities}
        self.logs = {i.public_key: MemberLog(i.public_key) for i in identities}
        self._rides = 0

    def log(self, member: Identity) -> MemberLog:
        return self.logs[member.public_key]

    def propose(self, proposer: Identity, r: Receipt) -> Signed[LogEntry]:
        return propose_receipt(proposer, self.log(proposer), r, max(r.ended_ms, NOW_MS))

    def agree(self, signer: Identity, proposal: Signed[LogEntry]) -> Signed[LogEntry]:
        r = receipt_half(proposal).receipt
        return countersign(signer, self.log(signer), proposal, r.ended_ms, expected=r)

    def ride(
        self, driver: Identity, rider: Identity, *, rider_proposes: bool = False, **changes: Any
    ) -> tuple[Signed[LogEntry], Signed[LogEntry]]:
        """Both halves of one ride; each ride gets a fresh ``ride_id`` unless given one."""
        self._rides += 1
        changes.setdefault("ride_id", self._rides.to_bytes(16, "big"))
        r = receipt(driver, rider, **changes)
        proposer, signer = (rider, driver) if rider_proposes else (driver, rider)
        proposal = self.propose(proposer, r)
        return proposal, self.agree(signer, proposal)

    def rate(self, rater: Identity, half: Signed[LogEntry], stars: int) -> Signed[LogEntry]:
        """``rater`` rates the other party of its own receipt ``half`` (SPEC §8.7)."""
        log = self.log(rater)
        return log.append(rating_entry(rater, log, half, stars, log.head_time_ms))

    def raw_entries(self) -> list[bytes]:
        return [e.raw for log in self.logs.values() for e in log]


def ledger_of(raws: Iterable[bytes]) -> Ledger:
    """A ledger that received ``raws`` in that order, each accepted."""
    ledger = Ledger()
    for raw in raws:
        ledger.add(raw)
    return ledger


def entry(
    author: Identity,
    seq: int,
    prev: bytes,
    half: Payload,
    *,
    time_ms: int = NOW_MS,
    signer: Identity | None = None,
) -> bytes:
    """A raw entry written by hand, for entries the helpers would refuse to write."""
    message = LogEntry(seq=seq, prev=prev, time_ms=time_ms, payload=half)
    return envelope_of(author, message, signer=signer)


# -- strategies

MEMBERS = (ALICE, BOB, CAROL, DAVE)
REPEATED_RIDE_ID = b"\x01" * 16


@st.composite
def histories(draw: st.DrawFn, max_rides: int = 12) -> Members:
    """Honest histories: a few members, rides between random pairs, either side proposing."""
    members = Members(*MEMBERS)
    n = draw(st.integers(1, max_rides))
    ended_ms = NOW_MS
    for _ in range(n):
        driver, rider = draw(st.permutations(MEMBERS))[:2]
        ended_ms += draw(st.integers(0, 2 * DAY_MS))
        duration_ms = draw(st.integers(-MINUTE_MS, 60 * MINUTE_MS))
        members.ride(
            driver,
            rider,
            rider_proposes=draw(st.booleans()),
            distance_m=draw(st.integers(0, 200_000)),
            seats=draw(st.integers(1, 4)),
            started_ms=ended_ms - duration_ms,
            ended_ms=ended_ms,
            # Now and then a ride id seen before: it may earn only once.
            ride_id=draw(st.just(REPEATED_RIDE_ID) | st.binary(min_size=16, max_size=16)),
        )
    return members


def shuffled(raws: list[bytes], seed: int) -> list[bytes]:
    out = list(raws)
    random.Random(seed).shuffle(out)
    return out


# -- the builders make what the tests assume


def test_a_ride_writes_one_half_into_each_partys_log() -> None:
    members = Members(ALICE, BOB)
    proposal, agreement = members.ride(ALICE, BOB)
    assert list(members.log(ALICE)) == [proposal]
    assert list(members.log(BOB)) == [agreement]
    assert receipt_half(agreement).link_hash == proposal.message_id


def test_a_ride_counts_once_both_halves_are_in_a_ledger() -> None:
    members = Members(ALICE, BOB)
    members.ride(ALICE, BOB)
    [line] = explain(ledger_of(members.raw_entries()))
    assert line.verdict is Verdict.COUNTED
    assert line.driver == ALICE.public_key


def test_hand_written_entries_match_what_the_helpers_write() -> None:
    members = Members(ALICE, BOB)
    proposal, _ = members.ride(ALICE, BOB)
    m = proposal.message
    assert entry(ALICE, m.seq, m.prev, m.payload, time_ms=m.time_ms) == proposal.raw


def test_the_four_members_are_distinct() -> None:
    assert len({m.public_key for m in MEMBERS}) == 4
