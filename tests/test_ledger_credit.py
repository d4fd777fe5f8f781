"""Credit rule v1: every anti-abuse term against balances worked out by hand (SPEC §10)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.fields import PublicKey
from protocol.identity import Identity
from protocol.ledger.book import Ledger
from protocol.ledger.chain import open_entry
from protocol.ledger.cosign import receipt_half
from protocol.ledger.credit import CreditV1, Verdict, balances, explain
from protocol.ledger.errors import WrongPrev
from protocol.ledger.forks import fork_proof
from protocol.ledger.wire import ReceiptHalf
from tests.strategies import ALICE, BOB, NOW_MS
from tests.test_ledger_fixtures import (
    CAROL,
    DAVE,
    DAY_MS,
    DAY_START_MS,
    MINUTE_MS,
    Members,
    entry,
    histories,
    ledger_of,
    receipt,
    shuffled,
)

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HOUR_MS = 60 * MINUTE_MS


def _credit(members: Members) -> dict[PublicKey, int]:
    return balances(ledger_of(members.raw_entries()))


def _verdicts(ledger: Ledger) -> list[Verdict]:
    return [line.verdict for line in explain(ledger)]


def test_a_co_signed_ride_earns_its_driver_a_token_per_passenger_km() -> None:
    members = Members(ALICE, BOB)
    members.ride(ALICE, BOB, distance_m=5_000)
    assert _credit(members) == {ALICE.public_key: 5_000, BOB.public_key: 0}


def test_every_seat_taken_counts() -> None:
    members = Members(ALICE, BOB)
    members.ride(ALICE, BOB, distance_m=5_000, seats=3)
    assert _credit(members)[ALICE.public_key] == 15_000


def test_it_does_not_matter_who_proposes() -> None:
    members = Members(ALICE, BOB)
    members.ride(ALICE, BOB, rider_proposes=True, distance_m=7_000)
    assert _credit(members) == {ALICE.public_key: 7_000, BOB.public_key: 0}


def test_a_receipt_signed_by_one_side_only_earns_nothing() -> None:
    members = Members(ALICE, BOB)
    members.propose(ALICE, receipt(ALICE, BOB))
    ledger = ledger_of(members.raw_entries())
    assert balances(ledger) == {ALICE.public_key: 0}
    assert _verdicts(ledger) == [Verdict.ONE_SIGNATURE]


def test_an_agreement_to_a_different_receipt_does_not_count() -> None:
    members = Members(ALICE, BOB)
    proposal = members.propose(ALICE, receipt(ALICE, BOB, distance_m=5_000))
    inflated = ReceiptHalf(
        receipt(ALICE, BOB, distance_m=50_000), link_seq=1, link_hash=proposal.message_id
    )
    wrong_seq = ReceiptHalf(receipt_half(proposal).receipt, 2, proposal.message_id)
    ledger = ledger_of([proposal.raw])
    first = open_entry(entry(BOB, 1, bytes(32), inflated))
    ledger.add(first)
    ledger.add(entry(BOB, 2, first.message_id, wrong_seq))
    assert balances(ledger)[ALICE.public_key] == 0
    assert _verdicts(ledger) == [Verdict.ONE_SIGNATURE]


def test_the_same_pair_earns_half_as_much_each_time_within_seven_days() -> None:
    members = Members(ALICE, BOB, CAROL)
    for day in (0, 1, 2, 7):  # the day-7 ride is exactly 7 days after the first
        members.ride(ALICE, BOB, distance_m=10_000, **_ending(NOW_MS + day * DAY_MS))
    members.ride(ALICE, CAROL, distance_m=10_000, **_ending(NOW_MS + DAY_MS))
    lines = explain(ledger_of(members.raw_entries()))
    assert [(ln.pair_index, ln.credited_milli) for ln in lines] == [
        (1, 10_000),  # day 0, Bob
        (2, 5_000),  # day 1, Bob (the Carol ride, same end time, sorts by ride id after)
        (1, 10_000),  # day 1, Carol: another pair
        (3, 2_500),  # day 2, Bob
        (3, 2_500),  # day 7: the day-0 ride has left the window, days 1 and 2 have not
    ]
    assert _credit(members)[ALICE.public_key] == 30_000


def test_taking_turns_at_the_wheel_is_still_the_same_pair() -> None:
    members = Members(ALICE, BOB)
    members.ride(ALICE, BOB, distance_m=10_000)
    members.ride(BOB, ALICE, distance_m=10_000, **_ending(NOW_MS + HOUR_MS))
    assert _credit(members) == {ALICE.public_key: 10_000, BOB.public_key: 5_000}


def test_a_driver_earns_at_most_the_daily_cap_per_utc_day() -> None:
    riders = [Identity.from_seed(bytes([10 + i]) * 32) for i in range(5)]
    members = Members(ALICE, *riders)
    long_ride: dict[str, Any] = {"distance_m": 200_000, "started_ms": DAY_START_MS + HOUR_MS}
    for i, rider in enumerate(riders[:4]):  # 4 x 200 km on day 1, 2 h each
        members.ride(ALICE, rider, **long_ride, ended_ms=DAY_START_MS + (3 + i) * HOUR_MS)
    # One more ride ending a minute after midnight: the next UTC day.
    members.ride(
        ALICE,
        riders[4],
        distance_m=200_000,
        started_ms=DAY_START_MS + DAY_MS - 2 * HOUR_MS,
        ended_ms=DAY_START_MS + DAY_MS + MINUTE_MS,
    )
    lines = explain(ledger_of(members.raw_entries()))
    assert [(ln.cap_left_milli, ln.credited_milli) for ln in lines] == [
        (500_000, 200_000),
        (300_000, 200_000),
        (100_000, 100_000),
        (0, 0),
        (500_000, 200_000),
    ]
    assert [ln.capped for ln in lines] == [False, False, True, True, False]
    assert _credit(members)[ALICE.public_key] == 700_000
    assert CreditV1().daily_cap_milli == 500_000


def test_a_ride_faster_than_150_kmh_earns_nothing() -> None:
    members = Members(ALICE, BOB, CAROL)
    two_minutes: dict[str, Any] = {"started_ms": NOW_MS - 2 * MINUTE_MS, "ended_ms": NOW_MS}
    members.ride(ALICE, BOB, distance_m=5_000, **two_minutes)  # exactly 150 km/h
    members.ride(ALICE, CAROL, distance_m=5_001, **two_minutes)  # just over
    ledger = ledger_of(members.raw_entries())
    assert _verdicts(ledger) == [Verdict.COUNTED, Verdict.TOO_FAST]
    assert balances(ledger)[ALICE.public_key] == 5_000


def test_a_ride_of_no_duration_earns_nothing() -> None:
    members = Members(ALICE, BOB, CAROL)
    members.ride(ALICE, BOB, started_ms=NOW_MS, ended_ms=NOW_MS)
    members.ride(ALICE, CAROL, started_ms=NOW_MS + 1, ended_ms=NOW_MS)
    ledger = ledger_of(members.raw_entries())
    assert _verdicts(ledger) == [Verdict.NO_DURATION, Verdict.NO_DURATION]
    assert balances(ledger)[ALICE.public_key] == 0


def test_a_ride_that_earned_nothing_does_not_count_against_the_pair() -> None:
    members = Members(ALICE, BOB)
    members.ride(ALICE, BOB, distance_m=500_000)  # 500 km in 15 minutes
    members.ride(ALICE, BOB, distance_m=5_000, **_ending(NOW_MS + HOUR_MS))
    lines = explain(ledger_of(members.raw_entries()))
    assert [(ln.verdict, ln.pair_index) for ln in lines] == [
        (Verdict.TOO_FAST, 0),
        (Verdict.COUNTED, 1),
    ]


def test_a_ride_id_earns_once() -> None:
    members = Members(ALICE, BOB, CAROL)
    members.ride(ALICE, BOB, ride_id=b"\x05" * 16, distance_m=5_000)
    members.ride(ALICE, CAROL, ride_id=b"\x05" * 16, distance_m=9_000, **_ending(NOW_MS + 1))
    ledger = ledger_of(members.raw_entries())
    assert _verdicts(ledger) == [Verdict.COUNTED, Verdict.DUPLICATE_RIDE]
    assert balances(ledger)[ALICE.public_key] == 5_000


def test_a_driver_earns_nothing_from_its_fork_on() -> None:
    members = Members(ALICE, BOB)
    for week in range(3):
        members.ride(ALICE, BOB, distance_m=8_000, **_ending(NOW_MS + week * 8 * DAY_MS))
    second = members.log(ALICE).at(2)
    assert second is not None
    rival = entry(ALICE, 2, second.message.prev, second.message.payload, time_ms=NOW_MS + 1)
    ledger = _tolerant_ledger([*members.raw_entries(), rival])
    assert ledger.fork_seq(ALICE.public_key) == 2
    assert _verdicts(ledger) == [Verdict.COUNTED, Verdict.FORKED, Verdict.FORKED]
    assert balances(ledger)[ALICE.public_key] == 8_000


def test_a_riders_fork_voids_the_receipts_it_signed_from_then_on() -> None:
    members = Members(ALICE, BOB)
    for week in range(3):
        members.ride(ALICE, BOB, distance_m=8_000, **_ending(NOW_MS + week * 8 * DAY_MS))
    third = members.log(BOB).at(3)
    assert third is not None
    rival = open_entry(
        entry(BOB, 3, third.message.prev, third.message.payload, time_ms=NOW_MS + 99)
    )
    ledger = ledger_of(members.raw_entries())
    assert balances(ledger)[ALICE.public_key] == 24_000
    ledger.add_fork(fork_proof(third, rival))  # as if gossiped
    assert _verdicts(ledger) == [Verdict.COUNTED, Verdict.COUNTED, Verdict.FORKED]
    assert balances(ledger)[ALICE.public_key] == 16_000


def test_riders_earn_nothing_in_v1() -> None:
    members = Members(ALICE, BOB, CAROL, DAVE)
    members.ride(ALICE, BOB)
    members.ride(CAROL, DAVE, **_ending(NOW_MS + 1))
    assert _credit(members) == {
        ALICE.public_key: 5_000,
        BOB.public_key: 0,
        CAROL.public_key: 5_000,
        DAVE.public_key: 0,
    }


def test_a_wallet_can_explain_each_ride_of_one_member() -> None:
    members = Members(ALICE, BOB, CAROL)
    members.ride(ALICE, BOB, distance_m=4_000)
    members.ride(ALICE, BOB, distance_m=4_000, **_ending(NOW_MS + HOUR_MS))
    members.ride(CAROL, ALICE, distance_m=3_000, **_ending(NOW_MS + 2 * HOUR_MS))
    ledger = ledger_of(members.raw_entries())
    bob_lines = explain(ledger, member=BOB.public_key)
    assert [ln.credited_milli for ln in bob_lines] == [4_000, 2_000]
    second = bob_lines[1]
    assert (second.base_milli, second.pair_index, second.after_pair_milli) == (4_000, 2, 2_000)
    assert second.agreement_id is not None
    assert "pair ride 2 (1/2) = 2000 -> 2000 milli-tokens" in second.describe()
    assert len(explain(ledger, member=CAROL.public_key)) == 1
    assert len(explain(ledger)) == 3


def _ending(ended_ms: int, duration_ms: int = 15 * MINUTE_MS) -> dict[str, Any]:
    return {"started_ms": ended_ms - duration_ms, "ended_ms": ended_ms}


def _tolerant_ledger(raws: Iterable[bytes]) -> Ledger:
    """A ledger fed everything: past a fork, entries of the branch it did not chain are refused."""
    ledger = Ledger()
    for raw in raws:
        try:
            ledger.add(raw)
        except WrongPrev:
            continue
    return ledger


# -- the property every peer relies on


@FAST
@given(histories(), st.lists(st.integers(0, 2**32), min_size=2, max_size=4))
def test_balances_do_not_depend_on_arrival_order_or_on_the_peer(
    members: Members, seeds: list[int]
) -> None:
    raws = members.raw_entries()
    expected = balances(ledger_of(raws))
    lines = explain(ledger_of(raws))
    for seed in seeds:
        ledger = ledger_of(shuffled(raws, seed))
        assert balances(ledger) == expected
        assert explain(ledger) == lines


@st.composite
def forked_histories(draw: st.DrawFn) -> tuple[Members, bytes]:
    """An honest history plus one rival entry: some member signed a second entry at some seq."""
    members = draw(histories())
    author = draw(st.sampled_from([i for i in members.identities.values() if members.log(i)]))
    log = members.log(author)
    seq = draw(st.integers(1, log.head_seq))
    original = log.at(seq)
    assert original is not None
    m = original.message
    return members, entry(author, seq, m.prev, m.payload, time_ms=m.time_ms + 1)


@FAST
@given(forked_histories(), st.lists(st.integers(0, 2**32), min_size=2, max_size=4))
def test_balances_with_a_fork_do_not_depend_on_which_branch_a_peer_saw_first(
    history: tuple[Members, bytes], seeds: list[int]
) -> None:
    members, rival = history
    raws = [*members.raw_entries(), rival]
    expected = balances(_tolerant_ledger(raws))
    for seed in seeds:
        ledger = _tolerant_ledger(shuffled(raws, seed))
        assert len(ledger.forks) == 1
        assert balances(ledger) == expected
