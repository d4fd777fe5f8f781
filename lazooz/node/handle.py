"""The daemon's ``lazooz.control.handle.NodeHandle``: the control API's view of a running Node.

``call`` is ``Node.command``: ``fn(peer, now_ms)`` runs in the Peer's task
and its actions are executed (persists durable, sends queued) before the
answer comes back. ``subscribe`` is the Node's notification broadcast.
``status`` reads the Node and its host.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol, TypeVar, final

import trio

from lazooz.control.handle import NodeStatus, PeerCall
from lazooz.node.runtime import Node
from protocol.peer.notices import Notification

R = TypeVar("R")


class HostView(Protocol):
    """What ``status`` shows of the host (``lazooz.net.NetHost`` has it)."""

    @property
    def addrs(self) -> list[str]: ...


@final
class DaemonHandle:
    """A ``NodeHandle`` over a running ``Node``."""

    def __init__(
        self,
        node: Node,
        *,
        peer_id: str | None = None,
        host: HostView | None = None,
        store_path: str | None = None,
        buffer: int = 256,
    ) -> None:
        self.node = node
        self.peer_id = peer_id
        self.host = host
        self.store_path = store_path
        self.buffer = buffer
        self.started_ms = node.clock.now_ms()
        self._clock: Callable[[], int] = node.clock.now_ms

    async def call(self, fn: PeerCall[R]) -> R:
        return await self.node.command(fn)

    def subscribe(self) -> AbstractAsyncContextManager[trio.MemoryReceiveChannel[Notification]]:
        return self._subscription()

    @asynccontextmanager
    async def _subscription(self) -> AsyncIterator[trio.MemoryReceiveChannel[Notification]]:
        with self.node.notifications.subscribe(self.buffer) as receive:
            yield receive

    def status(self) -> NodeStatus:
        now = self._clock()
        return NodeStatus(
            member_id=self.node.peer.member_id,
            public_key=self.node.public_key,
            peer_id=self.peer_id,
            listen_addrs=tuple(self.host.addrs) if self.host is not None else (),
            connected=tuple(sorted(self.node.connected)),
            started_ms=self.started_ms,
            uptime_s=max(0, now - self.started_ms) / 1000,
            store_path=self.store_path,
        )
