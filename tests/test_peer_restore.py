"""A Peer rebuilt from its store carries on: open offers, rides in progress, its ledger."""

from __future__ import annotations

import random

import pytest

from protocol.errors import StoreError
from protocol.identity import Identity
from protocol.peer.notices import RideUpdated
from protocol.peer.params import MINUTE_MS
from protocol.peer.peer import Peer
from protocol.ride.actions import Notice
from protocol.ride.states import RideState
from tests.strategies import NOW_MS
from tests.test_peer_net import TEL_AVIV, Net, notes_of
from tests.test_peer_rides import proposed_pair


def views(net: Net, name: str) -> dict[bytes, tuple[RideState, str | None]]:
    return {r.ride_id: (r.state, r.pin) for r in net.peer(name).rides()}


def test_a_rider_restarted_mid_ride_finishes_it_and_both_logs_agree() -> None:
    net, ride_id = proposed_pair()
    driver = net.peer("driver")
    net.run("driver", driver.accept(ride_id, net.now_ms))
    net.run_for(1_000)
    net.run("driver", driver.confirm(ride_id, net.now_ms))
    net.run_for(1_000)
    before = views(net, "rider")
    assert before[ride_id][0] is RideState.CONFIRMED

    # The rider's phone restarts: the same state comes back from the store.
    rider = net.restart("rider", seed=77)
    assert views(net, "rider") == before
    assert [r.status for r in rider.peer.own_requests()] == ["booked"]
    net.run_for(1_000)
    assert driver.rejected() == {}  # the resent messages were known duplicates

    pin = before[ride_id][1]
    assert pin is not None
    net.run_until(NOW_MS + 15 * MINUTE_MS)
    net.run("driver", driver.pickup(ride_id, pin, net.now_ms))
    net.run_for(8 * MINUTE_MS)
    net.run("driver", driver.finish(ride_id, net.now_ms))
    net.run_for(1_000)
    net.run("rider", rider.peer.sign_receipt(ride_id, net.now_ms))
    net.run_for(10 * MINUTE_MS)
    assert views(net, "rider")[ride_id][0] is RideState.DONE
    assert views(net, "driver")[ride_id][0] is RideState.DONE

    # The driver restarts too: its ledger and balances come back identical.
    balances = driver.balances()
    driver2 = net.restart("driver", seed=78).peer
    assert driver2.balances() == balances == rider.peer.balances()
    assert len(driver2.ledger) == 2
    assert next(iter(balances.values())) >= 0
    done = [n for n in notes_of(net["driver"], RideUpdated) if isinstance(n, RideUpdated)]
    assert Notice.DONE in {n.notice for n in done}


def test_export_is_what_the_store_holds() -> None:
    net, _ = proposed_pair()
    net.run_for(2 * MINUTE_MS)
    for name in ("driver", "rider"):
        node = net[name]
        exported = {(p.kind, p.key): p.data for p in node.peer.export()}
        assert exported == node.store, name


def test_a_damaged_store_is_a_store_error_naming_the_record() -> None:
    me = Identity.from_seed(bytes([3]) * 32)
    for record in [
        ("ride", b"\x01", b"\xc1"),
        ("offer", b"\x02", b"\x93\x01\x02\x03"),
        ("entry", b"\x03", b"not an entry"),
    ]:
        with pytest.raises(StoreError, match=f"stored {record[0]}"):
            Peer(me, TEL_AVIV, random.Random(1), stored=[record])  # type: ignore[list-item]
