"""The Node: a thin trio shell that runs one Peer on a real network and store.

One task owns the Peer (docs/peer.md §11.14). Every input — gossip
delivered, a stream frame, a connection, a timer, a user command — goes into
one queue, stamped with the node's clock as it arrives, and that task takes
them one at a time: it calls the Peer, then has ``executor`` carry out the
actions returned, in order (§11.4):

- each run of consecutive ``Persist`` actions is one ``Store.apply`` in a
  worker thread, awaited before the next action, so nothing the Peer shows
  anyone can be lost;
- ``Publish`` and ``Send`` are handed to background senders (``outbox``):
  per topic and per destination, in order, best effort, so a topic without
  mesh peers or a slow member never stalls the Peer;
- ``SetTimer``/``CancelTimer`` go to the timer table (``timers``), whose task
  queues ``TimerFired`` inputs;
- ``Subscribe``/``Unsubscribe`` are awaited on the host (they are quick, and
  a later ``Publish`` may need the subscription);
- ``Notify`` is logged, counted and broadcast (``broadcast``) to in-process
  subscribers such as the control API.

The host's gossip validator calls ``Peer.validate_gossip`` directly, outside
the queue: libp2p runs validators synchronously in trio's one thread, so the
call cannot interleave with another Peer call, and it returns a verdict, not
actions, so it cannot break the order of any input's actions (§11.1, §11.7).
The node makes no protocol decision. Its parts: ``contracts`` (what it needs
of host and store, its limits), ``executor``, ``outbox``, ``timers``,
``broadcast``, ``loggable``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, final, overload

import structlog
import trio

from lazooz.net.host import Handlers
from lazooz.net.keys import peer_id_of
from lazooz.node.broadcast import Broadcast
from lazooz.node.clock import WallClock
from lazooz.node.contracts import Call, Durable, Net, NodeLimits, NodeStopped
from lazooz.node.executor import Executor, Outbox
from lazooz.node.loggable import loggable
from lazooz.node.metrics import NodeMetrics
from lazooz.node.timers import Timers
from protocol.errors import LocalError, describe
from protocol.fields import PublicKey
from protocol.identity import member_id
from protocol.peer.actions import (
    Action,
    Channel,
    TimerKey,
)
from protocol.peer.core import LEDGER_TOPIC
from protocol.peer.events import Event, GossipReceived, PeerConnected, StreamReceived, TimerFired
from protocol.peer.gossip import Rejected
from protocol.peer.peer import Peer

if TYPE_CHECKING:
    # libp2p's dependency trio-typing installs trio-stubs, older than trio 0.35,
    # which mypy reads instead of trio's own types; they name it here.
    from trio_typing import TaskStatus

__all__ = ["Durable", "Net", "Node", "NodeLimits", "NodeStopped", "loggable"]

log = structlog.get_logger(__name__)

T = TypeVar("T")


_Input = Event | Call[Any]


@final
class Node:
    """One member's Peer, driven by trio: build it, give ``handlers()`` to the host, ``run`` it."""

    def __init__(
        self,
        peer: Peer,
        store: Durable,
        *,
        clock: WallClock | None = None,
        metrics: NodeMetrics | None = None,
        limits: NodeLimits | None = None,
    ) -> None:
        """Make it inside ``trio.run``. ``peer`` is not started yet (``run`` starts it);
        ``store`` is called from worker threads, one batch at a time."""
        self.peer = peer
        self.store = store
        self.clock = clock or WallClock()
        self.metrics = metrics or NodeMetrics()
        self.limits = limits or NodeLimits()
        #: Notifications, for in-process subscribers (the control API's event stream).
        self.notifications = Broadcast()
        self._timers = Timers(self.clock)
        self._inputs_in, self._inputs_out = trio.open_memory_channel[_Input](self.limits.inputs)
        self._gossip_backlog = 0
        self._publishing: set[tuple[str, bytes]] = set()
        self._connected: set[PublicKey] = set()
        #: Set (and replaced) whenever a member connects or disconnects.
        self._peers_changed = trio.Event()
        self._executor: Executor | None = None
        self._stopping = False
        self._started = trio.Event()
        self._stopped = trio.Event()

    # -- what it is

    @property
    def public_key(self) -> PublicKey:
        return self.peer.public_key

    @property
    def connected(self) -> frozenset[PublicKey]:
        """Members the host has a connection to now."""
        return frozenset(self._connected)

    @property
    def timers(self) -> Timers:
        return self._timers

    async def wait_connected(self, key: PublicKey) -> None:
        """Return once the host has a connection to member ``key``."""
        while key not in self._connected:
            await self._peers_changed.wait()

    async def wait_started(self) -> None:
        await self._started.wait()

    async def wait_stopped(self) -> None:
        await self._stopped.wait()

    # -- the host's side

    def handlers(self) -> Handlers:
        """What ``lazooz.net.open_host`` calls; each returns at once."""
        return Handlers(
            validate=self._validate,
            gossip=self._on_gossip,
            frame=self._on_frame,
            connected=self._on_connected,
            disconnected=self._on_disconnected,
            count=lambda area, what: self.metrics.net.labels(area, what).inc(),
        )

    def _validate(self, topic: str, data: bytes) -> bool:
        if (topic, data) in self._publishing:
            return True  # our own publication, which libp2p validates too
        if self._stopping:
            return False
        if self._gossip_backlog >= self.limits.gossip_backlog:
            self.metrics.dropped.labels("input", "gossip_backlog").inc()
            return False
        verdict = self.peer.validate_gossip(topic, data, self.clock.now_ms())
        if isinstance(verdict, Rejected):
            self.metrics.set_rejected(self.peer.rejected())
            log.debug("gossip rejected", topic=topic, reason=verdict.reason, detail=verdict.detail)
            return False
        return True

    def _on_gossip(self, topic: str, data: bytes) -> None:
        self.metrics.messages_in.labels("gossip").inc()
        if self._put(GossipReceived(self.clock.now_ms(), topic, data)):
            self._gossip_backlog += 1

    def _on_frame(self, key: PublicKey, channel: Channel, data: bytes) -> None:
        self.metrics.messages_in.labels(channel).inc()
        self._put(StreamReceived(self.clock.now_ms(), key, channel, data))

    def _on_connected(self, key: PublicKey) -> None:
        self._connected.add(key)
        self._note_peers_changed()
        self.metrics.peers.set(len(self._connected))
        log.info("peer connected", peer=str(peer_id_of(key)), member=member_id(key))
        self._put(PeerConnected(self.clock.now_ms(), key))

    def _on_disconnected(self, key: PublicKey) -> None:
        self._connected.discard(key)
        self._note_peers_changed()
        self.metrics.peers.set(len(self._connected))
        log.info("peer disconnected", peer=str(peer_id_of(key)), member=member_id(key))

    def _note_peers_changed(self) -> None:
        self._peers_changed.set()
        self._peers_changed = trio.Event()

    def _put(self, event: Event) -> bool:
        try:
            self._inputs_in.send_nowait(event)
        except trio.WouldBlock:
            self.metrics.dropped.labels("input", "queue_full").inc()
            log.warning("input dropped: queue full", input=type(event).__name__)
            return False
        except trio.ClosedResourceError:
            return False  # stopping
        return True

    # -- user commands

    @overload
    async def command(self, fn: Callable[[Peer, int], list[Action]]) -> None: ...
    @overload
    async def command(self, fn: Callable[[Peer, int], tuple[T, list[Action]]]) -> T: ...
    async def command(self, fn: Callable[[Peer, int], Any]) -> Any:
        """Run ``fn(peer, now_ms)`` in the Peer's task, execute its actions, return its value.

        ``fn`` calls one Peer command: it returns the command's actions, or
        ``(value, actions)`` for those that make something (``offer``,
        ``request``, ``propose``), and then ``value`` is returned — once every
        action has been executed (persisted, queued to send). A ``LocalError``
        the Peer raises (a bad command) is raised here, and changed nothing.
        """
        return await self._submit(Call[Any](fn, self.clock.now_ms(), takes_actions=True))

    async def query(self, fn: Callable[[Peer], T]) -> T:
        """Run ``fn(peer)`` (a read: ``rides()``, ``candidates(...)``...) in the Peer's task.

        Its answer reflects every input handled before it, with their actions executed.
        """
        return await self._submit(Call[T](fn, self.clock.now_ms(), takes_actions=False))

    async def _submit(self, call: Call[T]) -> T:
        try:
            await self._inputs_in.send(call)
        except trio.ClosedResourceError:
            raise NodeStopped(describe("node", member_id(self.public_key), "is stopping")) from None
        await call.done.wait()
        return call.answer()

    # -- running

    def stop(self) -> None:
        """Take no more inputs; ``run`` finishes the input at hand, flushes, and returns."""
        if not self._stopping:
            self._stopping = True
            self._inputs_in.close()
            log.info("node stopping", queued=self._inputs_out.statistics().current_buffer_used)

    async def run(
        self, net: Net, *, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Start the Peer and drive it on ``net`` until ``stop``; started once the Peer is."""
        if self._started.is_set() or self._stopped.is_set():
            raise NodeStopped(describe("node", member_id(self.public_key), "runs only once"))
        try:
            async with trio.open_nursery() as nursery:
                self._executor = Executor(
                    self.peer,
                    self.store,
                    self.metrics,
                    self._timers,
                    self.notifications,
                    net,
                    Outbox.open(net, nursery, self.limits.outbox, self.metrics, self._publishing),
                )
                nursery.start_soon(self._timers.run, self._fire)
                await self._execute(self.peer.start(self.clock.now_ms()))
                self.metrics.set_rides(self.peer.rides())
                self.metrics.set_rejected(self.peer.rejected())
                self._started.set()
                task_status.started()
                log.info("node started", member=self.peer.member_id, timers=len(self._timers))
                await self._loop()
                await self._flush()
                nursery.cancel_scope.cancel()
        finally:
            self.stop()
            self._fail_queued()
            self.notifications.close()
            self._stopped.set()
            log.info("node stopped", member=self.peer.member_id)

    async def _loop(self) -> None:
        async for item in self._inputs_out:
            if self._stopping:
                if isinstance(item, Call):
                    item.fail(NodeStopped(describe("node", self.peer.member_id, "is stopping")))
                continue  # network input after stop: dropped, as a crash would
            self.metrics.input_queue.set(self._inputs_out.statistics().current_buffer_used)
            if isinstance(item, Call):
                await self._call(item)
            else:
                if isinstance(item, GossipReceived):
                    self._gossip_backlog -= 1
                await self._execute(self.peer.handle(item))
                if _moves_sync(item):
                    self.metrics.set_sync(self.peer.sync_behind())

    async def _call(self, call: Call[Any]) -> None:
        try:
            result = call.fn(self.peer, call.now_ms) if call.takes_actions else call.fn(self.peer)
        except LocalError as exc:
            call.fail(exc)  # a bad command changes nothing (§11.1)
            return
        except BaseException as exc:
            # A bug in the Peer: its state may be half changed, so stop the node.
            call.fail(exc)
            raise
        if not call.takes_actions:
            call.value = result
        elif isinstance(result, list):
            await self._execute(result)
        else:
            call.value, actions = result
            await self._execute(actions)
        call.done.set()

    async def _fire(self, key: TimerKey, now_ms: int) -> None:
        # Closed: stopping, and the restarted Peer sets its timers again.
        with contextlib.suppress(trio.ClosedResourceError):
            await self._inputs_in.send(TimerFired(now_ms, key))

    def _fail_queued(self) -> None:
        while True:
            try:
                item = self._inputs_out.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel):
                return
            if isinstance(item, Call):
                item.fail(NodeStopped(describe("node", self.peer.member_id, "stopped")))

    async def _flush(self) -> None:
        """Give queued publications and frames ``flush_s`` to go out."""
        assert self._executor is not None
        await self._executor.flush(self.limits.flush_s)

    async def _execute(self, actions: list[Action]) -> None:
        assert self._executor is not None
        await self._executor.execute(actions)


def _moves_sync(event: Event) -> bool:
    """Whether ``event`` may change what sync has yet to fetch: heads heard, entries received."""
    if isinstance(event, StreamReceived):
        return event.channel == "sync"
    return isinstance(event, GossipReceived) and event.topic == LEDGER_TOPIC
