"""What the Node is built from and promises: the host and store it needs, its limits, and
the answer a command waits for. ``lazooz.node.runtime`` re-exports these names."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import trio

from lazooz.node.outbox import OutboxLimits
from protocol.errors import LocalError
from protocol.fields import PublicKey
from protocol.peer.actions import Channel, Persist

T = TypeVar("T")


class NodeStopped(LocalError):
    """The node is stopping or stopped: it takes no more commands."""

    reason = "node_stopped"


class Net(Protocol):
    """What the Node needs of the host (``lazooz.net.NetHost`` has it)."""

    async def subscribe(self, topic: str) -> None: ...
    async def unsubscribe(self, topic: str) -> None: ...
    async def publish(self, topic: str, data: bytes, timeout_s: float | None = None) -> bool: ...
    async def send(self, to: PublicKey, channel: Channel, data: bytes) -> bool: ...


class Durable(Protocol):
    """Where the Node makes ``Persist`` batches durable (``lazooz.store.Store`` is one)."""

    def apply(self, persists: Iterable[Persist]) -> int: ...


@dataclass(frozen=True, slots=True)
class NodeLimits:
    """Queue sizes and grace periods of the Node."""

    #: Inputs waiting for the Peer; network inputs beyond it are dropped (counted).
    inputs: int = 4096
    #: Gossip delivered and not yet handled, beyond which the validator refuses
    #: new messages. Keep it well under ``PeerParams.max_validated`` (1 024):
    #: the Peer forgets what it validated beyond that, and would then take
    #: the late delivery for a replay.
    gossip_backlog: int = 512
    outbox: OutboxLimits = field(default_factory=OutboxLimits)
    #: At stop, how long queued publications and frames may still take to go out.
    flush_s: float = 2.0


class Call(Generic[T]):
    """A user command or query waiting in the Peer's queue, and its answer."""

    __slots__ = ("done", "error", "fn", "now_ms", "takes_actions", "value")

    def __init__(self, fn: Callable[..., Any], now_ms: int, takes_actions: bool) -> None:
        self.fn = fn
        self.now_ms = now_ms
        self.takes_actions = takes_actions
        self.done = trio.Event()
        self.value: T | None = None
        self.error: BaseException | None = None

    def fail(self, error: BaseException) -> None:
        self.error = error
        self.done.set()

    def answer(self) -> T:
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]
