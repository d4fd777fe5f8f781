"""Circuit relay v2 between real py-libp2p hosts on loopback: what 0.8.1 carries."""

from __future__ import annotations

import pytest

from lazooz.net import NetConfig, open_host
from lazooz.net.testing import Recorder
from protocol.identity import Identity

TOPIC = "lazooz/1/ledger"


def identity(n: int) -> Identity:
    return Identity.from_seed(bytes([n]) * 32)


@pytest.mark.trio
async def test_a_member_reached_only_through_a_relay_gets_frames_and_gossip() -> None:
    rr, ra, rb = Recorder(), Recorder(), Recorder()
    async with open_host(identity(1), NetConfig(relay_hop=True), rr.handlers()) as relay:
        behind = NetConfig(relays=(relay.addrs[0],))
        async with (
            open_host(identity(2), behind, rb.handlers()) as b,
            open_host(identity(3), NetConfig(), ra.handlers()) as a,
        ):
            await rb.wait_until(lambda: rb.counts["dial", "reserved"] == 1)
            (via_relay,) = [addr for addr in b.addrs if "/p2p-circuit/" in addr]
            assert via_relay == f"{relay.addrs[0]}/p2p-circuit/p2p/{b.peer_id}"

            assert await a.connect(via_relay) == b.peer_key
            await rb.wait_until(lambda: a.peer_key in rb.connected)
            conns = a._host.get_network().get_connections(b.peer_id)
            assert conns
            assert all(
                "/p2p-circuit" in str(addr) for c in conns for addr in c.get_transport_addresses()
            )

            # Noise runs end to end: B knows A by A's own key, not the relay's.
            assert await a.send(b.peer_key, "ride", b"propose")
            await rb.wait_until(lambda: rb.frames == [(a.peer_key, "ride", b"propose")])
            assert await b.send(a.peer_key, "ride", b"accept")
            await ra.wait_until(lambda: ra.frames == [(b.peer_key, "ride", b"accept")])

            await a.subscribe(TOPIC)
            await b.subscribe(TOPIC)
            assert await a.publish(TOPIC, b"heads")
            await rb.wait_until(lambda: (TOPIC, b"heads") in rb.gossip)
            # The relay relays bytes, not gossip: it is subscribed to nothing.
            assert rr.gossip == []


@pytest.mark.trio
async def test_a_relayed_dial_to_a_member_without_a_reservation_fails_cleanly() -> None:
    rr, ra = Recorder(), Recorder()
    async with (
        open_host(identity(1), NetConfig(relay_hop=True), rr.handlers()) as relay,
        open_host(identity(3), NetConfig(), ra.handlers()) as a,
    ):
        nobody = f"{relay.addrs[0]}/p2p-circuit/p2p/{a.peer_id}"
        missing = nobody.replace(
            str(a.peer_id), "12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq"
        )
        assert await a.connect(missing) is None
        assert a.counters["dial", "relay_failed"] == 1


@pytest.mark.trio
async def test_hole_punching_adds_a_direct_connection_beside_the_relayed_one() -> None:
    # On loopback every "hole" is open: this shows DCUtR runs and upgrades,
    # not that it gets through a NAT.
    rr, ra, rb = Recorder(), Recorder(), Recorder()
    punch = NetConfig(hole_punch=True)
    async with open_host(identity(1), NetConfig(relay_hop=True), rr.handlers()) as relay:
        behind = NetConfig(relays=(relay.addrs[0],), hole_punch=True)
        async with (
            open_host(identity(2), behind, rb.handlers()) as b,
            open_host(identity(3), punch, ra.handlers()) as a,
        ):
            await rb.wait_until(lambda: rb.counts["dial", "reserved"] == 1)
            (via_relay,) = [addr for addr in b.addrs if "/p2p-circuit/" in addr]
            assert await a.connect(via_relay) == b.peer_key

            def direct() -> list[str]:
                conns = a._host.get_network().get_connections(b.peer_id)
                addrs = [str(x) for c in conns for x in c.get_transport_addresses()]
                return [x for x in addrs if "/p2p-circuit" not in x]

            await ra.wait_until(lambda: direct() != [], timeout_s=20)
            assert direct()[0].startswith("/ip4/127.0.0.1/tcp/")
            assert await a.send(b.peer_key, "sync", b"heads")
            await rb.wait_until(lambda: rb.frames == [(a.peer_key, "sync", b"heads")])
