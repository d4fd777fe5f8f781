"""What every agent shares: the world it lives in, and running commands on its Peer."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from protocol.errors import LocalError
from protocol.fields import GeoPoint, PublicKey
from protocol.peer.actions import Action
from protocol.peer.notices import ForkFound, InputRejected, Notification
from protocol.peer.peer import Peer
from sim.engine import Engine
from sim.hosts import Host
from sim.network import Network

T = TypeVar("T")


class RouteLike(Protocol):
    """A driven route (``protocol.roads.Route``): its points, metres and seconds."""

    @property
    def points(self) -> tuple[GeoPoint, ...]: ...
    @property
    def length_m(self) -> float: ...
    @property
    def duration_s(self) -> float: ...


class RouterLike(Protocol):
    """Shortest paths on the city's roads (``protocol.roads.Router``)."""

    def route(self, origin: GeoPoint, destination: GeoPoint) -> RouteLike | None: ...


class PinSource(Protocol):
    """A rider, as its driver meets it at pickup."""

    def pin_for(self, ride_id: bytes) -> str | None:
        """The PIN the rider says at pickup, or None if the rider is not there."""


@dataclass(slots=True, eq=False)
class World:
    """The clock, the network and what agents learn of each other physically.

    ``riders_by_ride`` is the kerb: a driver meets the rider of a ride there
    and hears its PIN. ``refused`` counts user commands a Peer refused, by
    ``(command, error)``: the policy tries what a person would, and the Peer
    says no when the situation moved on (an offer expired meanwhile).
    """

    engine: Engine
    net: Network
    router: RouterLike
    riders_by_ride: dict[bytes, PinSource] = field(default_factory=dict)
    refused: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: Forked authors, and the members whose Peer told them so (``ForkFound``).
    forks_seen: dict[PublicKey, set[str]] = field(default_factory=dict)
    rejected_notices: int = 0

    @property
    def now(self) -> int:
        return self.engine.now_ms


class Agent:
    """A member: one Host (its Peer) once joined, reacting to the Peer's notices."""

    def __init__(self, world: World, name: str) -> None:
        self.world = world
        self.name = name
        self.host: Host | None = None

    @property
    def peer(self) -> Peer:
        assert self.host is not None, f"{self.name} has not joined"
        return self.host.peer

    def notice(self, host: Host, event: Notification) -> None:
        """The Network's hook: counts what every member sees, then ``react``s."""
        if isinstance(event, ForkFound):
            self.world.forks_seen.setdefault(event.author, set()).add(self.name)
        elif isinstance(event, InputRejected):
            self.world.rejected_notices += 1
        self.react(host, event)

    def react(self, host: Host, event: Notification) -> None:
        """Called while the Peer's actions run: schedule, never call the Peer here."""

    def later(self, delay_ms: int, fn: Callable[[Any], object], arg: Any = None) -> None:
        self.world.engine.after(max(0, delay_ms), fn, arg)

    def run(self, what: str, command: Callable[[Peer], Sequence[Action]]) -> bool:
        """Run a user command; False (and counted) if the Peer refused it."""
        assert self.host is not None
        host = self.host
        try:
            actions = command(host.peer)
        except LocalError as e:
            self.world.refused[(what, type(e).__name__)] += 1
            return False
        self.world.net.execute(host, actions)
        return True

    def create(
        self, what: str, command: Callable[[Peer], tuple[bytes, list[Action]]]
    ) -> bytes | None:
        """Run a command that makes something (offer, request, propose); its id or None."""
        assert self.host is not None
        host = self.host
        try:
            new_id, actions = command(host.peer)
        except LocalError as e:
            self.world.refused[(what, type(e).__name__)] += 1
            return None
        self.world.net.execute(host, actions)
        return new_id
