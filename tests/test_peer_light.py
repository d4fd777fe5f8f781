"""Light ledger members (``PeerParams.ledger = "own"``): hold, apply and ask for only the
logs of the authors followed; a full Peer serves them (SPEC §10.6, docs/peer.md §11.11)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.errors import ConfigError
from protocol.fields import PublicKey
from protocol.identity import Identity
from protocol.ledger.chain import open_entry
from protocol.ledger.credit import balances
from protocol.ledger.sync import open_sync_message
from protocol.ledger.wire import SyncWant
from protocol.peer.actions import Action, Persist, Send
from protocol.peer.core import LEDGER_TOPIC, entry_key
from protocol.peer.gossip import Accepted, Rejected
from protocol.peer.params import MINUTE_MS, PeerParams
from protocol.peer.peer import Peer
from protocol.ride.actions import Notice
from sim.scenario import ScenarioError, parse
from tests.strategies import ALICE, BOB, NOW_MS
from tests.test_ledger_fixtures import CAROL, DAVE, Members, ledger_of
from tests.test_peer_multi import RIDERS, wait_for
from tests.test_peer_net import TEL_AVIV, Net, offer_drive, request_ride
from tests.test_peer_sync import fed, history

LIGHT = PeerParams(ledger="own", heads_ms=10 * MINUTE_MS)
FULL = PeerParams(heads_ms=10 * MINUTE_MS)
EVERYONE = (ALICE, BOB, CAROL, DAVE)


def light(identity: Identity, stored: list[tuple[str, bytes, bytes]] | None = None) -> Peer:
    peer = Peer(identity, TEL_AVIV, random.Random(1), LIGHT, stored or ())  # type: ignore[arg-type]
    peer.start(NOW_MS)
    return peer


def wanted_authors(actions: list[tuple[int, str, Action]], who: str) -> set[PublicKey]:
    """Every author ``who`` asked a peer for, by its ``sync.want`` frames."""
    out = set()
    for _, name, a in actions:
        if name == who and isinstance(a, Send) and a.channel == "sync":
            m = open_sync_message(a.data).message
            if isinstance(m, SyncWant):
                out |= {w.author for w in m.wants}
    return out


def follows(peer: Peer) -> set[PublicKey]:
    """Whom a light ``peer`` follows."""
    out = peer.follows()
    assert out is not None, "a full Peer follows no one in particular"
    return set(out)


def past_credit(members: Members) -> int:
    """Alice's balance by ``members``' logs alone."""
    return balances(ledger_of(members.raw_entries()))[ALICE.public_key]


def stored(peer: Peer) -> list[tuple[str, bytes, bytes]]:
    return [(p.kind, p.key, p.data) for p in peer.export() if p.data is not None]


def test_the_ledger_mode_is_full_or_own() -> None:
    assert PeerParams().ledger == "full"
    with pytest.raises(ConfigError, match=r"PeerParams.ledger.*'half'.*must be one of"):
        PeerParams(ledger="half")  # type: ignore[arg-type]
    with pytest.raises(ScenarioError, match=r"peer.ledger.*must be one of full, own"):
        parse('name = "x"\n[peer]\nledger = "half"\n')
    assert parse('name = "x"\n[peer]\nledger = "own"\n').peer.ledger == "own"


def test_a_light_peer_pulls_only_the_logs_it_follows_from_a_full_one() -> None:
    """Alice (light, fresh: a reinstalled phone) connects to a full Peer holding four
    logs: she asks for her own, then for Bob's, whom her receipts name; never for
    Carol's or Dave's."""
    net = Net()
    full = net.add("full", 9, FULL)
    raws = history(30).raw_entries()
    for i in range(0, len(raws), 16):
        net.run("full", fed(full.peer, raws[i : i + 16]))
    assert len(full.peer.ledger.heads) == 4
    alice = net.add("alice", 1, LIGHT)
    net.run_for(20 * MINUTE_MS)

    assert wanted_authors(net.trace, "alice") == {ALICE.public_key, BOB.public_key}
    me = alice.peer
    assert set(me.ledger.heads) == {ALICE.public_key, BOB.public_key}
    for author in (ALICE.public_key, BOB.public_key):
        assert me.ledger.heads[author] == full.peer.ledger.heads[author]
    assert follows(me) == {ALICE.public_key, BOB.public_key}
    assert me.sync_behind() == {}  # Carol's and Dave's logs are not "behind"
    assert me.balances()[ALICE.public_key] == full.peer.balances()[ALICE.public_key] > 0
    # Only what it holds is stored, and whom it follows.
    authors = {key[:32] for kind, key in alice.store if kind == "entry"}
    assert authors == {ALICE.public_key, BOB.public_key}
    assert ("follow", BOB.public_key) in alice.store
    # The full Peer is unchanged by serving it: it still holds and asks for everything.
    assert full.peer.follows() is None and len(full.peer.ledger.heads) == 4


def test_a_light_peer_drops_a_strangers_entry_and_follows_whoever_names_it() -> None:
    members = Members(*EVERYONE)
    me = light(ALICE)
    carol_drives, dave_agrees = members.ride(CAROL, DAVE)
    for raw in (carol_drives.raw, dave_agrees.raw):
        # Validated as today (so a full Peer forwards it), then not applied nor stored.
        assert isinstance(me.validate_gossip(LEDGER_TOPIC, raw, NOW_MS), Accepted)
        assert me.gossip_received(LEDGER_TOPIC, raw, NOW_MS) == []
    forged = dave_agrees.raw[:-1] + bytes([dave_agrees.raw[-1] ^ 1])
    assert isinstance(me.validate_gossip(LEDGER_TOPIC, forged, NOW_MS), Rejected)
    assert len(me.ledger) == 0

    # Bob drives Alice: his half names her, so she takes it and follows him.
    bob_drives, _ = members.ride(BOB, ALICE)
    actions = me.gossip_received(LEDGER_TOPIC, bob_drives.raw, NOW_MS)
    persisted = [(a.kind, a.key) for a in actions if isinstance(a, Persist)]
    assert ("follow", BOB.public_key) in persisted
    assert ("entry", entry_key(BOB.public_key, 1)) in persisted
    # From now on every entry of Bob's is applied, even one not naming her.
    bob_drives_carol, carol_agrees = members.ride(BOB, CAROL)
    me.gossip_received(LEDGER_TOPIC, bob_drives_carol.raw, NOW_MS)
    me.gossip_received(LEDGER_TOPIC, carol_agrees.raw, NOW_MS)
    assert dict(me.ledger.heads).keys() == {BOB.public_key}
    assert me.ledger.heads[BOB.public_key][0] == 2

    # A restart follows the same authors, from the store alone.
    again = light(ALICE, stored(me))
    assert follows(again) == follows(me) == {ALICE.public_key, BOB.public_key}
    assert again.gossip_received(LEDGER_TOPIC, members.ride(BOB, DAVE)[0].raw, NOW_MS)
    assert again.ledger.heads[BOB.public_key][0] == 3


def test_a_full_peer_applies_the_strangers_entry_a_light_one_drops() -> None:
    carol_drives, _ = Members(*EVERYONE).ride(CAROL, DAVE)
    full = Peer(ALICE, TEL_AVIV, random.Random(1), FULL)
    full.start(NOW_MS)
    actions = full.gossip_received(LEDGER_TOPIC, carol_drives.raw, NOW_MS)
    assert full.follows() is None
    assert [a.kind for a in actions if isinstance(a, Persist)] == ["entry"]


RIDE = st.tuples(st.sampled_from(EVERYONE), st.sampled_from(EVERYONE)).filter(
    lambda p: p[0] is not p[1]
)


@settings(max_examples=40, deadline=None)
@given(
    rides=st.lists(
        st.tuples(RIDE, st.integers(1_000, 30_000), st.booleans()), min_size=1, max_size=12
    ),
    order=st.randoms(use_true_random=False),
)
def test_a_light_peers_own_balance_is_a_full_peers_in_an_honest_town(
    rides: list[tuple[tuple[Identity, Identity], int, bool]], order: random.Random
) -> None:
    """Any honest rides among four members, their entries in one sync answer in any
    order: light Alice holds only her own log and those of members she rode with
    (and their whole logs), and computes her own balance as a full Peer does."""
    members = Members(*EVERYONE)
    for i, ((driver, rider), distance_m, rider_proposes) in enumerate(rides):
        members.ride(
            driver,
            rider,
            rider_proposes=rider_proposes,
            distance_m=distance_m,
            ended_ms=NOW_MS + i * 60 * MINUTE_MS,
        )
    raws = members.raw_entries()
    order.shuffle(raws)
    full = Peer(DAVE, TEL_AVIV, random.Random(2), FULL)
    full.start(NOW_MS)
    me = light(ALICE)
    asked: set[PublicKey] = set()
    for i in range(0, len(raws), 16):  # sync answers of at most 16 entries
        fed(full, raws[i : i + 16])
        asked |= wanted_authors([(0, "me", a) for a in fed(me, raws[i : i + 16])], "me")
    # An entry heard before its author was followed was dropped: the follow asked
    # for the author's log, and the answer fills it.
    answer = [raw for raw in raws if open_entry(raw).author in asked]
    for i in range(0, len(answer), 16):
        fed(me, answer[i : i + 16])

    partners = {p.public_key for (d, r), _, _ in rides if ALICE in (d, r) for p in (d, r)}
    partners.add(ALICE.public_key)
    held = {a for a, log in members.logs.items() if len(log)} & partners
    assert follows(me) == partners
    assert asked <= partners
    assert set(me.ledger.heads) == held
    for author in held:
        assert me.ledger.heads[author] == full.ledger.heads[author]
    assert me.balances().get(ALICE.public_key, 0) == full.balances().get(ALICE.public_key, 0)


def test_a_light_rider_follows_its_driver_and_pulls_its_log_when_it_accepts() -> None:
    """Light Alice drives; she carried Carol before. A fresh light rider follows her when
    she accepts, pulls her earlier log by sync, and the receipt by the ride; Alice
    follows the rider. A full bystander, and Alice's own wallet, agree on her balance."""
    net = Net()
    driver = net.add("driver", 1, LIGHT)
    past = Members(ALICE, CAROL)
    for i in range(3):
        past.ride(ALICE, CAROL, ended_ms=NOW_MS - (i + 1) * 600_000)
    for raw in past.raw_entries():
        e = open_entry(raw)
        driver.store[("entry", entry_key(e.author, e.message.seq))] = raw
    net.restart("driver", 1)
    assert follows(driver.peer) == {ALICE.public_key, CAROL.public_key}
    rider = net.add("rider", 5, LIGHT)
    bystander = net.add("bystander", 6, FULL)
    net.run_for(1_000)
    me = rider.peer.public_key
    assert follows(rider.peer) == {me} and len(rider.peer.ledger) == 0
    assert len(bystander.peer.ledger) == 6  # the full Peer pulled both logs on connect

    offer_id = offer_drive(net)
    request_id = request_ride(net, "rider", *RIDERS["rider1"])
    net.run_for(1_000)
    ride_id, actions = rider.peer.propose(request_id, offer_id, net.now_ms)
    net.run("rider", actions)
    assert follows(rider.peer) == {me}  # a proposal is not an agreement
    wait_for(net, "driver", Notice.PROPOSED, ride_id)
    net.run("driver", driver.peer.accept(ride_id, net.now_ms))
    assert rider.peer.public_key in (driver.peer.follows() or ())
    wait_for(net, "driver", Notice.REVEALED, ride_id)
    net.run("driver", driver.peer.confirm(ride_id, net.now_ms))
    net.run_for(1_000)
    # The rider follows Alice since she accepted, and has her earlier log, by sync.
    assert follows(rider.peer) == {me, ALICE.public_key}
    assert rider.peer.ledger.heads[ALICE.public_key][0] == 3
    assert ALICE.public_key in wanted_authors(net.trace, "rider")
    assert CAROL.public_key not in rider.peer.ledger.heads

    pin = next(v.pin for v in rider.peer.rides() if v.ride_id == ride_id)
    assert pin is not None
    net.run_until(NOW_MS + 15 * MINUTE_MS)
    net.run("driver", driver.peer.pickup(ride_id, pin, net.now_ms))
    net.run_for(4 * MINUTE_MS)
    net.run("driver", driver.peer.finish(ride_id, net.now_ms))
    wait_for(net, "rider", Notice.RECEIPT_NEEDED, ride_id)
    net.run("rider", rider.peer.sign_receipt(ride_id, net.now_ms))
    net.run_for(5 * MINUTE_MS)

    reference = bystander.peer.balances()
    for node in (driver, rider):
        key = node.peer.public_key
        assert node.peer.balances().get(key, 0) == reference.get(key, 0), node.name
    assert reference[ALICE.public_key] > past_credit(past) > 0  # the new ride counted
    assert (
        rider.peer.ledger.heads[ALICE.public_key] == bystander.peer.ledger.heads[ALICE.public_key]
    )
    assert driver.peer.ledger.heads[me] == bystander.peer.ledger.heads[me]
    assert rider.peer.rejected() == {} and driver.peer.rejected() == {}

    # Restarted, both follow the same authors.
    for name in ("driver", "rider"):
        before = net.peer(name).follows()
        assert net.restart(name, 11).peer.follows() == before, name
