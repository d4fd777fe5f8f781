"""Ledger sync: two peers end with the same logs and balances; broken chains stop (SPEC §10)."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.envelope import Signed
from protocol.errors import BadSignature, DecodeError, RemoteError
from protocol.fields import MessageId, PublicKey
from protocol.identity import Identity
from protocol.ledger import sync
from protocol.ledger.book import Ledger
from protocol.ledger.chain import MemberLog, open_entry
from protocol.ledger.cosign import propose_receipt
from protocol.ledger.credit import balances
from protocol.ledger.errors import Unchained
from protocol.ledger.wire import (
    MAX_BATCH,
    MAX_HEADS,
    MAX_SYNC_BYTES,
    LogEntry,
    SyncEntries,
    SyncHeads,
    SyncWant,
    Want,
)
from protocol.messages import Message
from protocol.ride.messages import Accept
from protocol.signing import seal
from tests.strategies import ALICE, BOB, NOW_MS
from tests.test_ledger_fixtures import Members, entry, histories, ledger_of, receipt

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _over_the_wire(sender: Identity, messages: list[Message]) -> list[Message]:
    """Seal and open: what the receiving side of a sync stream gets."""
    return [sync.open_sync_message(seal(sender, m).raw).message for m in messages]


def _pull(dst: Ledger, src: Ledger, limit: int) -> sync.ApplyReport:
    """One round of ``dst`` pulling from ``src``: heads, wants, entries, apply."""
    remote = sync.heads_of(
        m
        for m in _over_the_wire(ALICE, list(sync.heads_messages(sync.heads(src))))
        if isinstance(m, SyncHeads)
    )
    wanted = [
        w
        for m in _over_the_wire(BOB, list(sync.want_messages(sync.wants(sync.heads(dst), remote))))
        if isinstance(m, SyncWant)
        for w in m.wants
    ]
    raws = sync.entries_for(src, wanted, limit)
    batches = _over_the_wire(ALICE, list(sync.entry_batches(raws)))
    return sync.apply(dst, [e for b in batches if isinstance(b, SyncEntries) for e in b.entries])


def _sync(a: Ledger, b: Ledger, limit: int) -> int:
    """Pull both ways until neither side wants anything; the number of rounds it took."""
    for rounds in range(1, 200):
        for dst, src in ((a, b), (b, a)):
            report = _pull(dst, src, limit)
            assert not report.rejected
        if not sync.wants(sync.heads(a), sync.heads(b)) and not sync.wants(
            sync.heads(b), sync.heads(a)
        ):
            return rounds
    raise AssertionError("sync did not converge")


@FAST
@given(histories(), st.integers(0, 2**32), st.sampled_from([1, 5, 1000]))
def test_two_ledgers_converge_on_the_same_heads_and_balances(
    members: Members, seed: int, limit: int
) -> None:
    raws = members.raw_entries()
    rng = random.Random(seed)
    # Each peer holds a random part of everything, in a random order, gaps and all;
    # between them they hold it all.
    holders = [rng.choice(("a", "b", "ab")) for _ in raws]
    a = ledger_of(r for r, h in shuffled_pairs(raws, holders, rng) if "a" in h)
    b = ledger_of(r for r, h in shuffled_pairs(raws, holders, rng) if "b" in h)
    _sync(a, b, limit)
    full = ledger_of(raws)
    assert sync.heads(a) == sync.heads(b) == sync.heads(full)
    assert balances(a) == balances(b) == balances(full)
    assert a.pending_count == b.pending_count == 0


def shuffled_pairs(
    raws: list[bytes], holders: list[str], rng: random.Random
) -> list[tuple[bytes, str]]:
    pairs = list(zip(raws, holders, strict=True))
    rng.shuffle(pairs)
    return pairs


def test_a_broken_chain_stops_at_the_break_and_says_why() -> None:
    members = Members(ALICE, BOB)
    for _ in range(5):
        members.ride(ALICE, BOB)
    chain = list(members.log(ALICE))
    m = chain[2].message
    forged = entry(ALICE, 3, m.prev, m.payload, time_ms=m.time_ms, signer=BOB)
    raws = [chain[4].raw, forged, chain[0].raw, chain[3].raw, chain[1].raw]  # any order
    ledger = Ledger()
    report = sync.apply(ledger, raws)
    assert report.applied == tuple(chain[:2])
    assert [(r.seq, type(r.error)) for r in report.rejected] == [
        (3, BadSignature),
        (4, Unchained),
        (5, Unchained),
    ]
    assert str(report.rejected[1].error).startswith("LogEntry.seq=4: follows rejected entry 3")
    assert sync.heads(ledger) == {ALICE.public_key: (2, chain[1].message_id)}
    assert ledger.pending_count == 0


@FAST
@given(histories(), st.integers(0, 2**32))
def test_entries_given_opened_apply_exactly_as_their_bytes_do(members: Members, seed: int) -> None:
    """Gossip hands ``apply`` entries its validator opened; the outcome is the same."""
    raws = members.raw_entries()
    random.Random(seed).shuffle(raws)
    opened = [open_entry(r) for r in raws]
    mixed: list[bytes | Signed[LogEntry]] = [
        o if i % 2 else r for i, (r, o) in enumerate(zip(raws, opened, strict=True))
    ]
    ledgers = [Ledger(), Ledger(), Ledger()]
    batches: tuple[list[bytes | Signed[LogEntry]], ...] = (list(raws), list(opened), mixed)
    reports = [sync.apply(ledger, b) for ledger, b in zip(ledgers, batches, strict=True)]
    assert reports[0] == reports[1] == reports[2]
    assert len({str(sync.heads(ledger)) for ledger in ledgers}) == 1
    assert len({str(balances(ledger)) for ledger in ledgers}) == 1


def test_undecodable_bytes_are_reported_without_an_author() -> None:
    report = sync.apply(Ledger(), [b"\xc1"])
    [rejected] = report.rejected
    assert rejected.author is None
    assert isinstance(rejected.error, DecodeError)


def test_logs_at_one_seq_with_different_heads_are_fetched_and_make_a_fork_proof() -> None:
    members = Members(ALICE, BOB)
    proposal, _ = members.ride(ALICE, BOB)
    m = proposal.message
    rival = entry(ALICE, 1, m.prev, m.payload, time_ms=m.time_ms + 1)
    a, b = ledger_of([proposal.raw]), ledger_of([rival])
    wanted = sync.wants(sync.heads(a), sync.heads(b))
    assert [(w.author, w.from_seq) for w in wanted] == [(ALICE.public_key, 1)]
    report = sync.apply(a, sync.entries_for(b, wanted, 10))
    assert len(report.forks) == 1
    assert a.fork_seq(ALICE.public_key) == 1


def test_entries_for_answers_in_want_order_up_to_the_limit() -> None:
    members = Members(ALICE, BOB)
    for _ in range(3):
        members.ride(ALICE, BOB)
    ledger = ledger_of(members.raw_entries())
    bob, alice = list(members.log(BOB)), list(members.log(ALICE))
    wanted = [Want(BOB.public_key, 2), Want(ALICE.public_key, 1)]
    assert sync.entries_for(ledger, wanted, 4) == [e.raw for e in bob[1:] + alice[:2]]
    assert sync.entries_for(ledger, [Want(PublicKey(b"\x00" * 32), 1)], 4) == []


def test_a_peer_with_nothing_new_wants_nothing() -> None:
    members = Members(ALICE, BOB)
    members.ride(ALICE, BOB)
    ledger = ledger_of(members.raw_entries())
    assert sync.wants(sync.heads(ledger), sync.heads(ledger)) == []
    assert sync.wants(sync.heads(ledger), {}) == []
    assert len(sync.wants({}, sync.heads(ledger))) == 2


def test_many_heads_and_entries_are_split_into_bounded_messages() -> None:
    heads = {
        PublicKey(i.to_bytes(32, "big")): (i, MessageId(bytes(32))) for i in range(1, MAX_HEADS + 2)
    }
    messages = sync.heads_messages(heads)
    assert [len(m.heads) for m in messages] == [MAX_HEADS, 1]
    assert sync.heads_of(messages) == heads
    sent = _over_the_wire(ALICE, list(messages))
    assert sync.heads_of(m for m in sent if isinstance(m, SyncHeads)) == heads
    batches = sync.entry_batches([b"x"] * (2 * MAX_BATCH + 1))
    assert [len(b.entries) for b in batches] == [MAX_BATCH, MAX_BATCH, 1]


def test_peers_holding_different_branches_walk_back_to_the_lowest_fork() -> None:
    members = Members(ALICE, BOB)
    members.ride(ALICE, BOB)
    branch = MemberLog(ALICE.public_key)
    branch.append(_at(members.log(ALICE), 1))
    for _ in range(2):  # Alice's entries 2 and 3 on one branch...
        members.ride(ALICE, BOB)
    for i in range(3):  # ...and 2, 3, 4 on the other
        r = receipt(ALICE, BOB, ride_id=bytes([0x70 + i]) * 16)
        propose_receipt(ALICE, branch, r, NOW_MS + 1)
    a = ledger_of(e.raw for e in members.log(ALICE))
    b = ledger_of(e.raw for e in branch)
    wanted = sync.wants(sync.heads(a), sync.heads(b))
    asked = []
    for _ in range(10):
        asked.append([w.from_seq for w in wanted])
        report = sync.apply(a, sync.entries_for(b, wanted, 100))
        wanted = list(report.refetch)
        if not wanted:
            break
    assert asked == [[4], [3], [2]]
    assert a.fork_seq(ALICE.public_key) == 2
    b.add_fork(a.forks[ALICE.public_key])  # as gossiped
    assert balances(a) == balances(b)


def test_a_sync_frame_opens_only_if_bounded_signed_and_of_a_sync_kind() -> None:
    members = Members(ALICE, BOB)
    proposal, _ = members.ride(ALICE, BOB)
    heads = sync.heads_messages(sync.heads(ledger_of(members.raw_entries())))[0]
    for message in (heads, SyncWant((Want(ALICE.public_key, 1),)), SyncEntries((proposal.raw,))):
        sealed = seal(BOB, message)
        opened = sync.open_sync_message(sealed.raw)
        assert (opened.message, opened.author) == (message, BOB.public_key)
        assert opened.message_id == sealed.message_id

    def reason(raw: bytes) -> str:
        with pytest.raises(RemoteError) as caught:
            sync.open_sync_message(raw)
        return caught.value.reason

    raw = seal(BOB, heads).raw
    flipped = raw[:-1] + bytes([raw[-1] ^ 1])
    too_big = seal(BOB, SyncEntries((bytes(MAX_SYNC_BYTES // 2),) * 2)).raw
    # A log entry travels inside sync.entries, never as a frame of its own (SPEC §10.4).
    assert reason(proposal.raw) == "unknown_kind"
    assert reason(seal(BOB, Accept(bytes(16), 0)).raw) == "unknown_kind"
    assert reason(flipped) == "bad_signature"
    assert reason(raw[:-1]) == "decode"
    assert reason(too_big) == "oversized"


def _at(log: MemberLog, seq: int) -> Signed[LogEntry]:
    found = log.at(seq)
    assert found is not None
    return found
