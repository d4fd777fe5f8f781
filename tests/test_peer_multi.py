"""Five Peers in one Tel Aviv area, in virtual time: a pooled ride, receipts, sync, balances.

One driver offers three seats south along Ibn Gabirol; two riders ride
together in that one offer; a third rider's ride is cancelled; a bystander
only listens. Every peer ends with the same ledger and the same balances.
"""

from __future__ import annotations

import pytest

from protocol.fields import GeoPoint
from protocol.ledger.credit import Verdict
from protocol.peer.notices import (
    BalanceChanged,
    Notification,
    ReceiptRecorded,
    RideUpdated,
)
from protocol.peer.params import MINUTE_MS, PeerParams
from protocol.ride.actions import Notice
from protocol.ride.messages import CancelReason
from protocol.ride.states import RideState, Role
from tests.strategies import NOW_MS
from tests.test_peer_net import Net, Node, notes_of, offer_drive, request_ride

RIDERS = {
    # name: (pickup, drop-off), both on the drive, north to south
    "rider1": (GeoPoint.from_degrees(32.0950, 34.7840), GeoPoint.from_degrees(32.0745, 34.7815)),
    "rider2": (GeoPoint.from_degrees(32.0905, 34.7830), GeoPoint.from_degrees(32.0790, 34.7813)),
    "rider3": (GeoPoint.from_degrees(32.0930, 34.7836), GeoPoint.from_degrees(32.0760, 34.7814)),
}


def ride_notes(node: Node, notice: Notice) -> list[RideUpdated]:
    return [
        n for n in notes_of(node, RideUpdated) if isinstance(n, RideUpdated) and n.notice is notice
    ]


def has_notice(node: Node, notice: Notice, ride_id: bytes) -> bool:
    return any(n.ride_id == ride_id for n in ride_notes(node, notice))


def wait_for(net: Net, name: str, notice: Notice, ride_id: bytes) -> None:
    net.run_until_true(lambda: has_notice(net[name], notice, ride_id))


def run_city(seed: int) -> tuple[Net, dict[str, bytes]]:
    """The whole scenario; returns the network and each rider's ride id."""
    net = Net()
    params = PeerParams(heads_ms=10 * MINUTE_MS)
    for i, name in enumerate(["driver", "rider1", "rider2", "rider3", "bystander"]):
        net.add(name, seed * 16 + i + 1, params)
    net.run_for(1_000)

    driver = net.peer("driver")
    offer_id = offer_drive(net, seats=3)
    requests = {name: request_ride(net, name, *RIDERS[name]) for name in RIDERS}
    net.run_for(1_000)

    # Everyone heard everything; each rider's own request has the offer as candidate.
    for name in RIDERS:
        found = net.peer(name).candidates(requests[name])
        assert [m.offer_id for m in found] == [offer_id], name
    assert len(driver.candidates(offer_id)) == 3
    assert len(net.peer("bystander").book().offers) == 1

    # Each rider proposes; the driver accepts, the rider's Peer reveals, the
    # driver's Peer checks the exact points (pooled with earlier riders), the
    # driver confirms.
    rides: dict[str, bytes] = {}
    for name in RIDERS:
        rides[name], actions = net.peer(name).propose(requests[name], offer_id, net.now_ms)
        net.run(name, actions)
        wait_for(net, "driver", Notice.PROPOSED, rides[name])
        net.run("driver", driver.accept(rides[name], net.now_ms))
        wait_for(net, "driver", Notice.REVEALED, rides[name])
        revealed = [
            n for n in ride_notes(net["driver"], Notice.REVEALED) if n.ride_id == rides[name]
        ]
        assert revealed[0].check is not None, revealed[0].reason
        net.run("driver", driver.confirm(rides[name], net.now_ms))
        net.run_for(1_000)

    # Rider 3 calls it off; both sides record the cancellation.
    net.run(
        "rider3", net.peer("rider3").cancel(rides["rider3"], CancelReason.CHANGED_MIND, net.now_ms)
    )
    net.run_for(1_000)

    # The pooled ride: both riders picked up with their PINs, dropped off, receipts signed.
    pins = {}
    for name in ("rider1", "rider2"):
        shown = [n.pin for n in ride_notes(net[name], Notice.PIN_SHOWN) if n.ride_id == rides[name]]
        assert shown[0] is not None
        pins[name] = shown[0]
    net.run_until(NOW_MS + 15 * MINUTE_MS)
    for name in ("rider1", "rider2"):
        net.run("driver", driver.pickup(rides[name], pins[name], net.now_ms))
        net.run_for(60_000)
    for name in ("rider2", "rider1"):
        net.run_for(4 * MINUTE_MS)
        net.run("driver", driver.finish(rides[name], net.now_ms))
        wait_for(net, name, Notice.RECEIPT_NEEDED, rides[name])
        net.run(name, net.peer(name).sign_receipt(rides[name], net.now_ms))
    net.run_for(30 * MINUTE_MS)
    return net, rides


def state_of(node: Node, ride_id: bytes) -> RideState:
    return next(r.state for r in node.peer.rides() if r.ride_id == ride_id)


@pytest.mark.parametrize("seed", [1, 2, 7])
def test_pooled_ride_cancelled_ride_and_every_peer_agrees(seed: int) -> None:
    net, rides = run_city(seed)
    driver = net["driver"]

    # One offer carried both riders at once: their rides overlap in time.
    views = {r.ride_id: r for r in driver.peer.rides()}
    assert {views[rides[n]].offer_id for n in rides} == {driver.peer.own_offers()[0].offer_id}
    for name in ("rider1", "rider2"):
        assert state_of(driver, rides[name]) is RideState.DONE
        assert state_of(net[name], rides[name]) is RideState.DONE
    picked = {
        n.ride_id: t
        for t, n in driver.notes
        if isinstance(n, RideUpdated) and n.notice is Notice.PICKED_UP
    }
    dropped = {
        n.ride_id: t
        for t, n in driver.notes
        if isinstance(n, RideUpdated) and n.notice is Notice.DROPPED_OFF
    }
    r1, r2 = rides["rider1"], rides["rider2"]
    assert picked[r1] < picked[r2] < dropped[r2] < dropped[r1]

    # The third ride is cancelled on both sides, with the rider's reason.
    for name in ("driver", "rider3"):
        view = next(r for r in net[name].peer.rides() if r.ride_id == rides["rider3"])
        assert view.state is RideState.CANCELLED
        assert view.endings == ((Role.RIDER, "CHANGED_MIND"),)

    # Two receipts, each signed by both sides, in every peer's ledger.
    receipts = {
        n.ride_id for n in notes_of(driver, ReceiptRecorded) if isinstance(n, ReceiptRecorded)
    }
    assert receipts == {r1, r2}
    for node in net.nodes.values():
        lines = node.peer.explain()
        assert sorted(line.ride_id for line in lines) == sorted([r1, r2]), node.name
        assert all(line.verdict is Verdict.COUNTED for line in lines), node.name
        assert len(node.peer.ledger) == 4, node.name

    # Identical balances everywhere, the bystander included; only the driver earns.
    balances = {name: node.peer.balances() for name, node in net.nodes.items()}
    first = balances["driver"]
    assert all(b == first for b in balances.values())
    assert first[driver.peer.public_key] > 0
    assert all(v == 0 for k, v in first.items() if k != driver.peer.public_key)
    told = [n for n in notes_of(driver, BalanceChanged) if isinstance(n, BalanceChanged)]
    assert told[-1].balance_milli == first[driver.peer.public_key]

    # No peer dropped anything from honest peers.
    for node in net.nodes.values():
        assert node.peer.rejected() == {}, (node.name, node.peer.rejected())


def _story(net: Net) -> list[tuple[str, int, Notification]]:
    return [(name, t, n) for name, node in net.nodes.items() for t, n in node.notes]


def test_the_same_seed_plays_out_the_same() -> None:
    a, rides_a = run_city(seed=3)
    b, rides_b = run_city(seed=3)
    assert rides_a == rides_b
    assert _story(a) == _story(b)
    # Every action, every byte published or sent, in the same order at the same times.
    assert a.trace == b.trace
    assert {n: x.peer.balances() for n, x in a.nodes.items()} == {
        n: x.peer.balances() for n, x in b.nodes.items()
    }
