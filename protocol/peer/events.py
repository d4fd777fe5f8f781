"""The Peer's network and clock inputs as data, for shells that queue them (SPEC §11.6).

``Peer.handle(event)`` is the same as calling the matching method; a
simulator can keep these on its heap, a node can log them. User commands stay
methods: they return ids and raise on bad input.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol.fields import PublicKey
from protocol.peer.actions import Channel, TimerKey


@dataclass(frozen=True, slots=True)
class Event:
    """Base of the Peer's inputs from the network and the clock; ``now_ms`` is when."""

    now_ms: int


@dataclass(frozen=True, slots=True)
class GossipReceived(Event):
    """``gossip_received(topic, data, now_ms)``."""

    topic: str
    data: bytes


@dataclass(frozen=True, slots=True)
class StreamReceived(Event):
    """``stream_received(from_key, channel, data, now_ms)``."""

    from_key: PublicKey
    channel: Channel
    data: bytes


@dataclass(frozen=True, slots=True)
class PeerConnected(Event):
    """``peer_connected(key, now_ms)``."""

    key: PublicKey


@dataclass(frozen=True, slots=True)
class TimerFired(Event):
    """``timer_fired(key, now_ms)``."""

    key: TimerKey
