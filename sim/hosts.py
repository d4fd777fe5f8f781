"""What the simulated network is made of: hosts, their listeners, the network's
parameters (latency, loss, churn, partitions) and its counters (docs/simulator.md
§Network)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from protocol.fields import GeoPoint, PublicKey
from protocol.identity import Identity
from protocol.peer.actions import PersistKind, TimerKey
from protocol.peer.notices import Notification
from protocol.peer.params import PeerParams
from protocol.peer.peer import Peer


class Listener(Protocol):
    """Who hears a host's notifications: its agent (rider, driver, adversary)."""

    def notice(self, host: Host, event: Notification) -> None:
        """Called while the host's actions run: schedule reactions, never call the Peer."""


@dataclass(frozen=True, slots=True)
class Partition:
    """``share`` of the hosts (drawn per host) cut off from the rest in [start, end)."""

    start_ms: int
    end_ms: int
    share: float


@dataclass(frozen=True, slots=True)
class Churn:
    """``share`` of honest members go offline now and then (the model draws who);
    ``restart`` of their returns rebuild the Peer from its store."""

    share: float = 0.0
    mean_online_ms: int = 20 * 60_000
    mean_offline_ms: int = 3 * 60_000
    restart: float = 0.0


@dataclass(frozen=True, slots=True)
class NetParams:
    """Latency (lognormal: median and p99), loss per delivery, churn and partitions."""

    latency_median_ms: float = 60.0
    latency_p99_ms: float = 400.0
    loss: float = 0.0
    churn: Churn = Churn()
    partitions: tuple[Partition, ...] = ()
    #: Online hosts a joining host dials, as a node dials its bootstrap peers.
    bootstrap: int = 3


@dataclass(slots=True, eq=False)
class Host:
    """One device on the network: a Peer and everything its shell keeps."""

    index: int
    name: str
    identity: Identity
    home: GeoPoint
    params: PeerParams
    seed: int
    peer: Peer
    listener: Listener | None = None
    store: dict[tuple[PersistKind, bytes], bytes] = field(default_factory=dict)
    topics: set[str] = field(default_factory=set)
    timers: dict[TimerKey, int] = field(default_factory=dict)
    online: bool = True
    #: Bumped on every restart, so timers of an earlier Peer never fire on the new one.
    epoch: int = 0
    joined_ms: int = 0
    left_ms: int | None = None
    online_ms: int = 0
    _online_since: int = 0
    #: Partition groups this host is in, by partition index.
    groups: frozenset[int] = frozenset()
    sent_msgs: int = 0
    sent_bytes: int = 0
    recv_msgs: int = 0
    recv_bytes: int = 0
    restarts: int = 0

    @property
    def key(self) -> PublicKey:
        return self.identity.public_key


@dataclass(slots=True)
class Totals:
    """Network-wide counts, for metrics and the engine measurement."""

    published: int = 0
    gossip_deliveries: int = 0
    frames: int = 0
    lost: int = 0
    cut: int = 0
    to_offline: int = 0
    unknown_key: int = 0
    connections: int = 0
    reconnections: int = 0
