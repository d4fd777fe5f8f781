"""Two peers, members riding and sometimes equivocating, entries arriving anyhow (SPEC §8-§10).

A Hypothesis state machine: members write rides and rate them (and now and
then a second, different entry at a ``seq`` they already used), entries
reach either peer in any order, and the peers sync with each other. Whatever
happens, after a sync both ways the two peers compute the same balances and
reputations as a peer that received every entry either of them did.
"""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from protocol.ledger import sync
from protocol.ledger.book import Ledger
from protocol.ledger.credit import balances
from protocol.ledger.errors import WrongPrev
from protocol.ledger.reputation import reputations
from protocol.ledger.wire import ReceiptHalf, Want
from tests.strategies import NOW_MS
from tests.test_ledger_fixtures import DAY_MS, MEMBERS, MINUTE_MS, Members, entry


def _add(ledger: Ledger, raw: bytes) -> None:
    """Add as any peer would; past a fork, the other branch's entries do not chain."""
    with contextlib.suppress(WrongPrev):
        ledger.add(raw)


def _pull(dst: Ledger, src: Ledger) -> None:
    """``dst`` asks ``src`` for what it lacks, looking back where their logs differ."""
    wanted: list[Want] = sync.wants(sync.heads(dst), sync.heads(src))
    for _ in range(100):
        if not wanted:
            return
        report = sync.apply(dst, sync.entries_for(src, wanted, 1_000))
        if report.refetch:
            wanted = list(report.refetch)
        elif report.applied:
            wanted = sync.wants(sync.heads(dst), sync.heads(src))
        else:
            return
    raise AssertionError("sync did not settle")


class TwoPeers(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.members = Members(*MEMBERS)
        self.written: list[bytes] = []
        self.peers = (Ledger(), Ledger())
        self.delivered: set[bytes] = set()
        self.clock_ms = NOW_MS
        self.equivocated = False

    @rule(
        pair=st.permutations(range(len(MEMBERS))),
        rider_proposes=st.booleans(),
        distance_m=st.integers(0, 60_000),
        gap_ms=st.integers(0, 2 * DAY_MS),
    )
    def ride(self, pair: list[int], rider_proposes: bool, distance_m: int, gap_ms: int) -> None:
        self.clock_ms += gap_ms
        proposal, agreement = self.members.ride(
            MEMBERS[pair[0]],
            MEMBERS[pair[1]],
            rider_proposes=rider_proposes,
            distance_m=distance_m,
            started_ms=self.clock_ms - 20 * MINUTE_MS,
            ended_ms=self.clock_ms,
        )
        self.written += [proposal.raw, agreement.raw]

    @precondition(lambda self: self.written)
    @rule(data=st.data(), stars=st.integers(1, 5))
    def rate(self, data: st.DataObject, stars: int) -> None:
        """A member rates the other party of one of its receipt halves, not rated yet."""
        unrated = [
            (m, e)
            for m in MEMBERS
            for e in self.members.log(m)
            if isinstance(e.message.payload, ReceiptHalf)
            and self.members.log(m).rating_of(e.message.seq) is None
        ]
        if unrated:
            member, half = data.draw(st.sampled_from(unrated))
            self.written.append(self.members.rate(member, half, stars).raw)

    @precondition(lambda self: self.written)
    @rule(data=st.data())
    def equivocate(self, data: st.DataObject) -> None:
        """A member signs a second, different entry at one of its ``seq``s."""
        member = data.draw(st.sampled_from([m for m in MEMBERS if self.members.log(m)]))
        log = self.members.log(member)
        original = log.at(data.draw(st.integers(1, log.head_seq)))
        assert original is not None
        m = original.message
        self.written.append(entry(member, m.seq, m.prev, m.payload, time_ms=m.time_ms + 1))
        self.equivocated = True

    @precondition(lambda self: self.written)
    @rule(data=st.data(), peer=st.sampled_from([0, 1]))
    def deliver(self, data: st.DataObject, peer: int) -> None:
        raw = data.draw(st.sampled_from(self.written))
        _add(self.peers[peer], raw)
        self.delivered.add(raw)

    @rule()
    def sync_both_ways(self) -> None:
        a, b = self.peers
        # Until nothing changes: an entry one peer held as pending may chain
        # only after the other's answer, and only then show in its heads.
        for _ in range(10):
            before = (sync.heads(a), sync.heads(b))
            _pull(a, b)
            _pull(b, a)
            if (sync.heads(a), sync.heads(b)) == before:
                break
        for dst, src in ((a, b), (b, a)):  # forks are gossiped
            for fork in list(src.forks.values()):
                dst.add_fork(fork)
        reference = Ledger()
        for raw in sorted(self.delivered):
            _add(reference, raw)
        for fork in [*a.forks.values(), *b.forks.values()]:
            reference.add_fork(fork)
        assert balances(a) == balances(b) == balances(reference)
        assert reputations(a) == reputations(b) == reputations(reference)

    @invariant()
    def honest_members_never_look_forked(self) -> None:
        if not self.equivocated:
            assert not self.peers[0].forks and not self.peers[1].forks


TwoPeers.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_two_peers_agree_on_balances_after_syncing = TwoPeers.TestCase
