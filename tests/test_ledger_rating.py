"""Ratings in member logs (SPEC §8.7) and the reputation they add up to (§8.8)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.errors import InvalidMessage
from protocol.ledger.book import AddStatus, Ledger
from protocol.ledger.chain import MemberLog, open_entry
from protocol.ledger.cosign import agreement_entry, rating_entry
from protocol.ledger.credit import balances, explain
from protocol.ledger.errors import AlreadyRated, NotAReceipt, ReceiptMismatch, WrongLink
from protocol.ledger.forks import fork_proof
from protocol.ledger.rating import RideRating
from protocol.ledger.reputation import Reputation, reputation, reputations
from tests.strategies import ALICE, BOB, NOW_MS
from tests.test_ledger_fixtures import (
    CAROL,
    MEMBERS,
    Members,
    entry,
    histories,
    ledger_of,
    receipt,
    shuffled,
)


def test_each_party_rates_the_other_and_each_sees_it_in_the_reputation() -> None:
    members = Members(ALICE, BOB)
    proposal, agreement = members.ride(ALICE, BOB)
    given_by_alice = members.rate(ALICE, proposal, 4)
    members.rate(BOB, agreement, 5)
    ledger = ledger_of(members.raw_entries())
    assert reputation(ledger, BOB.public_key) == Reputation(count=1, stars_total=4)
    assert reputation(ledger, ALICE.public_key).mean == 5.0
    assert members.log(ALICE).rating_of(proposal.message.seq) == given_by_alice
    assert list(members.log(ALICE).ratings()) == [given_by_alice]


def test_no_rating_yet_has_no_mean() -> None:
    members = Members(ALICE, BOB)
    members.ride(ALICE, BOB)
    rep = reputation(ledger_of(members.raw_entries()), BOB.public_key)
    assert (rep.count, rep.mean) == (0, None)


def test_a_rating_counts_only_once_the_receipt_is_co_signed() -> None:
    members = Members(ALICE, BOB)
    proposal = members.propose(ALICE, receipt(ALICE, BOB))
    rating = members.rate(ALICE, proposal, 2)
    ledger = ledger_of([proposal.raw, rating.raw])
    assert reputation(ledger, BOB.public_key).count == 0
    ledger.add(members.agree(BOB, proposal))
    assert reputation(ledger, BOB.public_key) == Reputation(1, 2)


def test_stars_outside_1_to_5_are_refused_before_anything_is_signed() -> None:
    members = Members(ALICE, BOB)
    proposal, _ = members.ride(ALICE, BOB)
    log = members.log(ALICE)
    for stars in (0, 6, -1):
        with pytest.raises(InvalidMessage, match=rf"^RideRating\.stars={stars}: must be 1\.\.5"):
            rating_entry(ALICE, log, proposal, stars, NOW_MS)
    assert log.head_seq == 1


def test_a_second_rating_of_one_half_is_refused_with_its_own_reason() -> None:
    members = Members(ALICE, BOB)
    proposal, _ = members.ride(ALICE, BOB)
    members.rate(ALICE, proposal, 3)
    with pytest.raises(AlreadyRated, match=r"^RideRating\.receipt_seq=1: already rated by entry 2"):
        members.rate(ALICE, proposal, 5)
    assert AlreadyRated.reason == "already_rated"


def test_a_rating_of_a_rating_is_not_a_receipt() -> None:
    members = Members(ALICE, BOB)
    proposal, _ = members.ride(ALICE, BOB)
    rating = members.rate(ALICE, proposal, 3)
    with pytest.raises(NotAReceipt, match=r"^RideRating\.receipt_seq=2: entry 2 is a receipt"):
        members.rate(ALICE, rating, 5)


def test_a_rating_of_someone_elses_half_is_refused() -> None:
    members = Members(ALICE, BOB, CAROL)
    members.ride(ALICE, CAROL)  # Alice's entry 1
    _, bobs = members.ride(ALICE, BOB)  # Bob's entry 1: not Alice's
    with pytest.raises(WrongLink, match=r"^RideRating\.receipt_hash="):
        members.rate(ALICE, bobs, 5)


def test_a_rating_must_name_an_earlier_entry_of_its_log() -> None:
    members = Members(ALICE, BOB)
    proposal, _ = members.ride(ALICE, BOB)
    ahead = entry(ALICE, 2, proposal.message_id, RideRating(2, proposal.message_id, 3))
    with pytest.raises(InvalidMessage, match=r"^RideRating\.receipt_seq=2: must name an earlier"):
        ledger_of([proposal.raw]).add(ahead)


def test_a_held_rating_that_breaks_a_chain_rule_is_dropped_when_its_gap_fills() -> None:
    members = Members(ALICE, BOB)
    proposal, _ = members.ride(ALICE, BOB)
    bad = entry(ALICE, 2, proposal.message_id, RideRating(1, b"\x07" * 32, 3))
    ledger = Ledger()
    assert ledger.add(bad).status is AddStatus.PENDING
    result = ledger.add(proposal.raw)
    assert [r.error.reason for r in result.dropped] == ["wrong_link"]
    assert len(ledger) == 1


def test_ratings_change_no_balance() -> None:
    members = Members(ALICE, BOB)
    proposal, agreement = members.ride(ALICE, BOB)
    before = ledger_of(members.raw_entries())
    members.rate(ALICE, proposal, 1)
    members.rate(BOB, agreement, 1)
    after = ledger_of(members.raw_entries())
    assert balances(after) == balances(before)
    assert explain(after) == explain(before)


def test_a_rating_at_or_after_its_authors_fork_is_void() -> None:
    members = Members(ALICE, BOB)
    proposal, agreement = members.ride(ALICE, BOB)
    members.rate(ALICE, proposal, 2)
    bobs = members.rate(BOB, agreement, 5)
    ledger = ledger_of(members.raw_entries())
    rival = entry(BOB, 2, bobs.message.prev, bobs.message.payload, time_ms=NOW_MS + 1)
    ledger.add_fork(fork_proof(bobs, open_entry(rival)))
    assert reputation(ledger, ALICE.public_key).count == 0  # Bob's rating is void
    assert reputation(ledger, BOB.public_key) == Reputation(1, 2)  # his half is below the fork


def test_no_rating_counts_for_a_receipt_voided_by_a_fork() -> None:
    members = Members(ALICE, BOB)
    proposal, agreement = members.ride(ALICE, BOB)
    members.rate(ALICE, proposal, 2)
    ledger = ledger_of(members.raw_entries())
    rival = entry(BOB, 1, agreement.message.prev, agreement.message.payload, time_ms=NOW_MS + 1)
    ledger.add_fork(fork_proof(agreement, open_entry(rival)))
    assert reputation(ledger, BOB.public_key).count == 0


def test_only_receipt_halves_travel_on_a_ride_stream() -> None:
    """A rating is not a receipt half: countersigning one is refused, not crashed on."""
    members = Members(ALICE, BOB)
    proposal, _ = members.ride(ALICE, BOB)
    rating = members.rate(ALICE, proposal, 4)
    r = receipt(ALICE, BOB)
    with pytest.raises(ReceiptMismatch, match=r"^LogEntry\.payload_kind='receipt\.rating'"):
        agreement_entry(BOB, MemberLog(BOB.public_key), rating, NOW_MS, expected=r)


# -- properties


@st.composite
def rated_histories(draw: st.DrawFn) -> Members:
    """Honest histories where some parties rate some of their rides."""
    members: Members = draw(histories(max_rides=8))
    for owner in MEMBERS:
        log = members.log(owner)
        halves = [e for e in log if not isinstance(e.message.payload, RideRating)]
        for half in halves:
            if draw(st.booleans()):
                members.rate(owner, half, draw(st.integers(1, 5)))
    return members


@given(rated_histories(), st.integers(0, 2**32))
@settings(max_examples=40, deadline=None)
def test_reputations_do_not_depend_on_arrival_order(members: Members, seed: int) -> None:
    raws = members.raw_entries()
    assert reputations(ledger_of(shuffled(raws, seed))) == reputations(ledger_of(raws))


@given(rated_histories())
@settings(max_examples=40, deadline=None)
def test_every_rating_of_a_co_signed_ride_counts_once_for_the_other_party(
    members: Members,
) -> None:
    ledger = ledger_of(members.raw_entries())
    expected: dict[bytes, list[int]] = {}
    for owner in MEMBERS:
        for e in members.log(owner).ratings():
            rating = e.message.payload
            assert isinstance(rating, RideRating)
            half = members.log(owner).at(rating.receipt_seq)
            assert half is not None and not isinstance(half.message.payload, RideRating)
            r = half.message.payload.receipt
            other = r.rider if owner.public_key == r.driver else r.driver
            expected.setdefault(other, []).append(rating.stars)
    got = reputations(ledger)
    assert {k: (v.count, v.stars_total) for k, v in got.items()} == {
        k: (len(v), sum(v)) for k, v in expected.items()
    }
