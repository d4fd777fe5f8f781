"""The Node's own rules, on a fake network and a recording store: the order and
grouping of actions, timers, background senders, the validator hook, commands
and stopping. The real network and store are in test_node_ride.py."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

import pytest
import trio
import trio.testing

from lazooz.control.handle import NodeHandle
from lazooz.node import Node, NodeLimits, NodeStopped, OutboxLimits, WallClock
from lazooz.node.handle import DaemonHandle
from lazooz.node.metrics import NodeMetrics, serve
from lazooz.node.outbox import Sender
from lazooz.node.timers import Timers
from protocol.errors import ConfigError
from protocol.fields import PublicKey
from protocol.identity import Identity
from protocol.peer.actions import Action, Channel, Notify, Persist, Publish, Send, TimerKey
from protocol.peer.errors import UnknownId
from protocol.peer.notices import OwnClosed
from protocol.peer.params import MINUTE_MS
from protocol.peer.peer import Peer
from tests.test_peer_net import TEL_AVIV

ALICE = Identity.from_seed(b"\x01" * 32)
BOB = PublicKey(Identity.from_seed(b"\x02" * 32).public_key)
CAROL = PublicKey(Identity.from_seed(b"\x03" * 32).public_key)


class RecordingStore:
    """Records each batch; ``slow_s`` makes every apply block its worker thread that long."""

    def __init__(self, slow_s: float = 0.0) -> None:
        self.slow_s = slow_s
        self.batches: list[list[Persist]] = []
        #: ``(event, monotonic time)``: ``apply start``, ``apply end``.
        self.log: list[tuple[str, float]] = []
        self.threads: set[int] = set()

    def apply(self, persists: Iterable[Persist]) -> int:
        self.threads.add(threading.get_ident())
        self.log.append(("apply start", time.monotonic()))
        batch = list(persists)
        time.sleep(self.slow_s)  # a slow disk, simulated: the delay is the point
        self.batches.append(batch)
        self.log.append(("apply end", time.monotonic()))
        return len(batch)


class FakeNet:
    """Records what the Node asks of the host; ``hold`` blocks a topic or a destination."""

    def __init__(self, publish_ok: bool = True) -> None:
        self.publish_ok = publish_ok
        self.subscribed: list[str] = []
        self.published: list[tuple[str, bytes, float]] = []
        self.sent: list[tuple[PublicKey, Channel, bytes, float]] = []
        self.hold: dict[object, trio.Event] = {}
        #: Destinations whose send is blocked on ``hold`` now, one entry per send.
        self.waiting: list[PublicKey] = []

    async def subscribe(self, topic: str) -> None:
        self.subscribed.append(topic)

    async def unsubscribe(self, topic: str) -> None:
        self.subscribed.remove(topic)

    async def publish(self, topic: str, data: bytes, timeout_s: float | None = None) -> bool:
        if topic in self.hold:
            await self.hold[topic].wait()
        self.published.append((topic, data, time.monotonic()))
        return self.publish_ok

    async def send(self, to: PublicKey, channel: Channel, data: bytes) -> bool:
        if to in self.hold:
            self.waiting.append(to)
            await self.hold[to].wait()
        self.sent.append((to, channel, data, time.monotonic()))
        return True


@asynccontextmanager
async def running(
    store: RecordingStore | None = None,
    net: FakeNet | None = None,
    limits: NodeLimits | None = None,
) -> AsyncIterator[tuple[Node, RecordingStore, FakeNet]]:
    store = store or RecordingStore()
    net = net or FakeNet()
    node = Node(Peer(ALICE, TEL_AVIV, random.Random(1)), store, limits=limits)
    async with trio.open_nursery() as nursery:
        await nursery.start(node.run, net)
        yield node, store, net
        node.stop()


async def settle(condition: object, rounds: int = 5_000) -> None:
    """``until`` for a frozen ``MockClock`` (its ``fail_after`` would never fire):
    wait until ``condition()`` holds, at most ``rounds`` times all tasks blocked."""
    assert callable(condition)
    for _ in range(rounds):
        if condition():
            return
        await trio.testing.wait_all_tasks_blocked(cushion=0.001)
    raise AssertionError(f"still false after {rounds} rounds: {condition}")


async def until(condition: object, timeout_s: float = 5.0) -> None:
    """Wait until ``condition()`` holds, checking each time every task is blocked.

    Store batches run in worker threads, which do not count as blocked tasks'
    work: the small cushion lets a thread's result wake its task first.
    """
    assert callable(condition)
    with trio.fail_after(timeout_s):
        while not condition():
            await trio.testing.wait_all_tasks_blocked(cushion=0.001)


def persist(key: bytes) -> Persist:
    return Persist("ride", key, b"journal " + key)


# -- order and grouping of actions


@pytest.mark.trio
async def test_consecutive_persists_are_one_batch_made_durable_before_the_next_action() -> None:
    async with running(RecordingStore(slow_s=0.1)) as (node, store, net):
        before = len(store.batches)
        actions: list[Action] = [
            persist(b"a"),
            persist(b"b"),
            Send(BOB, "ride", b"after a and b"),
            persist(b"c"),
            Publish("lazooz/1/ledger", b"after c"),
        ]
        await node.command(lambda p, now: actions)
        assert [[x.key for x in batch] for batch in store.batches[before:]] == [
            [b"a", b"b"],
            [b"c"],
        ]
        await until(lambda: net.sent and net.published)
        ends = [t for event, t in store.log if event == "apply end"]
        assert net.sent[0][3] >= ends[-2]  # the send went after a+b were durable
        assert net.published[0][2] >= ends[-1]  # the publish after c
        # Batches are written from worker threads, never trio's own.
        assert threading.get_ident() not in store.threads


@pytest.mark.trio
async def test_start_subscribes_the_home_area_and_the_ledger_and_sets_the_peer_timers() -> None:
    async with running() as (node, _, net):
        assert "lazooz/1/ledger" in net.subscribed
        rides = [t for t in net.subscribed if t.startswith("lazooz/1/rides/")]
        # listen="all": both sides of home + 1 ring
        assert sorted(t.rsplit("/", 1)[1] for t in rides) == ["offers"] * 7 + ["requests"] * 7
        assert ("sweep",) in node.timers and ("heads",) in node.timers


@pytest.mark.trio
async def test_a_peer_timer_fires_and_is_set_again(mock_clock: trio.testing.MockClock) -> None:
    async with running() as (node, _, _):
        first = node.timers.at_ms(("sweep",))
        assert first is not None
        # To the sweep deadline, a sweep period after start (WallClock wakes 1 ms late).
        mock_clock.jump(MINUTE_MS / 1000 + 0.001)
        await settle(lambda: node.timers.at_ms(("sweep",)) != first)
        again = node.timers.at_ms(("sweep",))
        assert again is not None  # fired, and re-armed a sweep period after it fired
        assert first + MINUTE_MS <= again <= first + MINUTE_MS + 5


# -- timers


@pytest.mark.trio
async def test_timers_fire_once_in_deadline_order_replaced_and_cancelled_ones_not(
    mock_clock: trio.testing.MockClock,
) -> None:
    clock = WallClock(epoch_ms=1_000_000)
    timers = Timers(clock)
    fired: list[tuple[TimerKey, int]] = []

    async def fire(key: TimerKey, now_ms: int) -> None:
        fired.append((key, now_ms))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(timers.run, fire)
        timers.set(("a",), 1_005_000)
        timers.set(("b",), 1_001_000)
        timers.set(("c",), 1_002_000)
        timers.set(("a",), 1_003_000)  # replaces a at 1_005_000
        timers.cancel(("c",))
        mock_clock.jump(2.5)
        await settle(lambda: len(fired) == 1)
        timers.set(("d",), 1_000_000)  # already due: fires at once
        await settle(lambda: len(fired) == 2)
        mock_clock.jump(10)
        await settle(lambda: len(fired) == 3)
        await trio.testing.wait_all_tasks_blocked()  # and nothing more fires
        nursery.cancel_scope.cancel()
    assert [key for key, _ in fired] == [("b",), ("d",), ("a",)]
    due: dict[TimerKey, int] = {("a",): 1_003_000, ("b",): 1_001_000, ("d",): 1_000_000}
    for key, now_ms in fired:
        assert now_ms >= due[key]  # never early
    assert len(timers) == 0


# -- background senders


@pytest.mark.trio
async def test_a_topic_without_peers_holds_up_no_other_topic_and_order_is_kept_per_topic() -> None:
    net = FakeNet()
    net.hold["lazooz/1/rides/a"] = trio.Event()
    async with running(net=net) as (node, _, _):
        await node.command(
            lambda p, now: [
                Publish("lazooz/1/rides/a", b"a1"),
                Publish("lazooz/1/ledger", b"l1"),
                Publish("lazooz/1/rides/a", b"a2"),
                Publish("lazooz/1/ledger", b"l2"),
            ]
        )
        await until(lambda: len(net.published) == 2)
        assert [d for _, d, _ in net.published] == [b"l1", b"l2"]
        net.hold["lazooz/1/rides/a"].set()
        await until(lambda: len(net.published) == 4)
        assert [d for _, d, _ in net.published][2:] == [b"a1", b"a2"]
        assert node.metrics.value("lazooz_messages_out_total", {"channel": "gossip"}) == 4


@pytest.mark.trio
async def test_a_slow_member_stalls_no_other_and_a_full_queue_drops_and_counts() -> None:
    net = FakeNet()
    net.hold[BOB] = trio.Event()
    limits = NodeLimits(outbox=OutboxLimits(send_queue=2))
    async with running(net=net, limits=limits) as (node, _, _):
        # Bob's task holds one frame in hand; two more fill his queue; the fourth is dropped.
        frames: list[Action] = [Send(BOB, "ride", bytes([i])) for i in range(4)]
        await node.command(lambda p, now: frames[:1])
        await until(lambda: BOB in net.waiting)
        await node.command(lambda p, now: [*frames[1:], Send(CAROL, "sync", b"to carol")])
        await until(lambda: len(net.sent) == 1)
        assert net.sent[0][:3] == (CAROL, "sync", b"to carol")
        assert (
            node.metrics.value("lazooz_dropped_total", {"what": "send", "reason": "queue_full"})
            == 1
        )
        net.hold[BOB].set()
        await until(lambda: len(net.sent) == 4)
        assert [d for to, _, d, _ in net.sent if to == BOB] == [b"\x00", b"\x01", b"\x02"]


@pytest.mark.trio
async def test_a_member_idle_long_enough_loses_its_task_and_a_later_frame_starts_one(
    mock_clock: trio.testing.MockClock,
) -> None:
    net, sent = FakeNet(), list[str]()
    async with trio.open_nursery() as nursery:
        limits = OutboxLimits(send_idle_s=1.0)
        sender = Sender(net, nursery, limits, lambda what, why: None, sent.append)
        sender.put(BOB, "ride", b"1")
        await settle(lambda: sent == ["ride"])
        assert sender.destinations() == 1  # Bob's task waits for more
        mock_clock.jump(5)  # past send_idle_s
        await settle(lambda: sender.destinations() == 0)
        sender.put(BOB, "ride", b"2")
        sender.put(BOB, "ride", b"3")
        await settle(lambda: len(net.sent) == 3)
        assert sender.destinations() == 1  # a new task for Bob
        assert [d for _, _, d, _ in net.sent] == [b"1", b"2", b"3"]
        nursery.cancel_scope.cancel()


@pytest.mark.trio
async def test_a_publish_that_did_not_go_out_is_counted() -> None:
    async with running(net=FakeNet(publish_ok=False)) as (node, _, net):
        await node.command(lambda p, now: [Publish("lazooz/1/ledger", b"x")])
        await until(lambda: net.published)
        labels = {"what": "publish", "reason": "not_sent"}
        await until(lambda: node.metrics.value("lazooz_dropped_total", labels) == 1)


# -- the validator hook


@pytest.mark.trio
async def test_the_validator_asks_the_peer_and_counts_its_rejections_by_reason() -> None:
    async with running() as (node, _, _):
        validate = node.handlers().validate
        assert validate("lazooz/1/ledger", b"\xc1 not msgpack") is False
        assert validate("some/other/topic", b"x") is False
        rejected = {
            labels["reason"]: v
            for name, labels, v in _samples(node, "lazooz_rejected_total")
            if labels["channel"] == "gossip"
        }
        assert rejected.keys() >= {"wrong_topic"}
        assert sum(rejected.values()) == 2
        assert dict(node.peer.rejected()) == {("gossip", r): int(n) for r, n in rejected.items()}


@pytest.mark.trio
async def test_the_validator_refuses_gossip_while_the_peer_is_behind() -> None:
    node = Node(
        Peer(ALICE, TEL_AVIV, random.Random(1)),
        RecordingStore(),
        limits=NodeLimits(gossip_backlog=1),
    )
    handlers = node.handlers()
    handlers.gossip("lazooz/1/ledger", b"queued, not handled: the node is not running")
    assert handlers.validate("lazooz/1/ledger", b"anything") is False
    assert (
        node.metrics.value("lazooz_dropped_total", {"what": "input", "reason": "gossip_backlog"})
        == 1
    )
    assert node.peer.rejected() == {}  # refused before the Peer saw it


# -- commands and stopping


@pytest.mark.trio
async def test_a_bad_command_raises_to_its_caller_and_the_node_goes_on() -> None:
    async with running() as (node, store, _):
        before = len(store.batches)
        with pytest.raises(UnknownId):
            await node.command(lambda p, now: p.accept(b"\x00" * 16, now))
        assert len(store.batches) == before
        assert await node.query(lambda p: p.rides()) == []


@pytest.mark.trio
async def test_a_notification_reaches_every_subscriber() -> None:
    async with running() as (node, _, _):
        note = OwnClosed("offer", b"\x01" * 16, "withdrawn")
        with node.notifications.subscribe() as one, node.notifications.subscribe() as two:
            await node.command(lambda p, now: [Notify(note)])
            for channel in (one, two):
                assert channel.receive_nowait() == note
        assert node.metrics.value("lazooz_notifications_total", {"kind": "OwnClosed"}) == 1


@pytest.mark.trio
async def test_after_stop_commands_are_refused_and_run_returns() -> None:
    async with running() as (node, _, _):
        node.stop()
        with pytest.raises(NodeStopped):
            await node.command(lambda p, now: [])
        with trio.fail_after(5):
            await node.wait_stopped()


@pytest.mark.trio
async def test_stop_finishes_the_input_at_hand_with_its_persists() -> None:
    store = RecordingStore(slow_s=0.2)
    async with running(store=store) as (node, _, net):
        before = len(store.batches)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(
                node.command, lambda p, now: [persist(b"x"), Send(BOB, "ride", b"after x")]
            )
            await until(lambda: bool(store.log) and store.log[-1][0] == "apply start")
            node.stop()
        await node.wait_stopped()
        assert [b.key for b in store.batches[before][:1]] == [b"x"]
        assert [d for _, _, d, _ in net.sent] == [b"after x"]  # flushed before the node stopped


def _samples(node: Node, name: str) -> list[tuple[str, dict[str, str], float]]:
    return [
        (s.name, s.labels, s.value)
        for family in node.metrics.registry.collect()
        for s in family.samples
        if s.name == name
    ]


# -- the control API's handle


@pytest.mark.trio
async def test_the_daemon_handle_is_the_control_apis_node_handle_over_a_running_node() -> None:
    async with running() as (node, store, _):
        handle: NodeHandle = DaemonHandle(node, peer_id="12D3KooWtest", store_path="/x/lazooz.db")
        assert await handle.call(lambda p, now: (p.member_id, [])) == ALICE.member_id
        before = len(store.batches)
        assert await handle.call(lambda p, now: (7, [persist(b"via handle")])) == 7
        assert [b.key for b in store.batches[before]] == [b"via handle"]
        with pytest.raises(UnknownId):
            await handle.call(lambda p, now: (None, p.accept(b"\x00" * 16, now)))
        note = OwnClosed("request", b"\x02" * 16, "expired")
        async with handle.subscribe() as notes:
            await handle.call(lambda p, now: (None, [Notify(note)]))
            assert notes.receive_nowait() == note
        status = handle.status()
        assert (status.member_id, status.peer_id, status.store_path) == (
            ALICE.member_id,
            "12D3KooWtest",
            "/x/lazooz.db",
        )
        assert status.connected == () and status.uptime_s >= 0


def test_a_metrics_port_in_use_is_a_config_error_naming_the_key() -> None:
    first = serve(NodeMetrics(), "127.0.0.1", 0)
    try:
        with pytest.raises(ConfigError, match=rf"metrics.port={first.port}: cannot serve"):
            serve(NodeMetrics(), "127.0.0.1", first.port)
    finally:
        first.close()
