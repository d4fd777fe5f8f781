"""The node's router: the backend the configuration chose, for the web UI, the CLI and the API.

``[router] backend = "embedded"`` (the default) routes on the road network
lazooz ships that covers the node's home (``networks.for_home``): the OSM
extract of an area when home lies in it, else a synthetic grid laid around
home. ``"osrm"`` asks the OSRM server at ``[router] osrm_url``. Where no
network is had at all, routes are the clicked points joined by straight
lines. Routing blocks (a graph search, an HTTP call), so ``route`` runs it in
a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import trio

from lazooz.routing.embedded import EmbeddedBackend
from lazooz.routing.networks import Network, for_home
from lazooz.routing.osrm import DEFAULT_TIMEOUT_S, OsrmBackend
from lazooz.routing.plan import Backend, RoutePlan
from lazooz.routing.straight import StraightBackend
from protocol.fields import GeoPoint

BACKENDS = ("embedded", "osrm")


@dataclass(frozen=True, slots=True)
class RouterSettings:
    """What ``[router]`` in the configuration says."""

    backend: str = "embedded"
    osrm_url: str | None = None
    osrm_timeout_s: float = DEFAULT_TIMEOUT_S

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"router.backend={self.backend!r}: must be one of {BACKENDS}")
        if self.backend == "osrm" and not self.osrm_url:
            raise ValueError("router.osrm_url=None: is required with backend = 'osrm'")


class NodeRouter:
    """Routes for one node: its home picks the embedded network; its settings the backend."""

    def __init__(
        self,
        home: GeoPoint,
        settings: RouterSettings | None = None,
        network_for: Callable[[GeoPoint], Network | None] = for_home,
    ) -> None:
        self.home = home
        self.settings = settings or RouterSettings()
        self._network_for = network_for
        self._loaded = False
        self._network: Network | None = None
        self._backend: Backend | None = None
        self._lock = trio.Lock()

    async def network(self) -> Network | None:
        """The embedded network around home, loaded on first use (in a thread: it decodes)."""
        async with self._lock:
            if not self._loaded:
                self._network = await trio.to_thread.run_sync(self._network_for, self.home)
                self._loaded = True
        return self._network

    async def backend(self) -> Backend:
        if self._backend is None:
            network = await self.network()
            if self.settings.backend == "osrm":
                assert self.settings.osrm_url is not None  # RouterSettings checks it
                self._backend = OsrmBackend(self.settings.osrm_url, self.settings.osrm_timeout_s)
            elif network is not None:
                self._backend = EmbeddedBackend(network)
            else:
                self._backend = StraightBackend()
        return self._backend

    async def route(self, waypoints: Sequence[GeoPoint]) -> RoutePlan:
        """The route through ``waypoints``; ``NoRoute`` / ``RouterUnavailable`` when none."""
        backend = await self.backend()
        return await trio.to_thread.run_sync(backend.route, list(waypoints))

    async def describe(self) -> dict[str, Any]:
        """What the UI shows of the router: backend, network, its bounds and attribution."""
        network = await self.network()
        backend = await self.backend()
        return {
            "backend": backend.name,
            "network": None if network is None else network.name,
            "attribution": None if network is None else network.attribution,
            "bounds": None if network is None else [list(corner) for corner in network.bounds],
        }
