"""The simulated network running real Peers: gossip, loss, partitions, churn, restarts."""

from __future__ import annotations

from protocol.fields import GeoPoint
from protocol.identity import Identity
from protocol.peer.actions import Action
from protocol.peer.notices import CandidatesFound, Notification
from protocol.peer.params import MINUTE_MS, PeerParams
from sim.engine import Engine
from sim.hosts import Churn, Host, NetParams, Partition
from sim.network import Network
from tests.strategies import ALICE, BOB, NOW_MS
from tests.test_ledger_fixtures import Members
from tests.test_peer_net import COST, DEPARTURE, DRIVE, RIDE_WINDOW, TEL_AVIV

PICKUP = GeoPoint.from_degrees(32.0950, 34.7840)
DROPOFF = GeoPoint.from_degrees(32.0745, 34.7815)


class Heard:
    """A listener that keeps every notification."""

    def __init__(self) -> None:
        self.notes: list[Notification] = []

    def notice(self, host: Host, event: Notification) -> None:
        self.notes.append(event)


def network(params: NetParams | None = None, seed: int = 1) -> Network:
    return Network(Engine(NOW_MS), params or NetParams(), seed)


def join(net: Network, n: int, listener: Heard | None = None) -> Host:
    identity = Identity.from_seed(bytes([n]) * 32)
    return net.join(f"h{n}", identity, TEL_AVIV, PeerParams(), n, listener)


def offer(net: Network, host: Host) -> list[Action]:
    _, actions = host.peer.offer(
        route=DRIVE,
        departure=DEPARTURE,
        duration_s=660,
        seats=2,
        max_detour_m=1_500,
        max_detour_s=300,
        cost=COST,
        expires_ms=NOW_MS + 2 * 60 * MINUTE_MS,
        now_ms=net.engine.now_ms,
    )
    return actions


def request(net: Network, host: Host) -> None:
    _, actions = host.peer.request(
        pickup=PICKUP,
        dropoff=DROPOFF,
        window=RIDE_WINDOW,
        seats=1,
        max_walk_m=400,
        expires_ms=NOW_MS + 60 * MINUTE_MS,
        now_ms=net.engine.now_ms,
    )
    net.execute(host, actions)


def test_an_offer_reaches_subscribers_after_latency_and_a_rider_finds_it() -> None:
    net = network(NetParams(latency_median_ms=50, latency_p99_ms=50))
    heard = Heard()
    driver, rider = join(net, 1), join(net, 2, heard)
    request(net, rider)
    net.execute(driver, offer(net, driver))
    net.engine.run_until(NOW_MS + 49)
    assert not any(isinstance(n, CandidatesFound) for n in heard.notes)
    net.engine.run_until(NOW_MS + 60)
    assert any(isinstance(n, CandidatesFound) for n in heard.notes)
    assert net.totals.gossip_deliveries >= 2  # the offer at the rider, the request at the driver
    assert driver.sent_msgs >= 1 and rider.recv_msgs >= 1
    assert rider.recv_bytes > 0 and driver.sent_bytes > 0


def test_total_loss_delivers_nothing_and_counts_it() -> None:
    net = network(NetParams(loss=1.0))
    heard = Heard()
    driver, rider = join(net, 1), join(net, 2, heard)
    request(net, rider)
    net.execute(driver, offer(net, driver))
    net.engine.run_until(NOW_MS + MINUTE_MS)
    assert net.totals.gossip_deliveries == 0
    assert net.totals.lost >= 2
    assert not any(isinstance(n, CandidatesFound) for n in heard.notes)


def test_a_partition_cuts_gossip_and_streams_and_its_healing_reopens_connections() -> None:
    start, end = NOW_MS + MINUTE_MS, NOW_MS + 10 * MINUTE_MS
    net = network(NetParams(partitions=(Partition(start, end, 0.5),)))
    heard = Heard()
    driver, rider = join(net, 1), join(net, 2, heard)
    driver.groups, rider.groups = frozenset({0}), frozenset()
    # Connected before the partition: the rider dialled the driver as it joined
    # (its bootstrap peer), as a node dials its bootstrap peers.
    net.engine.run_until(NOW_MS + 1_000)
    assert net.totals.connections == 1
    net.engine.run_until(start + 1)
    net.execute(driver, offer(net, driver))
    net.engine.run_until(start + MINUTE_MS)
    assert net.totals.cut >= 1
    assert not any(isinstance(n, CandidatesFound) for n in heard.notes)
    before = rider.recv_msgs
    net.engine.run_until(end + 1_000)
    # Healed: the cut connection reopened (peer_connected on both ends sends heads
    # over the sync stream), and the offer, republished, now reaches the rider.
    assert net.totals.reconnections == 1
    net.engine.run_until(end + 6 * MINUTE_MS)
    assert rider.recv_msgs > before
    request(net, rider)
    net.engine.run_until(end + 12 * MINUTE_MS)
    assert any(isinstance(n, CandidatesFound) for n in heard.notes)


def test_an_offline_host_misses_gossip_and_a_restart_rebuilds_its_peer_from_the_store() -> None:
    net = network(NetParams(churn=Churn(share=1.0, restart=1.0)))
    heard = Heard()
    driver, rider = join(net, 1), join(net, 2, heard)
    net._go_offline(rider)
    net.execute(driver, offer(net, driver))
    request(net, rider)  # the rider's own Peer still works offline; nothing reaches it
    net.engine.run_until(NOW_MS + MINUTE_MS)
    assert rider.recv_msgs == 0
    own = [r.request_id for r in rider.peer.own_requests()]
    old_peer = rider.peer
    net.restart(rider)
    net._go_online(rider)
    assert rider.peer is not old_peer and rider.restarts == 1
    # Restored from its Persist records: the same open request, republished at once.
    assert [r.request_id for r in rider.peer.own_requests()] == own
    net.engine.run_until(NOW_MS + 8 * MINUTE_MS)
    assert any(isinstance(n, CandidatesFound) for n in heard.notes)


def test_a_joining_host_dials_a_few_online_hosts_and_catches_up_on_the_ledger() -> None:
    net = network(NetParams(bootstrap=2))
    first = [join(net, seed) for seed in range(1, 5)]
    proposal, agreement = Members(ALICE, BOB).ride(ALICE, BOB)
    for host in first:
        host.peer.ledger.add(proposal)
        host.peer.ledger.add(agreement)
    net._go_offline(first[0])
    newcomer = join(net, 9)
    net.engine.run_until(NOW_MS + MINUTE_MS)
    mine = [pair for pair in net._connected if newcomer.index in pair]
    assert len(mine) == 2 and all(first[0].index not in pair for pair in mine)
    assert len(newcomer.peer.ledger) == 2  # heads on connect, then the entries
