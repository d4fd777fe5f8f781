"""Outgoing gossip and frames, sent in the background so the Peer's task never waits on the network.

``Publisher`` keeps one queue and one task per topic: the task waits (up to a
timeout) for the topic to have mesh peers, then publishes, so publications
of one topic go out in the order the Peer made them, and a topic without
peers holds up no other. ``Sender`` does the same per destination member:
frames to one member keep their order, and a slow or unreachable member
stalls nobody else; its task ends after it has been idle a while.

Both are best effort, as the Peer expects (docs/peer.md §11.3): a full queue
or a failed publish or send is dropped, logged and counted (``on_drop``),
never retried here; the Peer resends what matters.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import structlog
import trio

from lazooz.net.frames import FrameTooLarge
from lazooz.net.keys import peer_id_of
from protocol.fields import PublicKey
from protocol.peer.actions import Channel

log = structlog.get_logger(__name__)

#: ``on_drop(what, reason)``: ``what`` is ``publish`` or ``send``.
DropHandler = Callable[[str, str], None]
#: ``on_sent(channel)``: ``channel`` is ``gossip``, ``ride`` or ``sync``.
SentHandler = Callable[[str], None]

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


class GossipNet(Protocol):
    async def publish(self, topic: str, data: bytes, timeout_s: float | None = None) -> bool: ...


class StreamNet(Protocol):
    async def send(self, to: PublicKey, channel: Channel, data: bytes) -> bool: ...


@dataclass(frozen=True, slots=True)
class OutboxLimits:
    """Queue sizes and waits of the background senders."""

    #: Publications queued per topic before new ones are dropped.
    publish_queue: int = 256
    #: How long a publication waits for the topic to have mesh peers.
    publish_timeout_s: float = 10.0
    #: Frames queued per destination before new ones are dropped.
    send_queue: int = 256
    #: A destination's task ends after this long with nothing to send.
    send_idle_s: float = 30.0


class _Queues(Generic[K, T]):
    """One bounded queue and one task per key; a task ends when its queue stays empty."""

    def __init__(
        self,
        nursery: trio.Nursery,
        size: int,
        idle_s: float,
        deliver: Callable[[K, T], Awaitable[None]],
    ) -> None:
        self._nursery = nursery
        self._size = size
        self._idle_s = idle_s
        self._deliver = deliver
        self._queues: dict[K, trio.MemorySendChannel[T]] = {}
        self._busy = 0
        #: Set (and replaced) each time an item has been delivered or given up.
        self._delivered = trio.Event()

    def put(self, key: K, item: T) -> bool:
        """Queue ``item`` for ``key``; ``False`` if its queue is full."""
        queue = self._queues.get(key)
        if queue is None:
            queue, out = trio.open_memory_channel[T](self._size)
            self._queues[key] = queue
            self._nursery.start_soon(self._drain, key, out)
        try:
            queue.send_nowait(item)
        except trio.WouldBlock:
            return False
        return True

    def keys(self) -> int:
        """Keys with a task now: one per key until its queue stays empty ``idle_s``."""
        return len(self._queues)

    def pending(self) -> int:
        """Items queued or being delivered, all keys."""
        return self._busy + sum(q.statistics().current_buffer_used for q in self._queues.values())

    async def wait_empty(self) -> None:
        """Return once nothing is queued or being delivered."""
        while self.pending():
            await self._delivered.wait()

    async def _drain(self, key: K, out: trio.MemoryReceiveChannel[T]) -> None:
        while True:
            item: T | None = None
            with trio.move_on_after(self._idle_s):
                item = await out.receive()
            if item is None:
                if out.statistics().current_buffer_used:
                    continue  # an item came as the wait timed out
                # Idle. No await between the check and this: a later put
                # starts a fresh task, and no item is left behind or reordered.
                del self._queues[key]
                return
            await self._one(key, item)

    async def _one(self, key: K, item: T) -> None:
        self._busy += 1
        try:
            await self._deliver(key, item)
        finally:
            self._busy -= 1
            self._delivered.set()
            self._delivered = trio.Event()


class Publisher:
    """Publishes in the background, in order per topic."""

    def __init__(
        self,
        net: GossipNet,
        nursery: trio.Nursery,
        limits: OutboxLimits,
        on_drop: DropHandler,
        on_sent: SentHandler,
        publishing: set[tuple[str, bytes]],
    ) -> None:
        self._net = net
        self._limits = limits
        self._on_drop = on_drop
        self._on_sent = on_sent
        #: What this node is publishing right now: its own gossip validator
        #: passes these without asking the Peer (``Node.validate``).
        self._publishing = publishing
        # Topic tasks stay: topics are few (the area's cells and the ledger).
        self._queues: _Queues[str, bytes] = _Queues(
            nursery, limits.publish_queue, float("inf"), self._publish
        )

    def put(self, topic: str, data: bytes) -> None:
        if not self._queues.put(topic, data):
            self._on_drop("publish", "queue_full")
            log.warning("publish dropped: queue full", topic=topic)

    def pending(self) -> int:
        return self._queues.pending()

    async def wait_sent(self) -> None:
        """Return once every queued publication went out (or was given up)."""
        await self._queues.wait_empty()

    async def _publish(self, topic: str, data: bytes) -> None:
        self._publishing.add((topic, data))
        try:
            ok = await self._net.publish(topic, data, self._limits.publish_timeout_s)
        finally:
            self._publishing.discard((topic, data))
        if ok:
            self._on_sent("gossip")
        else:
            # The host has logged and counted why (no peers, or refused).
            self._on_drop("publish", "not_sent")


class Sender:
    """Sends frames in the background, in order per destination member."""

    def __init__(
        self,
        net: StreamNet,
        nursery: trio.Nursery,
        limits: OutboxLimits,
        on_drop: DropHandler,
        on_sent: SentHandler,
    ) -> None:
        self._net = net
        self._on_drop = on_drop
        self._on_sent = on_sent
        self._queues: _Queues[PublicKey, tuple[Channel, bytes]] = _Queues(
            nursery, limits.send_queue, limits.send_idle_s, self._send
        )

    def put(self, to: PublicKey, channel: Channel, data: bytes) -> None:
        if not self._queues.put(to, (channel, data)):
            self._on_drop("send", "queue_full")
            log.warning("send dropped: queue full", peer=str(peer_id_of(to)), channel=channel)

    def pending(self) -> int:
        return self._queues.pending()

    def destinations(self) -> int:
        """Members with a sender task now (an idle one ends after ``send_idle_s``)."""
        return self._queues.keys()

    async def wait_sent(self) -> None:
        """Return once every queued frame went out (or was given up)."""
        await self._queues.wait_empty()

    async def _send(self, to: PublicKey, item: tuple[Channel, bytes]) -> None:
        channel, data = item
        try:
            ok = await self._net.send(to, channel, data)
        except FrameTooLarge as exc:
            # The Peer made a frame no receiver takes: a bug to fix, not a reason to stop.
            self._on_drop("send", "too_large")
            log.error("send refused: frame too large", channel=channel, error=str(exc))
            return
        if ok:
            self._on_sent(channel)
        else:
            self._on_drop("send", "not_sent")
