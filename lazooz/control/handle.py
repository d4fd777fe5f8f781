"""What the control API needs of a node: ``NodeHandle``, and ``LocalNode``, an in-process one.

The daemon provides the real ``NodeHandle``: its ``call`` queues ``fn`` for
the one task that owns the Peer, which runs it and executes the actions it
returns — persists durable, sends queued — before ``call`` returns
(docs/peer.md §11.4, docs/node.md "Control API"). ``LocalNode`` runs ``fn``
at once on a Peer of its own and only records the actions: it is what the
CLI's and the API's tests drive, and the reference for the daemon's.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Protocol, TypeVar, final

import trio

from protocol.fields import PublicKey
from protocol.peer.actions import Action, Notify
from protocol.peer.notices import Notification
from protocol.peer.peer import Peer

R = TypeVar("R")

#: A unit of work for the Peer's task: ``fn(peer, now_ms) -> (answer, actions)``.
#: Queries return ``(answer, [])``; commands the actions the Peer returned.
PeerCall = Callable[[Peer, int], tuple[R, list[Action]]]


@dataclass(frozen=True, slots=True)
class NodeStatus:
    """What ``GET /v1/status`` shows of a node. ``peer_id`` is None without a libp2p host."""

    member_id: str
    public_key: PublicKey
    peer_id: str | None
    #: Multiaddrs other nodes dial, each ending in ``/p2p/<peer id>``.
    listen_addrs: tuple[str, ...]
    #: Members the host has a connection to now.
    connected: tuple[PublicKey, ...]
    started_ms: int
    uptime_s: float
    #: The node's SQLite store, or None when it keeps nothing on disk.
    store_path: str | None


class NodeHandle(Protocol):
    """A running node, as the control API sees it."""

    async def call(self, fn: PeerCall[R]) -> R:
        """Run ``fn(peer, now_ms)`` in the Peer's task; execute the actions it returns,
        in order, then return its answer.

        A ``protocol.errors.LocalError`` raised by ``fn`` (a bad command: the
        Peer changed nothing) propagates to the caller; so does the node's
        own when it is stopping.
        """

    def subscribe(self) -> AbstractAsyncContextManager[trio.MemoryReceiveChannel[Notification]]:
        """Every notification from now until the block ends. A subscriber that falls
        behind loses the newest ones rather than slowing the Peer."""

    def status(self) -> NodeStatus:
        """Who this node is and what it is connected to, now."""


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@final
class LocalNode:
    """A ``NodeHandle`` over a Peer in this process, with no network and no store.

    ``call`` runs ``fn`` at once (trio runs one task at a time, so calls never
    interleave) and appends the actions to ``actions`` without executing
    them, except ``Notify``, which goes to subscribers. Tests move
    ``Publish``/``Send`` between LocalNodes themselves.
    """

    def __init__(
        self,
        peer: Peer,
        *,
        clock: Callable[[], int] = wall_clock_ms,
        start: bool = True,
        buffer: int = 256,
    ) -> None:
        self.peer = peer
        self.clock = clock
        self.buffer = buffer
        #: Every action the Peer asked for, in order.
        self.actions: list[Action] = []
        #: Notifications a slow subscriber did not get.
        self.dropped = 0
        self.connected: set[PublicKey] = set()
        self._subscribers: set[trio.MemorySendChannel[Notification]] = set()
        self._started_ms = clock()
        if start:
            self._execute(peer.start(self._started_ms))

    async def call(self, fn: PeerCall[R]) -> R:
        return self.run(fn)

    def run(self, fn: PeerCall[R]) -> R:
        """``call`` without the ``await``: for a test that feeds the Peer network input."""
        answer, actions = fn(self.peer, self.clock())
        self._execute(actions)
        return answer

    def subscribe(self) -> AbstractAsyncContextManager[trio.MemoryReceiveChannel[Notification]]:
        return self._subscription()

    @asynccontextmanager
    async def _subscription(self) -> AsyncIterator[trio.MemoryReceiveChannel[Notification]]:
        send, receive = trio.open_memory_channel[Notification](self.buffer)
        self._subscribers.add(send)
        try:
            yield receive
        finally:
            self._subscribers.discard(send)
            send.close()

    def status(self) -> NodeStatus:
        now = self.clock()
        return NodeStatus(
            member_id=self.peer.member_id,
            public_key=self.peer.public_key,
            peer_id=None,
            listen_addrs=(),
            connected=tuple(sorted(self.connected)),
            started_ms=self._started_ms,
            uptime_s=max(0, now - self._started_ms) / 1000,
            store_path=None,
        )

    def _execute(self, actions: list[Action]) -> None:
        for action in actions:
            self.actions.append(action)
            if isinstance(action, Notify):
                self.notify(action.event)

    def notify(self, event: Notification) -> None:
        """Hand ``event`` to every subscriber (as the daemon's broadcast does)."""
        for send in list(self._subscribers):
            try:
                send.send_nowait(event)
            except trio.WouldBlock:
                self.dropped += 1
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self._subscribers.discard(send)
