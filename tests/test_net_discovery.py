"""Finding a member through a peer (Kademlia peer routing) between real py-libp2p hosts on loopback.

A line A–B–C: A and C each know only B. A ride frame from A to C needs C's
address, which A learns by asking B's routing table (docs/node.md,
"Rejoining and finding members").
"""

from __future__ import annotations

import time

import pytest

from lazooz.net import NetConfig, open_host
from lazooz.net.testing import Recorder
from protocol.identity import Identity


def identity(n: int) -> Identity:
    return Identity.from_seed(bytes([n]) * 32)


@pytest.mark.trio
async def test_in_a_line_a_reaches_c_through_what_b_knows() -> None:
    ra, rb, rc = Recorder(), Recorder(), Recorder()
    async with open_host(identity(2), NetConfig(), rb.handlers()) as b:
        line = NetConfig(bootstrap=(b.addrs[0],))
        async with (
            open_host(identity(1), line, ra.handlers()) as a,
            open_host(identity(3), line, rc.handlers()) as c,
        ):
            await rb.wait_until(lambda: rb.counts["discovery", "routed"] == 2)
            assert b.routing_table_size() == 2
            assert not a.is_connected(c.peer_key) and a.peer_addrs(c.peer_key) == []

            started = time.monotonic()
            assert await a.send(c.peer_key, "ride", b"propose")
            took_s = time.monotonic() - started
            await rc.wait_until(lambda: rc.frames == [(a.peer_key, "ride", b"propose")])
            assert a.is_connected(c.peer_key)  # a direct connection now, not through B
            assert ra.counts["discovery", "found"] == 1
            assert a.peer_addrs(c.peer_key) == [c.addrs[0]]
            print(f"found and reached C in {took_s:.2f} s")

            assert await c.send(a.peer_key, "ride", b"accept")  # back on the same connection
            await ra.wait_until(lambda: ra.frames == [(c.peer_key, "ride", b"accept")])
            assert rc.counts["discovery", "found"] == 0


@pytest.mark.trio
async def test_with_discovery_off_or_an_unknown_member_the_send_fails_and_is_counted() -> None:
    ra, rb, rc = Recorder(), Recorder(), Recorder()
    async with open_host(identity(2), NetConfig(), rb.handlers()) as b:
        blind = NetConfig(bootstrap=(b.addrs[0],), discovery=False)
        line = NetConfig(bootstrap=(b.addrs[0],))
        async with (
            open_host(identity(1), blind, ra.handlers()) as a,
            open_host(identity(3), line, rc.handlers()) as c,
        ):
            await rb.wait_until(lambda: {a.peer_key, c.peer_key} <= set(rb.connected))
            assert not await a.send(c.peer_key, "ride", b"propose")
            assert ra.counts["ride", "open_failed"] == 1
            # C looks for a member nobody knows: not found, counted, no frame.
            assert not await c.send(identity(9).public_key, "ride", b"hello")
            assert rc.counts["discovery", "not_found"] == 1
