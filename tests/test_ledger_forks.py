"""Fork proofs: every equivocation is caught and provable, nothing else is (SPEC §9)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from protocol import codec
from protocol.envelope import Signed
from protocol.errors import BadSignature, DecodeError, InvalidMessage, RemoteError
from protocol.identity import Identity
from protocol.ledger.book import AddStatus, Ledger
from protocol.ledger.chain import open_entry
from protocol.ledger.errors import NotAFork, WrongAuthor
from protocol.ledger.forks import fork_proof, verify_fork
from protocol.ledger.wire import ZERO_HASH, ForkProof, LogEntry, ReceiptHalf
from protocol.signing import seal
from tests.strategies import ALICE, BOB, NOW_MS
from tests.test_ledger_fixtures import (
    CAROL,
    MEMBERS,
    Members,
    entry,
    histories,
    receipt,
    shuffled,
)

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def entries_of(draw: st.DrawFn, author: Identity, seq: int) -> Signed[LogEntry]:
    """Any valid entry ``author`` could sign at ``seq``."""
    other = draw(st.sampled_from([m for m in MEMBERS if m is not author]))
    driver, rider = (author, other) if draw(st.booleans()) else (other, author)
    r = receipt(
        driver,
        rider,
        ride_id=draw(st.binary(min_size=16, max_size=16)),
        distance_m=draw(st.integers(0, 1_000_000)),
        seats=draw(st.integers(1, 8)),
        ended_ms=draw(st.integers(0, 2**44)),
    )
    linked = draw(st.booleans())
    half = ReceiptHalf(
        receipt=r,
        link_seq=draw(st.integers(1, 2**63 - 1)) if linked else 0,
        link_hash=draw(st.binary(min_size=32, max_size=32).filter(any)) if linked else ZERO_HASH,
    )
    prev = ZERO_HASH if seq == 1 else draw(st.binary(min_size=32, max_size=32).filter(any))
    message = LogEntry(seq=seq, prev=prev, time_ms=draw(st.integers(0, 2**44)), payload=half)
    return seal(author, message)


@st.composite
def conflicting(draw: st.DrawFn) -> tuple[Signed[LogEntry], Signed[LogEntry]]:
    author = draw(st.sampled_from(MEMBERS))
    seq = draw(st.integers(1, 4))
    a = draw(entries_of(author, seq))
    b = draw(entries_of(author, seq))
    assume(a.message_id != b.message_id)
    return a, b


@FAST
@given(conflicting())
def test_any_two_entries_of_one_author_at_one_seq_make_a_proof_that_verifies(
    pair: tuple[Signed[LogEntry], Signed[LogEntry]],
) -> None:
    a, b = pair
    proof = fork_proof(a, b)
    assert proof == fork_proof(b, a)
    fork = verify_fork(proof)
    assert (fork.author, fork.seq) == (a.author, a.message.seq)
    # It survives the wire, sealed by whoever found it.
    env = codec.decode_envelope(seal(CAROL, proof).raw)
    assert codec.decode_body(env.kind, env.body) == proof


@FAST
@given(conflicting(), st.booleans())
def test_a_ledger_finds_every_fork_held_or_chained(
    pair: tuple[Signed[LogEntry], Signed[LogEntry]], swap: bool
) -> None:
    a, b = reversed(pair) if swap else pair
    ledger = Ledger()
    # At seq 1 the first entry chains; later ones wait in the pending set.
    assert ledger.add(a.raw).status in (AddStatus.ADDED, AddStatus.PENDING)
    result = ledger.add(b.raw)
    assert result.status is AddStatus.FORK
    assert result.fork == fork_proof(a, b)
    assert ledger.fork_seq(a.author) == a.message.seq
    assert verify_fork(ledger.forks[a.author].proof).seq == a.message.seq


@FAST
@given(histories(), st.integers(0, 2**32))
def test_honest_logs_never_yield_a_fork_in_any_arrival_order(members: Members, seed: int) -> None:
    raws = shuffled(members.raw_entries(), seed)
    ledger = Ledger()
    for raw in raws + raws[: len(raws) // 2]:  # some arrive twice
        assert ledger.add(raw).status is not AddStatus.FORK
    assert not ledger.forks
    assert ledger.pending_count == 0
    assert len(ledger) == len(raws)


def test_a_fork_against_a_chained_entry_leaves_the_chain_as_it_was() -> None:
    members = Members(ALICE, BOB)
    members.ride(ALICE, BOB)
    members.ride(ALICE, BOB)
    first, second = members.log(ALICE)
    other = entry(ALICE, 2, first.message_id, second.message.payload, time_ms=NOW_MS + 1)
    ledger = Ledger()
    ledger.add(first.raw)
    ledger.add(second.raw)
    result = ledger.add(other)
    assert result.status is AddStatus.FORK
    assert result.applied == ()
    log = ledger.log(ALICE.public_key)
    assert log is not None and log.at(2) == second


def test_the_lowest_fork_of_an_author_is_kept() -> None:
    members = Members(ALICE, BOB)
    for _ in range(3):
        members.ride(ALICE, BOB)
    chain = list(members.log(ALICE))
    fork_at = {
        seq: entry(
            ALICE, seq, chain[seq - 1].message.prev, chain[seq - 1].message.payload, time_ms=1
        )
        for seq in (1, 3)
    }
    ledger = Ledger()
    for e in chain:
        ledger.add(e.raw)
    ledger.add(fork_at[3])
    assert ledger.fork_seq(ALICE.public_key) == 3
    ledger.add(fork_at[1])
    assert ledger.fork_seq(ALICE.public_key) == 1
    ledger.add_fork(fork_proof(chain[2], open_entry(fork_at[3])))
    assert ledger.fork_seq(ALICE.public_key) == 1


def test_a_gossiped_proof_freezes_its_author() -> None:
    members = Members(ALICE, BOB)
    a, _ = members.ride(ALICE, BOB)
    b = open_entry(entry(ALICE, 1, ZERO_HASH, a.message.payload, time_ms=7))
    ledger = Ledger()
    fork = ledger.add_fork(fork_proof(a, b))
    assert (fork.author, fork.seq) == (ALICE.public_key, 1)
    assert ledger.fork_seq(ALICE.public_key) == 1


# -- forged proofs


def _pair() -> tuple[Signed[LogEntry], Signed[LogEntry]]:
    members = Members(ALICE, BOB)
    a, _ = members.ride(ALICE, BOB)
    b = open_entry(entry(ALICE, 1, ZERO_HASH, a.message.payload, time_ms=7))
    return a, b


def _bob_at_1() -> Signed[LogEntry]:
    members = Members(ALICE, BOB)
    _, agreement = members.ride(ALICE, BOB)
    return agreement


def _swapped() -> ForkProof:
    proof = fork_proof(*_pair())
    return ForkProof(first=proof.second, second=proof.first)


def _badly_signed(second: bool) -> ForkProof:
    a, b = _pair()
    m = b.message
    forged = entry(ALICE, 1, m.prev, m.payload, time_ms=m.time_ms + 1, signer=BOB)
    pair = sorted((a.raw, forged), key=lambda raw: codec.decode_envelope(raw).message_id)
    if second != (pair[1] == forged):
        pair.reverse()
    return ForkProof(first=pair[0], second=pair[1])


FORGED: dict[str, tuple[Callable[[], ForkProof], type[RemoteError]]] = {
    "different_authors": (lambda: fork_proof(_pair()[0], _bob_at_1()), WrongAuthor),
    "one_entry_twice": (lambda: ForkProof(_pair()[0].raw, _pair()[0].raw), NotAFork),
    "different_seqs": (lambda: fork_proof(*_two_seqs()), NotAFork),
    "bad_signature_in_second": (lambda: _badly_signed(second=True), BadSignature),
    "bad_signature_in_first": (lambda: _badly_signed(second=False), BadSignature),
    "ids_in_the_wrong_order": (_swapped, InvalidMessage),
    "not_an_entry": (lambda: ForkProof(b"\x93\x01\x02\x03", _pair()[0].raw), DecodeError),
}


def _two_seqs() -> list[Signed[LogEntry]]:
    members = Members(ALICE, BOB)
    members.ride(ALICE, BOB)
    members.ride(ALICE, BOB)
    return list(members.log(ALICE))


@pytest.mark.parametrize("name", sorted(FORGED))
def test_a_forged_proof_is_refused_and_freezes_nobody(name: str) -> None:
    make, error = FORGED[name]
    proof = make()
    with pytest.raises(error):
        verify_fork(proof)
    ledger = Ledger()
    with pytest.raises(error):
        ledger.add_fork(proof)
    assert not ledger.forks
