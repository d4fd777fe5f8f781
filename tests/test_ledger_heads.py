"""A ledger's heads and version, kept as entries chain, against a from-scratch rebuild.

``Ledger.heads`` is updated by each ``MemberLog.link`` instead of being
rebuilt for every heads message, and ``Ledger.version`` tells a Peer when its
balances may have moved. A Hypothesis state machine writes, delivers (in any
order, one by one or as sync batches), equivocates and gossips fork proofs;
after every step the kept heads must equal a walk over every log, and a
ledger whose version did not move must have the same balances.
"""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from protocol.errors import RemoteError
from protocol.fields import MessageId, PublicKey
from protocol.ledger import sync
from protocol.ledger.book import Ledger
from protocol.ledger.credit import balances
from tests.strategies import ALICE, BOB
from tests.test_ledger_fixtures import DAY_MS, MEMBERS, MINUTE_MS, Members, entry, receipt


def _rebuilt(ledger: Ledger) -> dict[PublicKey, tuple[int, MessageId]]:
    """The heads as a walk over every log finds them (what ``sync.heads`` used to do)."""
    return {log.owner: (log.head_seq, log.head_id) for log in ledger if log.head_seq}


class KeptHeads(RuleBasedStateMachine):
    """One ledger, ALICE's: she writes her own log in it; the others' entries arrive."""

    def __init__(self) -> None:
        super().__init__()
        self.ledger = Ledger(max_pending=64, max_pending_per_author=8)
        self.other = Ledger()  # a second peer, whose fork proofs are gossiped to the first
        self.members = Members(*MEMBERS)
        # ALICE writes straight into the ledger's own log, as a Peer does (rides.py).
        self.members.logs[ALICE.public_key] = self.ledger.own_log(ALICE.public_key)
        self.written: list[bytes] = []
        self.clock_ms = receipt(ALICE, BOB).ended_ms
        self.seen = (self.ledger.version, balances(self.ledger))

    @rule(
        pair=st.permutations(range(len(MEMBERS))),
        rider_proposes=st.booleans(),
        gap_ms=st.integers(0, 2 * DAY_MS),
    )
    def ride(self, pair: list[int], rider_proposes: bool, gap_ms: int) -> None:
        self.clock_ms += gap_ms
        proposal, agreement = self.members.ride(
            MEMBERS[pair[0]],
            MEMBERS[pair[1]],
            rider_proposes=rider_proposes,
            started_ms=self.clock_ms - 20 * MINUTE_MS,
            ended_ms=self.clock_ms,
        )
        self.written += [proposal.raw, agreement.raw]

    @precondition(lambda self: any(self.members.log(m).head_seq for m in MEMBERS[1:]))
    @rule(data=st.data())
    def equivocate(self, data: st.DataObject) -> None:
        """Someone other than ALICE signs a second, different entry at one of its ``seq``s."""
        member = data.draw(st.sampled_from([m for m in MEMBERS[1:] if self.members.log(m)]))
        log = self.members.log(member)
        original = log.at(data.draw(st.integers(1, log.head_seq)))
        assert original is not None
        m = original.message
        self.written.append(entry(member, m.seq, m.prev, m.payload, time_ms=m.time_ms + 1))

    @precondition(lambda self: self.written)
    @rule(data=st.data())
    def deliver_one(self, data: st.DataObject) -> None:
        raw = data.draw(st.sampled_from(self.written))
        for ledger in (self.ledger, self.other):
            with contextlib.suppress(RemoteError):
                ledger.add(raw)

    @precondition(lambda self: self.written)
    @rule(data=st.data())
    def deliver_batch(self, data: st.DataObject) -> None:
        raws = data.draw(st.lists(st.sampled_from(self.written), max_size=8))
        sync.apply(self.ledger, raws)

    @rule()
    def gossip_forks(self) -> None:
        for fork in list(self.other.forks.values()):
            self.ledger.add_fork(fork)

    @invariant()
    def kept_heads_equal_a_rebuild(self) -> None:
        rebuilt = _rebuilt(self.ledger)
        assert dict(self.ledger.heads) == rebuilt
        assert dict(self.other.heads) == _rebuilt(self.other)
        snapshot = sync.heads(self.ledger)
        assert snapshot == rebuilt
        assert list(snapshot) == sorted(rebuilt)  # authors ascending, as before

    @invariant()
    def balances_move_only_with_the_version(self) -> None:
        version, before = self.seen
        now = balances(self.ledger)
        assert self.ledger.version >= version
        if self.ledger.version == version:
            assert now == before
        self.seen = (self.ledger.version, now)


KeptHeads.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_kept_heads_equal_a_rebuild_after_any_operations = KeptHeads.TestCase


def test_an_empty_own_log_has_no_head_but_moves_the_version() -> None:
    """An empty log is not gossiped as a head, yet its owner appears (at 0) in balances."""
    ledger = Ledger()
    before = ledger.version
    log = ledger.own_log(ALICE.public_key)
    assert ledger.heads == {}
    assert ledger.version > before
    assert balances(ledger) == {ALICE.public_key: 0}
    assert ledger.own_log(ALICE.public_key) is log


def test_a_view_taken_before_an_append_shows_the_new_head() -> None:
    """``Ledger.heads`` is live; ``sync.heads`` is the snapshot to keep."""
    members = Members(ALICE, BOB)
    ledger = Ledger()
    members.logs[ALICE.public_key] = ledger.own_log(ALICE.public_key)
    live, snapshot = ledger.heads, sync.heads(ledger)
    proposal, _ = members.ride(ALICE, BOB)
    assert live == {ALICE.public_key: (1, proposal.message_id)}
    assert snapshot == {}


def test_a_fork_moves_the_version_but_not_the_heads() -> None:
    members = Members(ALICE, BOB)
    proposal, agreement = members.ride(ALICE, BOB)
    ledger = Ledger()
    for raw in (proposal.raw, agreement.raw):
        ledger.add(raw)
    heads, version = dict(ledger.heads), ledger.version
    m = agreement.message
    twin = entry(BOB, m.seq, m.prev, m.payload, time_ms=m.time_ms + 1)
    ledger.add(twin)
    assert ledger.forks and ledger.version > version
    assert dict(ledger.heads) == heads
