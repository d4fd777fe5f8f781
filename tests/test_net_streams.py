"""Direct streams between real py-libp2p hosts on loopback: frames, limits, shutdown."""

from __future__ import annotations

import contextlib
import socket

import multiaddr
import pytest
import trio
from libp2p import new_host
from libp2p.crypto.secp256k1 import create_new_key_pair as new_secp256k1_key_pair
from libp2p.crypto.x25519 import create_new_key_pair as new_x25519_key_pair
from libp2p.custom_types import TProtocol
from libp2p.host.exceptions import StreamFailure
from libp2p.network.exceptions import SwarmException
from libp2p.network.stream.exceptions import StreamError
from libp2p.peer.peerinfo import info_from_p2p_addr
from libp2p.security.insecure.transport import PLAINTEXT_PROTOCOL_ID, InsecureTransport
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_PROTOCOL_ID
from libp2p.security.noise.transport import Transport as NoiseTransport

from lazooz.net import RIDE, SYNC, FrameTooLarge, NetConfig, NetHost, StreamTimeouts, open_host
from lazooz.net.frames import HEADER, encode
from lazooz.net.keys import key_pair_of, peer_id_of
from lazooz.net.testing import Recorder
from protocol.identity import Identity

CONFIG = NetConfig()


def identity(n: int) -> Identity:
    return Identity.from_seed(bytes([n]) * 32)


async def link(a: NetHost, b: NetHost) -> None:
    assert await a.connect(b.addrs[0]) == b.peer_key


@pytest.mark.trio
async def test_frames_round_trip_on_both_channels_from_the_authenticated_sender() -> None:
    ra, rb = Recorder(), Recorder()
    ride_max = b"r" * RIDE.max_frame_bytes
    sync_max = b"s" * SYNC.max_frame_bytes
    async with (
        open_host(identity(1), CONFIG, ra.handlers()) as a,
        open_host(identity(2), CONFIG, rb.handlers()) as b,
    ):
        await link(a, b)
        assert await a.send(b.peer_key, "ride", b"propose")
        assert await a.send(b.peer_key, "sync", b"want")
        assert await a.send(b.peer_key, "ride", ride_max)
        await rb.wait_until(lambda: len(rb.frames) == 3)
        assert sorted(rb.frames) == sorted(
            [
                (a.peer_key, "ride", b"propose"),
                (a.peer_key, "sync", b"want"),
                (a.peer_key, "ride", ride_max),
            ]
        )
        # Frames on one stream keep their order.
        assert [d for _, c, d in rb.frames if c == "ride"] == [b"propose", ride_max]
        # The replies reuse the streams A opened: no new stream is needed.
        streams = b.stream_count()
        assert await b.send(a.peer_key, "ride", b"accept")
        assert await b.send(a.peer_key, "sync", sync_max)
        await ra.wait_until(lambda: len(ra.frames) == 2)
        assert sorted(ra.frames) == sorted(
            [(b.peer_key, "ride", b"accept"), (b.peer_key, "sync", sync_max)]
        )
        assert b.stream_count() == streams == 2
        assert a.counters["ride", "frames_out"] == 2
        assert b.counters["sync", "frames_in"] == 1


@pytest.mark.trio
async def test_an_oversized_frame_is_refused_and_the_host_keeps_serving() -> None:
    ra, rb = Recorder(), Recorder()
    async with (
        open_host(identity(1), CONFIG, ra.handlers()) as a,
        open_host(identity(2), CONFIG, rb.handlers()) as b,
    ):
        await link(a, b)
        # Below the lazooz API, which refuses to send such a frame: a raw stream.
        raw = await a._host.new_stream(b.peer_id, [RIDE.protocol])
        await raw.write(HEADER.pack(RIDE.max_frame_bytes + 1) + b"x" * 100)
        await rb.wait_until(lambda: rb.counts["ride", "oversized"] == 1)
        # B reset the stream: A's end reports it gone.
        with trio.fail_after(10), pytest.raises(StreamError):
            while True:
                await raw.read(1)
        assert rb.frames == []
        assert await a.send(b.peer_key, "ride", b"propose")
        assert await b.send(a.peer_key, "ride", b"accept")
        await rb.wait_until(lambda: rb.frames == [(a.peer_key, "ride", b"propose")])
        await ra.wait_until(lambda: ra.frames == [(b.peer_key, "ride", b"accept")])


@pytest.mark.trio
async def test_sending_an_oversized_frame_raises_and_sends_nothing() -> None:
    async with open_host(identity(1), CONFIG, Recorder().handlers()) as a:
        with pytest.raises(FrameTooLarge):
            await a.send(identity(2).public_key, "ride", b"x" * (RIDE.max_frame_bytes + 1))
        assert a.stream_count() == 0


@pytest.mark.trio
async def test_a_frame_that_stalls_midway_times_out() -> None:
    rb = Recorder()
    quick = NetConfig(streams=StreamTimeouts(frame_s=0.2))
    async with (
        open_host(identity(1), CONFIG, Recorder().handlers()) as a,
        open_host(identity(2), quick, rb.handlers()) as b,
    ):
        await link(a, b)
        raw = await a._host.new_stream(b.peer_id, [SYNC.protocol])
        await raw.write(encode(b"whole frame") + HEADER.pack(10) + b"half")
        await rb.wait_until(lambda: rb.counts["sync", "read_timeout"] == 1)
        assert rb.frames == [(a.peer_key, "sync", b"whole frame")]


@pytest.mark.trio
async def test_an_idle_stream_is_closed_and_a_new_one_opened_on_demand() -> None:
    ra, rb = Recorder(), Recorder()
    idle = NetConfig(streams=StreamTimeouts(idle_s=0.2))
    async with (
        open_host(identity(1), CONFIG, ra.handlers()) as a,
        open_host(identity(2), idle, rb.handlers()) as b,
    ):
        await link(a, b)
        assert await a.send(b.peer_key, "ride", b"one")
        await rb.wait_until(lambda: len(rb.frames) == 1)
        # B closes the stream after 0.2 s of silence, and A's reader sees it end.
        await rb.wait_until(lambda: rb.counts["ride", "idle_closed"] == 1)
        await ra.wait_until(lambda: ra.counts["ride", "closed_by_peer"] == 1)
        assert a.stream_count() == b.stream_count() == 0
        assert await a.send(b.peer_key, "ride", b"two")
        await rb.wait_until(lambda: len(rb.frames) == 2)
        assert [d for _, _, d in rb.frames] == [b"one", b"two"]


@pytest.mark.trio
async def test_sending_to_an_unreachable_member_returns_false() -> None:
    async with open_host(identity(1), CONFIG, Recorder().handlers()) as a:
        assert not await a.send(identity(9).public_key, "sync", b"heads")
        assert a.counters["sync", "open_failed"] + a.counters["sync", "open_timeout"] == 1


@pytest.mark.trio
async def test_streams_from_a_peer_without_a_member_key_are_refused() -> None:
    rb = Recorder()
    pair = new_secp256k1_key_pair()
    outsider = new_host(
        key_pair=pair,
        sec_opt={
            NOISE_PROTOCOL_ID: NoiseTransport(pair, noise_privkey=new_x25519_key_pair().private_key)
        },
    )
    async with (
        open_host(identity(2), CONFIG, rb.handlers()) as b,
        outsider.run([multiaddr.Multiaddr("/ip4/127.0.0.1/tcp/0")]),
    ):
        await outsider.connect(info_from_p2p_addr(multiaddr.Multiaddr(b.addrs[0])))
        # B resets the stream as soon as it is negotiated, possibly before
        # the outsider hears that it was.
        with contextlib.suppress(StreamFailure):
            raw = await outsider.new_stream(b.peer_id, [RIDE.protocol])
            await raw.write(encode(b"propose"))
        await rb.wait_until(lambda: rb.counts["ride", "not_member"] == 1)
        assert rb.frames == []
        # A connection from a non-member is no member connecting.
        assert rb.connected == []
        await outsider.close()


@pytest.mark.trio
async def test_a_dialler_offering_only_plaintext_is_refused() -> None:
    # py-libp2p's default host accepts /plaintext/2.0.0, whose dialler merely
    # claims a key: anyone could pose as any member. Ours speaks Noise only.
    rb = Recorder()
    pair = key_pair_of(identity(1))
    impostor = new_host(
        key_pair=pair, sec_opt={TProtocol(PLAINTEXT_PROTOCOL_ID): InsecureTransport(pair)}
    )
    async with (
        open_host(identity(2), CONFIG, rb.handlers()) as b,
        impostor.run([multiaddr.Multiaddr("/ip4/127.0.0.1/tcp/0")]),
    ):
        with pytest.raises(SwarmException):
            await impostor.connect(info_from_p2p_addr(multiaddr.Multiaddr(b.addrs[0])))
        assert b.connected_peers() == []
        assert rb.connected == []
        await impostor.close()


@pytest.mark.trio
async def test_connections_are_reported_on_both_ends_once_per_member() -> None:
    ra, rb = Recorder(), Recorder()
    async with open_host(identity(1), CONFIG, ra.handlers()) as a:
        async with open_host(identity(2), CONFIG, rb.handlers()) as b:
            await link(a, b)
            await link(a, b)  # already connected: nothing new
            await ra.wait_until(lambda: ra.connected == [b.peer_key])
            await rb.wait_until(lambda: rb.connected == [a.peer_key])
            assert a.connected_peers() == [b.peer_key]
            b_key = b.peer_key
        await ra.wait_until(lambda: ra.disconnected == [b_key])
        assert a.connected_peers() == []
        assert ra.connected == [b_key]


@pytest.mark.trio
async def test_shutdown_stops_every_task_and_closes_the_listener() -> None:
    root = trio.lowlevel.current_root_task()

    def tasks() -> int:
        def count(task: trio.lowlevel.Task) -> int:
            return 1 + sum(count(t) for n in task.child_nurseries for t in n.child_tasks)

        return count(root)

    before = tasks()
    ra, rb = Recorder(), Recorder()
    async with (
        open_host(identity(1), CONFIG, ra.handlers()) as a,
        open_host(identity(2), CONFIG, rb.handlers()) as b,
    ):
        await a.subscribe("lazooz/1/ledger")
        await b.subscribe("lazooz/1/ledger")
        await link(a, b)
        assert await a.send(b.peer_key, "ride", b"propose")
        assert await a.publish("lazooz/1/ledger", b"heads")
        await rb.wait_until(lambda: rb.frames != [] and rb.gossip != [])
        assert tasks() > before
        port = int(multiaddr.Multiaddr(b.addrs[0]).value_for_protocol("tcp"))
    assert tasks() == before
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port)):
        pass
    assert peer_id_of(a.peer_key) == a.peer_id
