"""What the Peer asks its shell to do (SPEC §11.3): the one action set both shells implement.

The shell executes a call's actions in the order returned. ``Persist`` comes
before any ``Send`` or ``Publish`` that depends on what it stores (SPEC §11.4):
a shell that makes each ``Persist`` durable before executing the next action
never acknowledges a log entry it could lose.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from protocol.fields import PublicKey
from protocol.peer.notices import Notification

#: The two direct-stream protocols: ``/lazooz/ride/1.0.0`` and ``/lazooz/sync/1.0.0``.
Channel = Literal["ride", "sync"]
CHANNELS: tuple[Channel, ...] = ("ride", "sync")

#: What a ``Persist`` stores. ``entry``: a raw log entry, key ``author || seq``
#: (8 bytes, big-endian); ``offer``/``request``: an own offer or request with
#: its private parts; ``ride``: a ride's journal; ``fork``: a fork proof, key the
#: author; ``follow``: an author a light member follows (``PeerParams.ledger ==
#: "own"``), key the author, data empty. Keys are bytes.
PersistKind = Literal["entry", "fork", "follow", "offer", "request", "ride"]

#: A timer's name: a tuple of strings and bytes the Peer chooses, e.g.
#: ``("ride", ride_id)``; hashable, comparable, and stable across restarts.
TimerKey = tuple[str | bytes, ...]


@dataclass(frozen=True, slots=True)
class Action:
    """Base of everything the Peer asks its shell to do."""


@dataclass(frozen=True, slots=True)
class Publish(Action):
    """Gossip ``data`` (a sealed envelope) on ``topic``."""

    topic: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Send(Action):
    """Write ``data`` (one sealed envelope, one frame) on a ``channel`` stream to ``to``,
    opening the stream if none is open. Delivery is best effort; the Peer retries."""

    to: PublicKey
    channel: Channel
    data: bytes


@dataclass(frozen=True, slots=True)
class Persist(Action):
    """Store ``data`` under ``(kind, key)``, replacing what was there; ``None`` deletes.

    Make it durable before executing the next action.
    """

    kind: PersistKind
    key: bytes
    data: bytes | None


@dataclass(frozen=True, slots=True)
class SetTimer(Action):
    """Call ``Peer.timer_fired(key, now_ms)`` once at ``at_ms`` or later; replaces any
    timer of the same ``key``. Firing late is fine; firing early is ignored."""

    key: TimerKey
    at_ms: int


@dataclass(frozen=True, slots=True)
class CancelTimer(Action):
    """Forget the timer ``key``, if set. A fired cancelled timer is harmless, only wasteful."""

    key: TimerKey


@dataclass(frozen=True, slots=True)
class Subscribe(Action):
    """Join gossip ``topic``; validate its messages with ``Peer.validate_gossip``."""

    topic: str


@dataclass(frozen=True, slots=True)
class Unsubscribe(Action):
    """Leave gossip ``topic``."""

    topic: str


@dataclass(frozen=True, slots=True)
class Notify(Action):
    """Show ``event`` to the user (or the simulator's agent and metrics)."""

    event: Notification
