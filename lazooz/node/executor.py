"""Executing the Peer's actions, in the order given (docs/peer.md §11.4).

Each run of consecutive ``Persist`` actions is one ``Store.apply`` in a
worker thread, awaited before the next action, so nothing the Peer shows
anyone can be lost; ``Publish`` and ``Send`` go to the outbox's background
senders; timers to the timer table; ``Subscribe``/``Unsubscribe`` are awaited
on the host; ``Notify`` is logged, counted and broadcast. The Node's task is
the only caller.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import structlog
import trio

from lazooz.node.broadcast import Broadcast
from lazooz.node.contracts import Durable, Net
from lazooz.node.loggable import loggable
from lazooz.node.metrics import NodeMetrics
from lazooz.node.outbox import OutboxLimits, Publisher, Sender
from lazooz.node.timers import Timers
from protocol.peer.actions import (
    Action,
    CancelTimer,
    Notify,
    Persist,
    Publish,
    Send,
    SetTimer,
    Subscribe,
    Unsubscribe,
)
from protocol.peer.notices import CandidatesFound, InputRejected, Notification, ReceiptRecorded
from protocol.peer.peer import Peer

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Outbox:
    """The background senders of publications and frames, counted in the node's metrics."""

    publisher: Publisher
    sender: Sender

    @classmethod
    def open(
        cls,
        net: Net,
        nursery: trio.Nursery,
        limits: OutboxLimits,
        metrics: NodeMetrics,
        publishing: set[tuple[str, bytes]],
    ) -> Outbox:
        """Senders running in ``nursery``; ``publishing`` holds what is being published now."""

        def dropped(what: str, reason: str) -> None:
            metrics.dropped.labels(what, reason).inc()

        def sent(channel: str) -> None:
            metrics.messages_out.labels(channel).inc()

        return cls(
            Publisher(net, nursery, limits, dropped, sent, publishing),
            Sender(net, nursery, limits, dropped, sent),
        )

    def pending(self) -> int:
        return self.publisher.pending() + self.sender.pending()


class Executor:
    """Carries out one Peer's actions on a store, a host and an outbox."""

    def __init__(
        self,
        peer: Peer,
        store: Durable,
        metrics: NodeMetrics,
        timers: Timers,
        notifications: Broadcast,
        net: Net,
        outbox: Outbox,
    ) -> None:
        self._peer = peer
        self._store = store
        self._metrics = metrics
        self._timers = timers
        self._notifications = notifications
        self._net = net
        self._outbox = outbox

    async def execute(self, actions: list[Action]) -> None:
        """Every action, in order; returns once each is done or queued."""
        batch: list[Persist] = []
        rides_changed = rejected = False
        for action in actions:
            if isinstance(action, Persist):
                batch.append(action)
                rides_changed = rides_changed or action.kind == "ride"
                continue
            if batch:
                await self._persist(batch)
                batch = []
            if isinstance(action, Notify):
                rejected = rejected or isinstance(action.event, InputRejected)
            await self._do(action)
        if batch:
            await self._persist(batch)
        if rides_changed:
            self._metrics.set_rides(self._peer.rides())
        if rejected:
            self._metrics.set_rejected(self._peer.rejected())
        self._metrics.timers.set(len(self._timers))

    async def flush(self, flush_s: float) -> None:
        """Give queued publications and frames ``flush_s`` to go out."""
        with trio.move_on_after(flush_s):
            await self._outbox.publisher.wait_sent()
            await self._outbox.sender.wait_sent()
        if self._outbox.pending():
            log.info("stopping with unsent messages", pending=self._outbox.pending())

    async def _persist(self, batch: list[Persist]) -> None:
        started = time.perf_counter()
        # Not cancellable: a batch once begun is finished, and the next action
        # waits for it (§11.4). A StoreError stops the node: going on would
        # show others what may not be on disk.
        await trio.to_thread.run_sync(self._store.apply, batch)
        self._metrics.store_batch_seconds.observe(time.perf_counter() - started)

    async def _do(self, action: Action) -> None:
        match action:
            case Publish(topic, data):
                self._outbox.publisher.put(topic, data)
            case Send(to, channel, data):
                self._outbox.sender.put(to, channel, data)
            case SetTimer(key, at_ms):
                self._timers.set(key, at_ms)
            case CancelTimer(key):
                self._timers.cancel(key)
            case Subscribe(topic):
                await self._net.subscribe(topic)
            case Unsubscribe(topic):
                await self._net.unsubscribe(topic)
            case Notify(event):
                self._notify(event)
            case _:
                raise TypeError(f"action {action!r}: not one the node knows (docs/peer.md §11.3)")

    def _notify(self, event: Notification) -> None:
        kind = type(event).__name__
        self._metrics.notifications.labels(kind).inc()
        if isinstance(event, CandidatesFound):
            self._metrics.matches.inc(len(event.matches))
        elif isinstance(event, ReceiptRecorded):
            self._metrics.receipts.inc()
        level = log.debug if isinstance(event, InputRejected) else log.info
        level("notify", notification=kind, **loggable(event))
        self._notifications.publish(event)
