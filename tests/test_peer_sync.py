"""The Peer driving ledger sync: long logs in rounds, forged entries counted, forks found."""

from __future__ import annotations

import random

from protocol.identity import Identity
from protocol.ledger.chain import MemberLog
from protocol.ledger.cosign import propose_receipt
from protocol.ledger.wire import ForkProof, SyncEntries
from protocol.peer.actions import Action, Notify, Persist, Publish, Send
from protocol.peer.core import LEDGER_TOPIC
from protocol.peer.gossip import Rejected
from protocol.peer.notices import ForkFound
from protocol.peer.params import PeerParams
from protocol.peer.peer import Peer
from protocol.signing import seal
from tests.strategies import ALICE, BOB, NOW_MS
from tests.test_ledger_fixtures import CAROL, DAVE, Members, receipt
from tests.test_peer_net import TEL_AVIV, Net

RELAY = Identity.from_seed(bytes([70]) * 32)


def history(rides: int) -> Members:
    members = Members(ALICE, BOB, CAROL, DAVE)
    for i in range(rides):
        driver, rider = [(ALICE, BOB), (CAROL, DAVE), (BOB, CAROL)][i % 3]
        members.ride(driver, rider, ended_ms=NOW_MS + i * 60_000)
    return members


def fed(peer: Peer, raws: list[bytes]) -> list[Action]:
    frame = seal(RELAY, SyncEntries(tuple(raws))).raw
    return peer.stream_received(RELAY.public_key, "sync", frame, NOW_MS)


def test_a_long_history_reaches_a_newcomer_in_rounds_and_balances_agree() -> None:
    net = Net()
    small = PeerParams(max_sync_entries=10)
    old = net.add("old", 1, small)
    raws = history(40).raw_entries()
    for i in range(0, len(raws), 16):
        net.run("old", fed(old.peer, raws[i : i + 16]))
    assert len(old.peer.ledger) == 80
    new = net.add("new", 2, small)
    # The newcomer hears old's heads on gossip and pulls 10 entries per want.
    net.run_for(20 * 60_000)
    assert len(new.peer.ledger) == 80
    assert new.peer.balances() == old.peer.balances()
    assert sum(1 for kind, _ in new.store if kind == "entry") == 80
    assert new.peer.rejected() == {}
    asks = [a for _, who, a in net.trace if who == "new" and isinstance(a, Send)]
    assert len(asks) >= 8  # 80 entries, 10 per answer


def test_forged_entries_in_a_batch_are_counted_and_not_applied() -> None:
    peer = Peer(Identity.from_seed(bytes([9]) * 32), TEL_AVIV, random.Random(9))
    peer.start(NOW_MS)
    proposal, agreement = Members(ALICE, BOB).ride(ALICE, BOB)
    forged = agreement.raw[:-1] + bytes([agreement.raw[-1] ^ 1])
    actions = fed(peer, [proposal.raw, forged, b"junk"])
    assert len(peer.ledger) == 1
    assert peer.rejected() == {("sync", "bad_signature"): 1, ("sync", "decode"): 1}
    assert [a.kind for a in actions if isinstance(a, Persist)] == ["entry"]


def test_two_entries_at_one_seq_are_a_fork_told_and_gossiped() -> None:
    peer = Peer(Identity.from_seed(bytes([9]) * 32), TEL_AVIV, random.Random(9))
    peer.start(NOW_MS)
    honest = Members(ALICE, BOB).ride(ALICE, BOB)[0]
    twin = Members(ALICE, CAROL).propose(ALICE, receipt(ALICE, CAROL, distance_m=9_000))
    fed(peer, [honest.raw])
    actions = fed(peer, [twin.raw])
    told = [a.event for a in actions if isinstance(a, Notify) and isinstance(a.event, ForkFound)]
    assert told == [ForkFound(ALICE.public_key, 1)]
    (published,) = [a for a in actions if isinstance(a, Publish)]
    assert published.topic == LEDGER_TOPIC
    # The proof is kept: a restarted Peer still knows the author forked.
    kept = [a for a in actions if isinstance(a, Persist) and a.kind == "fork"]
    assert [(a.key, a.data) for a in kept] == [(ALICE.public_key, published.data)]
    stored = [(p.kind, p.key, p.data) for p in peer.export() if p.data is not None]
    again = Peer(Identity.from_seed(bytes([9]) * 32), TEL_AVIV, random.Random(9), stored=stored)
    assert again.ledger.fork_seq(ALICE.public_key) == 1
    assert again.balances() == peer.balances()
    # Another peer takes the proof from gossip, and tells its user too.
    other = Peer(Identity.from_seed(bytes([10]) * 32), TEL_AVIV, random.Random(10))
    other.start(NOW_MS)
    heard = other.gossip_received(LEDGER_TOPIC, published.data, NOW_MS)
    assert [a.event for a in heard if isinstance(a, Notify)] == [ForkFound(ALICE.public_key, 1)]
    assert other.ledger.fork_seq(ALICE.public_key) == 1
    # A bogus proof (one entry twice) is refused.
    bogus = seal(RELAY, ForkProof(honest.raw, honest.raw)).raw
    verdict = other.validate_gossip(LEDGER_TOPIC, bogus, NOW_MS)
    assert isinstance(verdict, Rejected) and verdict.reason == "not_a_fork"


def test_peers_holding_two_branches_of_a_forked_log_both_find_the_fork() -> None:
    """Alice signed two different entry 2s; one peer holds entries 1, 2a, 3a and the
    other 1, 2b. The second's sync looks back from 3a (wrong_prev) to 2a: a fork."""
    first = MemberLog(ALICE.public_key)
    e1 = propose_receipt(ALICE, first, receipt(ALICE, BOB, ride_id=b"\x01" * 16), NOW_MS)
    second = MemberLog(ALICE.public_key)
    second.append(e1)
    e2a = propose_receipt(ALICE, first, receipt(ALICE, BOB, ride_id=b"\x02" * 16), NOW_MS)
    e3a = propose_receipt(ALICE, first, receipt(ALICE, BOB, ride_id=b"\x03" * 16), NOW_MS)
    e2b = propose_receipt(ALICE, second, receipt(ALICE, CAROL, ride_id=b"\x04" * 16), NOW_MS)

    net = Net()
    a = net.add("a", 1)
    b = net.add("b", 2)
    net.run("a", fed(a.peer, [e1.raw, e2a.raw, e3a.raw]))
    net.run("b", fed(b.peer, [e1.raw, e2b.raw]))
    net.run_for(15 * 60_000)
    for node in (a, b):
        assert node.peer.ledger.fork_seq(ALICE.public_key) == 2, node.name
        told = [n for _, n in node.notes if isinstance(n, ForkFound)]
        assert told == [ForkFound(ALICE.public_key, 2)], node.name
    assert b.peer.rejected().get(("sync", "wrong_prev"), 0) >= 1
    assert a.peer.balances() == b.peer.balances()
