"""The Peer driving ledger sync: long logs in rounds, forged entries counted, forks found."""

from __future__ import annotations

import random

from protocol.identity import Identity
from protocol.ledger.chain import MemberLog, open_entry
from protocol.ledger.cosign import propose_receipt
from protocol.ledger.sync import open_sync_message
from protocol.ledger.wire import ForkProof, SyncEntries, SyncHeads, SyncWant
from protocol.peer.actions import Action, Notify, Persist, Publish, Send
from protocol.peer.core import LEDGER_TOPIC
from protocol.peer.gossip import Rejected
from protocol.peer.notices import BalanceChanged, ForkFound
from protocol.peer.params import PeerParams
from protocol.peer.peer import Peer
from protocol.peer.sync import ASK_AGAIN_MS, HEADS_TIMER
from protocol.signing import seal
from tests.strategies import ALICE, BOB, NOW_MS
from tests.test_ledger_fixtures import CAROL, DAVE, Members, entry, receipt
from tests.test_peer_multi import run_city
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
    # The newcomer connects to old, hears its heads and pulls 10 entries per want.
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


def started(seed: int, params: PeerParams | None = None) -> Peer:
    peer = Peer(Identity.from_seed(bytes([seed]) * 32), TEL_AVIV, random.Random(seed), params)
    peer.start(NOW_MS)
    return peer


def heard(peer: Peer, raw: bytes) -> list[Action]:
    """``raw`` on the ledger topic, through the validator first as a node's libp2p runs it."""
    verdict = peer.validate_gossip(LEDGER_TOPIC, raw, NOW_MS)
    assert not isinstance(verdict, Rejected), verdict
    return peer.gossip_received(LEDGER_TOPIC, raw, NOW_MS)


def test_a_ride_reaches_a_bystander_as_two_gossiped_entries_with_no_sync() -> None:
    """Each party gossips the half it signs; a peer with no stream to either holds the
    receipt, counts it, and never has to ask anyone."""
    proposal, agreement = Members(ALICE, BOB).ride(ALICE, BOB)
    bystander = started(30)
    actions = heard(bystander, proposal.raw) + heard(bystander, agreement.raw)
    assert len(bystander.ledger) == 2
    assert bystander.balances()[ALICE.public_key] > 0
    assert not [a for a in actions if isinstance(a, Send)]
    assert [a.kind for a in actions if isinstance(a, Persist)] == ["entry", "entry"]


def test_the_parties_of_a_ride_gossip_their_own_halves_and_a_bystander_never_asks() -> None:
    net, _ = run_city(seed=5)
    gossiped = [(who, a) for _, who, a in net.trace if isinstance(a, Publish)]
    entries = [(who, a) for who, a in gossiped if a.topic == LEDGER_TOPIC]
    # Two pooled rides: the driver's two proposals, each rider's agreement.
    assert sorted(who for who, _ in entries) == ["driver", "driver", "rider1", "rider2"]
    for who, a in entries:
        assert open_entry(a.data).author == net[who].peer.public_key
    assert len(net["bystander"].peer.ledger) == 4
    asks = [
        a
        for _, who, a in net.trace
        if who == "bystander"
        and isinstance(a, Send)
        and isinstance(open_sync_message(a.data).message, SyncWant)
    ]
    assert asks == []


def test_an_entry_heard_after_a_gap_is_held_and_the_author_is_asked_for_the_rest() -> None:
    members = Members(ALICE, BOB)
    first, _ = members.ride(ALICE, BOB)
    second, _ = members.ride(ALICE, BOB)
    bystander = started(30)
    actions = heard(bystander, second.raw)  # the first was lost on the way
    assert len(bystander.ledger) == 0 and bystander.ledger.pending_count == 1
    (ask,) = [a for a in actions if isinstance(a, Send)]
    assert ask.to == ALICE.public_key and ask.channel == "sync"
    want = open_sync_message(ask.data).message
    assert isinstance(want, SyncWant)
    assert [(w.author, w.from_seq) for w in want.wants] == [(ALICE.public_key, 1)]
    assert bystander.sync_behind() == {ALICE.public_key: 2}  # the node's lag gauges
    fed(bystander, [first.raw])
    assert len(bystander.ledger) == 2
    assert bystander.sync_behind() == {}


def test_a_forged_or_rule_breaking_entry_on_gossip_is_refused_and_not_forwarded() -> None:
    proposal, _ = Members(ALICE, BOB).ride(ALICE, BOB)
    forged = proposal.raw[:-1] + bytes([proposal.raw[-1] ^ 1])
    bystander = started(30)
    verdict = bystander.validate_gossip(LEDGER_TOPIC, forged, NOW_MS)
    assert isinstance(verdict, Rejected) and verdict.reason == "bad_signature"
    # A first entry whose prev is not zeros breaks a content rule of SPEC §8.
    bad = entry(ALICE, 1, b"\x01" * 32, proposal.message.payload)
    verdict = bystander.validate_gossip(LEDGER_TOPIC, bad, NOW_MS)
    assert isinstance(verdict, Rejected) and verdict.reason == "invalid"
    assert len(bystander.ledger) == 0


def test_a_heads_round_goes_over_streams_to_a_few_contacts_not_on_gossip() -> None:
    params = PeerParams(heads_fanout=2)
    peer = started(30, params)
    contacts = [Identity.from_seed(bytes([40 + i]) * 32).public_key for i in range(5)]
    for key in contacts:
        peer.peer_connected(key, NOW_MS)
    fed(peer, history(1).raw_entries())  # RELAY's stream makes it a contact too
    contacts.append(RELAY.public_key)
    due = NOW_MS + params.heads_ms + params.republish_jitter_ms
    actions = peer.timer_fired(HEADS_TIMER, due)
    sends = [a for a in actions if isinstance(a, Send)]
    assert len({a.to for a in sends}) == 2 and {a.to for a in sends} <= set(contacts)
    assert all(isinstance(open_sync_message(a.data).message, SyncHeads) for a in sends)
    assert not [a for a in actions if isinstance(a, Publish)]


def test_a_round_works_both_ways_and_two_peers_never_echo_heads() -> None:
    """A sends its heads to B; B holds a receipt A lacks, so B answers with its own
    heads; A asks for the entries and does not answer B's heads again."""
    a, b = started(30), started(31)
    fed(b, history(1).raw_entries())
    a.peer_connected(b.public_key, NOW_MS)  # B is A's contact (the connect sent heads)
    due = NOW_MS + PeerParams().heads_ms + PeerParams().republish_jitter_ms
    (to_b,) = [s for s in a.timer_fired(HEADS_TIMER, due) if isinstance(s, Send)]
    answer = b.stream_received(a.public_key, "sync", to_b.data, due)
    replies = [s for s in answer if isinstance(s, Send)]
    assert [type(open_sync_message(s.data).message) for s in replies] == [SyncHeads]
    back = a.stream_received(b.public_key, "sync", replies[0].data, due + 1)
    kinds = [type(open_sync_message(s.data).message) for s in back if isinstance(s, Send)]
    assert kinds == [SyncWant]  # asks for what it lacks, sends no heads back
    # B heard from A again within ASK_AGAIN_MS: it does not answer twice.
    again = b.stream_received(a.public_key, "sync", to_b.data, due + ASK_AGAIN_MS - 1)
    assert not [s for s in again if isinstance(s, Send)]


def test_a_later_receipt_reusing_ones_ride_id_moves_ones_balance_and_is_told() -> None:
    """Balances are recomputed only for entries that can move one's own; a stranger's
    receipt with the ride id of one's own ride can (a ride id earns once), and is."""
    me = Peer(ALICE, TEL_AVIV, random.Random(9))
    me.start(NOW_MS)
    ride_id = b"\x07" * 16
    mine = Members(ALICE, BOB)
    mine.ride(ALICE, BOB, ride_id=ride_id, ended_ms=NOW_MS)
    told = fed(me, mine.raw_entries())
    earned = me.balances()[ALICE.public_key]
    assert earned > 0
    assert [
        a.event.balance_milli
        for a in told
        if isinstance(a, Notify) and isinstance(a.event, BalanceChanged)
    ] == [earned]
    unrelated = Members(CAROL, DAVE)
    unrelated.ride(CAROL, DAVE, ended_ms=NOW_MS)
    assert not [a for a in fed(me, unrelated.raw_entries()) if isinstance(a, Notify)]
    # Carol and Dave sign a receipt with Alice's ride id that ended first: it keeps the id.
    unrelated.ride(DAVE, CAROL, ride_id=ride_id, ended_ms=NOW_MS - 60_000)
    told = fed(me, unrelated.raw_entries())
    changed = [
        a.event for a in told if isinstance(a, Notify) and isinstance(a.event, BalanceChanged)
    ]
    assert [c.balance_milli for c in changed] == [0]
    assert me.balances()[ALICE.public_key] == 0


def test_an_agreement_heard_without_its_proposal_makes_the_bystander_ask_the_proposer() -> None:
    """The driver's half was lost on gossip, the rider's arrived: the receipt would not
    count until a heads round; the bystander asks the driver for it at once."""
    proposal, agreement = Members(ALICE, BOB).ride(ALICE, BOB)
    bystander = started(30)
    actions = heard(bystander, agreement.raw)
    assert len(bystander.ledger) == 1 and bystander.balances().get(ALICE.public_key, 0) == 0
    (ask,) = [a for a in actions if isinstance(a, Send)]
    assert ask.to == ALICE.public_key
    want = open_sync_message(ask.data).message
    assert isinstance(want, SyncWant)
    assert [(w.author, w.from_seq) for w in want.wants] == [(ALICE.public_key, 1)]
    assert bystander.sync_behind() == {ALICE.public_key: 1}
    fed(bystander, [proposal.raw])
    assert bystander.balances()[ALICE.public_key] > 0 and bystander.sync_behind() == {}
    # Heard in the usual order, nobody is asked for anything.
    other = started(31)
    asked = heard(other, proposal.raw) + heard(other, agreement.raw)
    assert not [a for a in asked if isinstance(a, Send)]
