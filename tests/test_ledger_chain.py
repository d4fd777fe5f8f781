"""Member logs and the ledger: what chains, what is held, what is refused (SPEC §8)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from protocol import codec
from protocol.envelope import Signed
from protocol.errors import (
    BadSignature,
    DecodeError,
    InvalidMessage,
    Oversized,
    RemoteError,
    Stale,
    UnknownKind,
    UnknownVersion,
)
from protocol.fields import CostShare, H3Cell
from protocol.ledger import wire
from protocol.ledger.book import AddStatus, Ledger
from protocol.ledger.chain import MemberLog, open_entry
from protocol.ledger.cosign import (
    agreement_entry,
    countersign,
    proposal_entry,
    propose_receipt,
    receipt_half,
)
from protocol.ledger.errors import (
    Gap,
    NotAParty,
    NotOwnLog,
    ReceiptMismatch,
    TimeReversal,
    UnknownPayload,
    WrongAuthor,
    WrongPrev,
)
from protocol.ledger.receipt import Receipt
from protocol.ledger.wire import ZERO_HASH, LogEntry, ReceiptHalf
from protocol.signing import seal
from tests.strategies import ALICE, BOB, NOW_MS, envelope, envelope_of, offer
from tests.test_ledger_fixtures import CAROL, Members, entry, receipt


def _two_rides() -> Members:
    members = Members(ALICE, BOB)
    members.ride(ALICE, BOB)
    members.ride(ALICE, BOB)
    return members


def _proposal(r: Receipt) -> ReceiptHalf:
    return ReceiptHalf(receipt=r, link_seq=0, link_hash=ZERO_HASH)


def _entry_fields(seq: int, prev: bytes, half: ReceiptHalf) -> list[object]:
    value = codec.unpack(
        codec.encode_body(LogEntry(seq=seq, prev=prev, time_ms=NOW_MS, payload=half)), "LogEntry"
    )
    assert type(value) is tuple
    return list(value)


# Each corruption of Alice's next entry (seq 3 after two good ones): raw bytes
# and the error they must be refused with. Built lazily: they need the chain.
Corruption = Callable[[MemberLog], bytes]

GOOD_HALF = _proposal(receipt(ALICE, BOB, ride_id=b"\x09" * 16))

CORRUPTIONS: dict[str, tuple[Corruption, type[RemoteError]]] = {
    "bad_signature": (
        lambda log: entry(ALICE, 3, log.head_id, GOOD_HALF, signer=BOB),
        BadSignature,
    ),
    "wrong_prev": (lambda log: entry(ALICE, 3, b"\x07" * 32, GOOD_HALF), WrongPrev),
    "prev_of_an_older_entry": (
        lambda log: entry(ALICE, 3, _at(log, 1).message_id, GOOD_HALF),
        WrongPrev,
    ),
    "zero_prev_after_seq_1": (lambda log: entry(ALICE, 3, ZERO_HASH, GOOD_HALF), InvalidMessage),
    "time_goes_back": (
        lambda log: entry(ALICE, 3, log.head_id, GOOD_HALF, time_ms=log.head_time_ms - 1),
        TimeReversal,
    ),
    "not_a_party": (
        lambda log: entry(ALICE, 3, log.head_id, _proposal(receipt(BOB, CAROL))),
        NotAParty,
    ),
    "driver_is_rider": (
        lambda log: entry(ALICE, 3, log.head_id, _proposal(receipt(ALICE, ALICE))),
        InvalidMessage,
    ),
    "link_hash_without_link_seq": (
        lambda log: entry(
            ALICE, 3, log.head_id, dataclasses.replace(GOOD_HALF, link_hash=b"\x01" * 32)
        ),
        InvalidMessage,
    ),
    "no_seats": (
        lambda log: entry(ALICE, 3, log.head_id, _proposal(receipt(ALICE, BOB, seats=0))),
        InvalidMessage,
    ),
    "negative_distance": (
        lambda log: entry(ALICE, 3, log.head_id, _proposal(receipt(ALICE, BOB, distance_m=-1))),
        InvalidMessage,
    ),
    "not_a_cell": (
        lambda log: entry(
            ALICE, 3, log.head_id, _proposal(receipt(ALICE, BOB, pickup_cell=H3Cell(12345)))
        ),
        InvalidMessage,
    ),
    "lowercase_currency": (
        lambda log: entry(
            ALICE,
            3,
            log.head_id,
            _proposal(receipt(ALICE, BOB, cost=CostShare("ils", 500, 80))),
        ),
        InvalidMessage,
    ),
    "unknown_payload_kind": (
        lambda log: envelope(
            ALICE,
            LogEntry.KIND,
            codec.pack([*_entry_fields(3, log.head_id, GOOD_HALF)[:3], "receipt.whole", [1, 2, 3]]),
        ),
        UnknownPayload,
    ),
    "payload_of_wrong_shape": (
        lambda log: envelope(
            ALICE,
            LogEntry.KIND,
            codec.pack([*_entry_fields(3, log.head_id, GOOD_HALF)[:4], [1, 2]]),
        ),
        InvalidMessage,
    ),
    "truncated": (lambda log: entry(ALICE, 3, log.head_id, GOOD_HALF)[:-1], DecodeError),
    "oversized": (
        lambda log: envelope(ALICE, LogEntry.KIND, b"\x00" * wire.MAX_ENTRY_BYTES),
        Oversized,
    ),
    "not_a_log_entry": (lambda log: envelope_of(ALICE, offer()), UnknownKind),
    "version_2": (
        lambda log: _version(2, entry(ALICE, 3, log.head_id, GOOD_HALF)),
        UnknownVersion,
    ),
}


def _at(log: MemberLog, seq: int) -> Signed[LogEntry]:
    found = log.at(seq)
    assert found is not None
    return found


def _version(version: int, raw: bytes) -> bytes:
    return codec.encode_envelope(dataclasses.replace(codec.decode_envelope(raw), version=version))


# -- good chains


def test_a_good_chain_is_accepted_by_the_log_and_the_ledger() -> None:
    members = _two_rides()
    log = MemberLog(ALICE.public_key)
    ledger = Ledger()
    for e in members.log(ALICE):
        assert log.append(e.raw) == e
        assert ledger.add(e.raw).status is AddStatus.ADDED
    assert log.head_seq == 2
    assert log.head_id == members.log(ALICE).head_id
    assert ledger.log(ALICE.public_key) is not None
    assert len(ledger) == 2


def test_the_first_entry_of_a_log_links_to_zero() -> None:
    members = _two_rides()
    first = _at(members.log(ALICE), 1)
    assert first.message.prev == ZERO_HASH
    assert _at(members.log(ALICE), 2).message.prev == first.message_id


# -- every corruption is refused with its own error, and nothing is stored


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_a_corrupt_entry_is_refused_by_the_ledger_and_nothing_is_stored(name: str) -> None:
    make, error = CORRUPTIONS[name]
    members = _two_rides()
    ledger = Ledger()
    for e in members.log(ALICE):
        ledger.add(e.raw)
    raw = make(members.log(ALICE))
    with pytest.raises(error) as caught:
        ledger.add(raw)
    assert type(caught.value) is error or error is InvalidMessage
    log = ledger.log(ALICE.public_key)
    assert log is not None
    assert (log.head_seq, log.head_id) == (2, members.log(ALICE).head_id)
    assert len(ledger) == 2
    assert ledger.pending_count == 0
    assert not ledger.forks


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_a_corrupt_entry_is_refused_by_a_member_log(name: str) -> None:
    make, error = CORRUPTIONS[name]
    members = _two_rides()
    log = MemberLog(ALICE.public_key)
    for e in members.log(ALICE):
        log.append(e)
    with pytest.raises(error):
        log.append(make(members.log(ALICE)))
    assert log.head_seq == 2


def test_a_log_refuses_an_entry_past_its_next_seq() -> None:
    members = _two_rides()
    log = MemberLog(ALICE.public_key)
    with pytest.raises(Gap):
        log.append(_at(members.log(ALICE), 2))
    assert log.head_seq == 0


def test_a_log_refuses_an_entry_it_already_has() -> None:
    members = _two_rides()
    log = MemberLog(ALICE.public_key)
    log.append(_at(members.log(ALICE), 1))
    with pytest.raises(Stale):
        log.append(_at(members.log(ALICE), 1))


def test_a_log_refuses_another_members_entry() -> None:
    members = _two_rides()
    with pytest.raises(WrongAuthor):
        MemberLog(ALICE.public_key).append(_at(members.log(BOB), 1))


def test_a_first_entry_must_link_to_zero() -> None:
    raw = entry(ALICE, 1, b"\x05" * 32, GOOD_HALF)
    with pytest.raises(InvalidMessage, match=r"^LogEntry\.prev="):
        Ledger().add(raw)


def test_seq_0_is_refused() -> None:
    with pytest.raises(InvalidMessage, match=r"^LogEntry\.seq="):
        Ledger().add(entry(ALICE, 0, ZERO_HASH, GOOD_HALF))


# -- arrival order


def test_entries_arriving_backwards_are_held_and_chained_when_the_gap_fills() -> None:
    members = Members(ALICE, BOB)
    for _ in range(5):
        members.ride(ALICE, BOB)
    chain = list(members.log(ALICE))
    ledger = Ledger()
    for e in reversed(chain[1:]):
        assert ledger.add(e.raw).status is AddStatus.PENDING
    assert ledger.pending_count == 4
    assert len(ledger) == 0
    result = ledger.add(chain[0].raw)
    assert result.status is AddStatus.ADDED
    assert result.applied == tuple(chain)
    assert ledger.pending_count == 0
    assert len(ledger) == 5


def test_the_pending_set_is_bounded_per_author_and_in_total() -> None:
    members = Members(ALICE, BOB)
    for _ in range(4):
        members.ride(ALICE, BOB)
    alice = list(members.log(ALICE))
    bob = list(members.log(BOB))
    ledger = Ledger(max_pending=3, max_pending_per_author=2)
    for e in alice[2:]:
        assert ledger.add(e.raw).status is AddStatus.PENDING
    with pytest.raises(Gap):
        ledger.add(alice[1].raw)  # a third one of Alice's
    assert ledger.add(bob[3].raw).status is AddStatus.PENDING
    with pytest.raises(Gap):
        ledger.add(bob[2].raw)  # a fourth one in all
    assert ledger.pending_count == 3
    assert len(ledger) == 0


def test_a_held_entry_that_does_not_chain_is_dropped_and_reported() -> None:
    members = _two_rides()
    first, second = members.log(ALICE)
    stray = entry(ALICE, 3, b"\x07" * 32, GOOD_HALF)
    ledger = Ledger()
    ledger.add(first.raw)
    assert ledger.add(stray).status is AddStatus.PENDING
    result = ledger.add(second.raw)
    assert result.applied == (second,)
    [dropped] = result.dropped
    assert (dropped.seq, type(dropped.error)) == (3, WrongPrev)
    assert ledger.pending_count == 0


def test_an_entry_already_held_is_a_duplicate() -> None:
    members = _two_rides()
    first, second = members.log(ALICE)
    ledger = Ledger()
    ledger.add(second.raw)
    assert ledger.add(second.raw).status is AddStatus.DUPLICATE
    ledger.add(first.raw)
    assert ledger.add(first.raw).status is AddStatus.DUPLICATE
    assert ledger.add(second).status is AddStatus.DUPLICATE
    assert len(ledger) == 2


# -- writing the two halves


def test_countersign_refuses_a_receipt_other_than_expected_and_writes_nothing() -> None:
    members = Members(ALICE, BOB)
    r = receipt(ALICE, BOB)
    proposal = members.propose(ALICE, r)
    bob = members.log(BOB)
    with pytest.raises(ReceiptMismatch, match=r"^Receipt\.distance_m=5000"):
        countersign(BOB, bob, proposal, NOW_MS, expected=dataclasses.replace(r, distance_m=4_000))
    assert bob.head_seq == 0


def test_countersign_refuses_an_agreement_in_place_of_a_proposal() -> None:
    members = Members(ALICE, BOB)
    _, agreement = members.ride(ALICE, BOB)
    r = receipt_half(agreement).receipt
    with pytest.raises(ReceiptMismatch, match=r"^ReceiptHalf\.link_seq="):
        countersign(ALICE, members.log(ALICE), agreement, NOW_MS, expected=r)


def test_only_the_other_party_can_countersign() -> None:
    members = Members(ALICE, BOB, CAROL)
    r = receipt(ALICE, BOB)
    proposal = members.propose(ALICE, r)
    with pytest.raises(ReceiptMismatch, match=r"^Envelope\.author="):
        countersign(CAROL, members.log(CAROL), proposal, NOW_MS, expected=r)
    with pytest.raises(ReceiptMismatch, match=r"^Envelope\.author="):
        countersign(ALICE, MemberLog(ALICE.public_key), proposal, NOW_MS, expected=r)


def test_countersign_verifies_a_raw_proposal() -> None:
    members = Members(ALICE, BOB)
    r = receipt(ALICE, BOB)
    forged = entry(ALICE, 1, ZERO_HASH, _proposal(r), signer=CAROL)
    with pytest.raises(BadSignature):
        countersign(BOB, members.log(BOB), forged, NOW_MS, expected=r)
    agreement = countersign(
        BOB, members.log(BOB), members.propose(ALICE, r).raw, NOW_MS, expected=r
    )
    assert receipt_half(agreement).link_seq == 1


def test_a_member_writes_only_its_own_log() -> None:
    with pytest.raises(NotOwnLog):
        propose_receipt(ALICE, MemberLog(BOB.public_key), receipt(ALICE, BOB), NOW_MS)


def test_a_member_cannot_propose_a_ride_it_was_not_in() -> None:
    log = MemberLog(CAROL.public_key)
    with pytest.raises(NotAParty):
        propose_receipt(CAROL, log, receipt(ALICE, BOB), NOW_MS)
    assert log.head_seq == 0


def test_an_entry_written_after_the_clock_went_back_keeps_the_previous_time() -> None:
    log = MemberLog(ALICE.public_key)
    propose_receipt(ALICE, log, receipt(ALICE, BOB, ride_id=b"\x01" * 16), NOW_MS)
    later = propose_receipt(ALICE, log, receipt(ALICE, BOB), NOW_MS - 5_000)
    assert later.message.time_ms == NOW_MS


def test_helpers_write_entries_any_peer_accepts() -> None:
    members = Members(ALICE, BOB)
    proposal, agreement = members.ride(ALICE, BOB, rider_proposes=True)
    assert proposal.author == BOB.public_key
    assert open_entry(agreement.raw) == agreement
    sealed = seal(ALICE, agreement.message)
    assert sealed == agreement


def test_an_entry_signed_for_later_is_appended_only_when_asked() -> None:
    log = MemberLog(ALICE.public_key)
    later = proposal_entry(ALICE, log, receipt(ALICE, BOB), NOW_MS)
    assert log.head_seq == 0
    assert log.append(later) == later
    bob = MemberLog(BOB.public_key)
    agreement = agreement_entry(BOB, bob, later, NOW_MS, expected=receipt(ALICE, BOB))
    assert bob.head_seq == 0
    assert receipt_half(agreement).link_hash == later.message_id
