"""Gossip between real py-libp2p hosts on loopback: delivery, validation, publishing."""

from __future__ import annotations

import pytest
import trio

from lazooz.net import NetConfig, NetHost, open_host
from lazooz.net.testing import Recorder
from protocol.errors import ConfigError
from protocol.identity import Identity

TOPIC = "lazooz/1/rides/85283473fffffff/offers"
CONFIG = NetConfig()


def identity(n: int) -> Identity:
    return Identity.from_seed(bytes([n]) * 32)


async def link(a: NetHost, b: NetHost) -> None:
    assert await a.connect(b.addrs[0]) == b.peer_key


async def meshed(*hosts: NetHost, topic: str = TOPIC) -> None:
    for host in hosts:
        assert await host.wait_for_peers(topic, timeout_s=10)


@pytest.mark.trio
async def test_gossip_published_by_a_reaches_b_on_a_subscribed_topic() -> None:
    ra, rb = Recorder(), Recorder()
    async with (
        open_host(identity(1), CONFIG, ra.handlers()) as a,
        open_host(identity(2), CONFIG, rb.handlers()) as b,
    ):
        await a.subscribe(TOPIC)
        await b.subscribe(TOPIC)
        await link(a, b)
        assert await a.publish(TOPIC, b"offer 1")
        await rb.wait_until(lambda: (TOPIC, b"offer 1") in rb.gossip)
        # B validated it once; A validated its own publication but was not handed it back.
        assert [v for v in rb.validated if v[1] == b"offer 1"] == [(TOPIC, b"offer 1", True)]
        assert (TOPIC, b"offer 1", True) in ra.validated
        assert ra.gossip == []
        assert b.counters["gossip", "delivered"] == 1


@pytest.mark.trio
async def test_a_refused_message_is_neither_delivered_nor_forwarded() -> None:
    # A - B - C in a line: C hears A only through B.
    ra = Recorder()
    rb = Recorder(validate=lambda topic, data: not data.startswith(b"forged"))
    rc = Recorder()
    async with (
        open_host(identity(1), CONFIG, ra.handlers()) as a,
        open_host(identity(2), CONFIG, rb.handlers()) as b,
        open_host(identity(3), CONFIG, rc.handlers()) as c,
    ):
        for host in (a, b, c):
            await host.subscribe(TOPIC)
        await link(a, b)
        await link(c, b)
        await meshed(a, b, c)
        assert await a.publish(TOPIC, b"forged offer")
        await rb.wait_until(lambda: (TOPIC, b"forged offer", False) in rb.validated)
        # Published after the forged one: once C has it, the path A-B-C works.
        assert await a.publish(TOPIC, b"honest offer")
        await rc.wait_until(lambda: (TOPIC, b"honest offer") in rc.gossip)
        assert (TOPIC, b"honest offer") in rb.gossip
        assert all(data != b"forged offer" for _, data in rb.gossip + rc.gossip)
        assert all(data != b"forged offer" for _, data, _ in rc.validated)
        assert b.counters["gossip", "rejected"] == 1


@pytest.mark.trio
async def test_publish_waits_for_peers_and_reports_none_came() -> None:
    rec = Recorder()
    async with open_host(identity(1), CONFIG, rec.handlers()) as a:
        await a.subscribe(TOPIC)
        start = trio.current_time()
        assert not await a.publish(TOPIC, b"offer", timeout_s=0.3)
        assert trio.current_time() - start >= 0.3
        assert a.counters["gossip", "no_peers"] == 1


@pytest.mark.trio
async def test_publish_reports_a_message_its_own_validator_refused() -> None:
    ra = Recorder(validate=lambda topic, data: data != b"bad")
    rb = Recorder()
    async with (
        open_host(identity(1), CONFIG, ra.handlers()) as a,
        open_host(identity(2), CONFIG, rb.handlers()) as b,
    ):
        await a.subscribe(TOPIC)
        await b.subscribe(TOPIC)
        await link(a, b)
        assert not await a.publish(TOPIC, b"bad")
        assert await a.publish(TOPIC, b"good")
        await rb.wait_until(lambda: (TOPIC, b"good") in rb.gossip)
        assert (TOPIC, b"bad") not in rb.gossip
        assert a.counters["gossip", "own_rejected"] == 1


@pytest.mark.trio
async def test_nothing_is_delivered_after_unsubscribing() -> None:
    ledger = "lazooz/1/ledger"
    ra, rb = Recorder(), Recorder()
    async with (
        open_host(identity(1), CONFIG, ra.handlers()) as a,
        open_host(identity(2), CONFIG, rb.handlers()) as b,
    ):
        for host in (a, b):
            await host.subscribe(TOPIC)
            await host.subscribe(ledger)
        await link(a, b)
        await meshed(a, b, topic=ledger)
        assert await a.publish(TOPIC, b"one")
        await rb.wait_until(lambda: (TOPIC, b"one") in rb.gossip)
        await b.unsubscribe(TOPIC)
        assert b.topics == frozenset({ledger})
        await a.publish(TOPIC, b"two", timeout_s=0)
        # B drops a message of a topic it left as it reads it, before it reads
        # anything A sent later: once "heads" is in, "two" is gone for good.
        assert await a.publish(ledger, b"heads")
        await rb.wait_until(lambda: (ledger, b"heads") in rb.gossip)
        assert (TOPIC, b"two") not in rb.gossip
        assert all(data != b"two" for _, data, _ in rb.validated)


@pytest.mark.trio
async def test_bootstrap_peers_are_dialled_at_start() -> None:
    ra, rb = Recorder(), Recorder()
    async with open_host(identity(1), CONFIG, ra.handlers()) as a:
        config = NetConfig(bootstrap=(a.addrs[0],))
        async with open_host(identity(2), config, rb.handlers()) as b:
            await rb.wait_until(lambda: rb.connected == [a.peer_key])
            await ra.wait_until(lambda: ra.connected == [b.peer_key])
            assert b.connected_peers() == [a.peer_key]


@pytest.mark.parametrize(
    ("config", "field"),
    [
        (NetConfig(listen=("/ip4/127.0.0.1/tcp/nope",)), "listen[0]"),
        (NetConfig(listen=()), "listen"),
        (NetConfig(bootstrap=("/ip4/127.0.0.1/tcp/4001",)), "bootstrap[0]"),
        (NetConfig(degree_low=7), "degree"),
    ],
)
@pytest.mark.trio
async def test_a_bad_config_value_is_refused_naming_it(config: NetConfig, field: str) -> None:
    with pytest.raises(ConfigError, match=rf"^{field.replace('[', '.').replace(']', '.')}="):
        async with open_host(identity(1), config, Recorder().handlers()):
            pass
