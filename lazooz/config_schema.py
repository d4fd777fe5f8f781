"""The configuration's sections: frozen dataclasses whose defaults run one node on one machine.

``lazooz.config`` reads them from TOML (``config_sections``) and re-exports
them; docs/node.md, "Configuration", lists every key.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from protocol.fields import GeoPoint
from protocol.peer.params import SECOND_MS, LedgerMode, Listen, PeerParams

LogFormat = Literal["console", "json"]
LogLevel = Literal["debug", "info", "warning", "error"]
LOG_FORMATS: tuple[LogFormat, ...] = ("console", "json")
LOG_LEVELS: tuple[LogLevel, ...] = ("debug", "info", "warning", "error")
RouterBackend = Literal["embedded", "osrm"]
ROUTER_BACKENDS: tuple[RouterBackend, ...] = ("embedded", "osrm")
Discovery = Literal["dht", "off"]
DISCOVERIES: tuple[Discovery, ...] = ("dht", "off")


@dataclass(frozen=True, slots=True)
class HomeConfig:
    """Where the member rides: the centre of its area topics and of matching's projection.

    The default is central Tel Aviv, the area of the embedded demo data.
    """

    lat: float = 32.0853
    lon: float = 34.7818

    def point(self) -> GeoPoint:
        return GeoPoint.from_degrees(self.lat, self.lon)


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """The node itself: where it keeps its data, where it listens, whom it dials first."""

    #: Identity key, store and control token live here.
    data_dir: Path
    #: libp2p multiaddrs to listen on; port 0 picks a free port.
    listen: tuple[str, ...] = ("/ip4/127.0.0.1/tcp/0",)
    #: libp2p multiaddrs of peers to dial at start, each ending in ``/p2p/<peer id>``.
    bootstrap: tuple[str, ...] = ()
    home: HomeConfig = HomeConfig()


@dataclass(frozen=True, slots=True)
class NetworkConfig:
    """How the node finds and reaches members beyond its bootstrap peers (``[net]``)."""

    #: Circuit relays (multiaddrs ending in ``/p2p/<peer id>``) to hold a
    #: reservation at, so members who cannot dial this node reach it through them.
    relays: tuple[str, ...] = ()
    #: Relay for others (circuit relay v2 "hop"): for an always-on, reachable node.
    relay_hop: bool = False
    #: How many remembered peers (from earlier runs) the node redials at start.
    redial: int = 16
    #: How a member's address is found when a ride stream needs one and there
    #: is no connection: ``dht`` asks connected peers (Kademlia), ``off`` does not.
    discovery: Discovery = "dht"


@dataclass(frozen=True, slots=True)
class ControlConfig:
    """The local HTTP API and web UI. Port 0 picks a free port (the daemon reports it)."""

    host: str = "127.0.0.1"
    port: int = 0
    #: Serve on a non-loopback address too (the API moves rides and signs receipts).
    allow_remote: bool = False


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    """The Prometheus endpoint, off unless enabled."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 9464
    allow_remote: bool = False


@dataclass(frozen=True, slots=True)
class LogConfig:
    format: LogFormat = "console"
    level: LogLevel = "info"


@dataclass(frozen=True, slots=True)
class GossipConfig:
    #: Gossipsub heartbeat; py-libp2p takes whole seconds.
    heartbeat_s: int = 1


@dataclass(frozen=True, slots=True)
class PeerConfig:
    """The Peer core's parameters an operator may tune (SPEC §11.2); the rest keep defaults."""

    republish_s: int = 300
    area_rings: int = 1
    request_resolution: int = 7
    #: ``all``: hear both sides of every home cell and forward them for others (a
    #: daemon is always on); ``needed``: only the side open offers and requests need.
    listen: Listen = "all"
    #: ``full``: hold every log heard of (a daemon other members sync from, the
    #: reference for balances); ``own``: a light member's logs only (docs/ledger.md §10.6).
    ledger: LedgerMode = "full"

    def params(self) -> PeerParams:
        return PeerParams(
            area_rings=self.area_rings,
            listen=self.listen,
            ledger=self.ledger,
            request_resolution=self.request_resolution,
            republish_ms=self.republish_s * SECOND_MS,
        )


@dataclass(frozen=True, slots=True)
class AppConfig:
    """The web app the control API serves."""

    #: Map tiles, as a URL template with ``{z}``, ``{x}``, ``{y}``; empty: no tiles.
    tile_url: str = ""


@dataclass(frozen=True, slots=True)
class RouterConfig:
    """Where offers' routes come from."""

    #: ``embedded`` (the road graph shipped with lazooz) or ``osrm`` (an OSRM server).
    backend: RouterBackend = "embedded"
    #: The OSRM server's base URL; required when ``backend = "osrm"``.
    osrm_url: str = ""


#: ``notify.command`` values that are not an argv template.
NOTIFY_AUTO = "auto"
NOTIFY_OFF = "off"


@dataclass(frozen=True, slots=True)
class NotifyConfig:
    """Desktop notifications the daemon runs itself, page open or not (``[notify]``).

    ``command`` is ``"auto"`` (``notify-send`` if it is on ``PATH``, else
    none), ``"off"`` or ``""`` (none), or an argv template whose elements may
    hold ``{title}``, ``{body}``, ``{event}`` and ``{ride}``; it never runs
    through a shell (``lazooz.node.notify``).
    """

    command: str | tuple[str, ...] = NOTIFY_AUTO
    #: A command still running after this long is killed (and counted).
    timeout_s: float = 10.0
    #: Commands running at once; more wait in a queue of ``queue``. With 1 they show in the
    #: order they happened; with more, a slow one holds up no other, but order is not kept.
    max_running: int = 1
    #: Notifications waiting for a command; when full, the oldest is dropped.
    queue: int = 32
    #: Events (``lazooz.node.notify_text.EVENTS``) never shown.
    mute: tuple[str, ...] = ()
    #: Put the ride's PIN in the ``pin_shown`` notification (else: "open lazooz to see it").
    show_pin: bool = True


@dataclass(frozen=True, slots=True)
class Config:
    """Everything a node is configured by. ``source`` names where it was read from."""

    node: NodeConfig
    net: NetworkConfig = NetworkConfig()
    control: ControlConfig = ControlConfig()
    metrics: MetricsConfig = MetricsConfig()
    log: LogConfig = LogConfig()
    gossip: GossipConfig = GossipConfig()
    peer: PeerConfig = PeerConfig()
    app: AppConfig = AppConfig()
    router: RouterConfig = RouterConfig()
    notify: NotifyConfig = NotifyConfig()
    source: str = field(default="defaults", metadata={"toml": False})

    def with_data_dir(self, data_dir: Path) -> Config:
        """This configuration with ``node.data_dir`` replaced (a command-line flag)."""
        node = dataclasses.replace(self.node, data_dir=data_dir.expanduser().absolute())
        return dataclasses.replace(self, node=node)
