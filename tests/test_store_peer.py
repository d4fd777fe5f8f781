"""Real Peers whose ``Persist`` actions go to a real Store, restarted from that store.

``StoreNet`` is the in-memory network of the Peer tests with one change: each
node's consecutive ``Persist`` actions are written to its own SQLite store
as one batch before the next action runs -- what the node does (SPEC §11.4).
A restart closes the store, opens it again and builds the Peer from it.
"""

from __future__ import annotations

import random
from pathlib import Path

from lazooz.store import Store
from protocol.fields import CostShare, GeoPoint, TimeWindow
from protocol.peer.actions import Action, Persist
from protocol.peer.params import HOUR_MS, MINUTE_MS, PeerParams
from protocol.peer.peer import Peer
from protocol.ride.states import RideState
from tests.strategies import NOW_MS
from tests.test_peer_net import DRIVE, TEL_AVIV, Net, Node


class StoreNet(Net):
    """The Peer tests' network, each node persisting to an SQLite store under ``root``."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root
        self.stores: dict[str, Store] = {}
        self.batches = 0

    def open_store(self, name: str) -> Store:
        (self.root / name).mkdir(exist_ok=True)
        self.stores[name] = Store.open(self.root / name / "lazooz.db")
        return self.stores[name]

    def add(
        self, name: str, seed: int, params: PeerParams | None = None, home: GeoPoint = TEL_AVIV
    ) -> Node:
        self.open_store(name)
        return super().add(name, seed, params, home)

    def execute(self, node: Node, actions: list[Action]) -> None:
        run: list[Persist] = []
        for action in actions:
            if isinstance(action, Persist):
                run.append(action)
                continue
            self._flush(node, run)
            run = []
            super().execute(node, [action])
        self._flush(node, run)

    def _flush(self, node: Node, run: list[Persist]) -> None:
        if run:
            self.stores[node.name].apply(run)
            self.batches += 1
            super().execute(node, [*run])  # the dict the Peer tests check against, too

    def restart_from_store(self, name: str, seed: int) -> Peer:
        """The node's process dies and starts again: a new Peer from what its store kept."""
        node = self.nodes[name]
        self.stores[name].close()
        store = self.open_store(name)
        node.peer = store.restore_peer(node.identity, node.home, random.Random(seed), node.params)
        node.timers.clear()
        node.topics.clear()
        self.execute(node, node.peer.start(self.now_ms))
        return node.peer

    def close(self) -> None:
        for store in self.stores.values():
            store.close()


def ride_pair(root: Path) -> tuple[StoreNet, bytes]:
    """A driver's offer along ``DRIVE``, a rider's request on it, and the rider's
    proposal, received by the driver: as the Peer tests' ride pair, on a ``StoreNet``."""
    net = StoreNet(root)
    net.add("driver", 1)
    net.add("rider", 2)
    offer_id, actions = net.peer("driver").offer(
        route=DRIVE,
        departure=TimeWindow(NOW_MS + 10 * MINUTE_MS, NOW_MS + 25 * MINUTE_MS),
        duration_s=660,
        seats=2,
        max_detour_m=1_500,
        max_detour_s=300,
        cost=CostShare("ILS", 500, 80),
        expires_ms=NOW_MS + 2 * HOUR_MS,
        now_ms=net.now_ms,
    )
    net.run("driver", actions)
    request_id, actions = net.peer("rider").request(
        pickup=GeoPoint.from_degrees(32.0950, 34.7840),
        dropoff=GeoPoint.from_degrees(32.0745, 34.7815),
        window=TimeWindow(NOW_MS + 5 * MINUTE_MS, NOW_MS + 40 * MINUTE_MS),
        seats=1,
        max_walk_m=400,
        expires_ms=NOW_MS + HOUR_MS,
        now_ms=net.now_ms,
    )
    net.run("rider", actions)
    net.run_for(1_000)
    ride_id, actions = net.peer("rider").propose(request_id, offer_id, net.now_ms)
    net.run("rider", actions)
    net.run_for(1_000)
    return net, ride_id


def state(peer: Peer, ride_id: bytes) -> RideState:
    return {r.ride_id: r.state for r in peer.rides()}[ride_id]


def durable(peer: Peer) -> dict[tuple[str, bytes], bytes | None]:
    return {(p.kind, p.key): p.data for p in peer.export()}


def test_the_store_holds_exactly_what_the_peer_persisted(tmp_path: Path) -> None:
    net, _ = ride_pair(tmp_path)
    net.run_for(2 * MINUTE_MS)
    assert net.batches > 0
    for name in ("driver", "rider"):
        held = {(kind, key): data for kind, key, data in net.stores[name].load()}
        assert held == net[name].store == durable(net.peer(name)), name
    net.close()


def test_a_peer_rebuilt_from_its_store_has_its_offers_requests_and_ledger_intact(
    tmp_path: Path,
) -> None:
    net, ride_id = ride_pair(tmp_path)
    driver, rider = net.peer("driver"), net.peer("rider")
    net.run("driver", driver.accept(ride_id, net.now_ms))
    net.run_for(1_000)
    net.run("driver", driver.confirm(ride_id, net.now_ms))
    net.run_for(1_000)
    pin = {r.ride_id: r.pin for r in rider.rides()}[ride_id]
    assert pin is not None
    net.run_until(NOW_MS + 15 * MINUTE_MS)
    net.run("driver", driver.pickup(ride_id, pin, net.now_ms))
    net.run_for(8 * MINUTE_MS)
    net.run("driver", driver.finish(ride_id, net.now_ms))
    net.run_for(1_000)
    net.run("rider", rider.sign_receipt(ride_id, net.now_ms))
    net.run_for(1_000)
    assert state(driver, ride_id) is RideState.DONE
    assert len(driver.ledger) == 2  # both members' logs, one entry each

    for name, seed in (("driver", 11), ("rider", 12)):
        before = net.peer(name)
        offers = [(o.offer_id, o.status, o.raw) for o in before.own_offers()]
        requests = [(r.request_id, r.status, r.raw) for r in before.own_requests()]
        logs = {log.owner: [e.raw for e in log] for log in before.ledger}
        exported = durable(before)

        after = net.restart_from_store(name, seed)
        assert [(o.offer_id, o.status, o.raw) for o in after.own_offers()] == offers
        assert [(r.request_id, r.status, r.raw) for r in after.own_requests()] == requests
        assert {log.owner: [e.raw for e in log] for log in after.ledger} == logs
        assert after.balances() == before.balances()
        assert state(after, ride_id) is RideState.DONE
        assert durable(after) == exported
        store = net.stores[name]
        assert store.heads() == {owner: len(raws) for owner, raws in logs.items()}
    assert net.peer("driver").own_offers() and net.peer("rider").own_requests()
    net.close()


def test_a_rider_restarted_from_its_store_mid_ride_finishes_the_ride(tmp_path: Path) -> None:
    net, ride_id = ride_pair(tmp_path)
    driver = net.peer("driver")
    net.run("driver", driver.accept(ride_id, net.now_ms))
    net.run_for(1_000)
    net.run("driver", driver.confirm(ride_id, net.now_ms))
    net.run_for(1_000)
    pin = {r.ride_id: r.pin for r in net.peer("rider").rides()}[ride_id]
    assert pin is not None and state(net.peer("rider"), ride_id) is RideState.CONFIRMED

    rider = net.restart_from_store("rider", seed=77)
    assert state(rider, ride_id) is RideState.CONFIRMED
    assert [r.status for r in rider.own_requests()] == ["booked"]
    net.run_for(1_000)
    assert driver.rejected() == {}  # what the restarted rider resent were known duplicates

    net.run_until(NOW_MS + 15 * MINUTE_MS)
    net.run("driver", driver.pickup(ride_id, pin, net.now_ms))
    net.run_for(8 * MINUTE_MS)
    net.run("driver", driver.finish(ride_id, net.now_ms))
    net.run_for(1_000)
    net.run("rider", rider.sign_receipt(ride_id, net.now_ms))
    net.run_for(1_000)
    assert state(rider, ride_id) is RideState.DONE
    assert state(driver, ride_id) is RideState.DONE
    assert rider.balances() == driver.balances()
    assert net.restart_from_store("driver", seed=78).balances() == rider.balances()
    net.close()
