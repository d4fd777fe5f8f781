"""A ride between members who share no connection: a line A–B–C of real daemons on loopback.

The rider A and the driver C each bootstrap to B alone. C's offer reaches A
through B's gossip; A's proposal needs a ride stream to C, whose address A
finds by asking B (Kademlia peer routing, docs/node.md "Rejoining and
finding members"), then dials directly.
"""

from __future__ import annotations

import time

import pytest

from tests.node_swarm import Swarm
from tests.test_node_e2e import connected, in_state, match, to_confirmed


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


@pytest.mark.slow
def test_a_rider_reaches_a_driver_it_has_no_connection_to_through_a_common_peer(
    swarm: Swarm,
) -> None:
    hub = swarm.add("hub")
    swarm.start(hub)
    driver = swarm.add("driver", bootstrap=[hub.addr()])
    rider = swarm.add("rider", bootstrap=[hub.addr()])
    swarm.start(driver, rider)
    swarm.wait("both ends connected to the hub", lambda: connected(hub, 2))
    assert driver.public_key not in {p["public_key"] for p in rider.get("/v1/peers")}

    started = time.monotonic()
    _, _, ride_id = match(swarm, driver, rider)
    proposed_at = time.monotonic()
    swarm.wait("the proposal at the driver", lambda: in_state(driver, ride_id, "proposed"))
    reached_s = time.monotonic() - proposed_at
    pin = to_confirmed(swarm, driver, rider, ride_id)
    assert len(pin) == 4

    found = 'lazooz_net_events_total{area="discovery",what="found"}'
    assert metric(rider.metrics(), found) >= 1
    assert driver.public_key in {p["public_key"] for p in rider.get("/v1/peers")}
    print(f"match {proposed_at - started:.1f} s; proposal at the driver {reached_s:.2f} s later")
    codes = swarm.stop_all()
    assert set(codes.values()) == {0}, codes
