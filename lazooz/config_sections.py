"""Reading each section of the configuration from its TOML table, every value checked."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TypeVar, cast, get_args

from lazooz.config_rules import (
    check_http_url,
    check_listen,
    check_peer,
    check_tile_url,
    is_loopback,
)
from lazooz.config_schema import (
    DISCOVERIES,
    LOG_FORMATS,
    LOG_LEVELS,
    NOTIFY_AUTO,
    NOTIFY_OFF,
    ROUTER_BACKENDS,
    AppConfig,
    ControlConfig,
    Discovery,
    GossipConfig,
    HomeConfig,
    LogConfig,
    LogFormat,
    LogLevel,
    MetricsConfig,
    NetworkConfig,
    NodeConfig,
    NotifyConfig,
    PeerConfig,
    RouterBackend,
    RouterConfig,
)
from lazooz.config_table import Table
from lazooz.node.notify_command import BadTemplate, Template
from lazooz.node.notify_text import EVENTS
from protocol.peer.params import LedgerMode, Listen
from protocol.validation import DEFAULT_POLICY


def node(t: Table, default: NodeConfig, base_dir: Path) -> NodeConfig:
    data_dir = t.string("data_dir", None)
    home = t.table("home")
    out = NodeConfig(
        data_dir=default.data_dir if data_dir is None else base_dir / Path(data_dir).expanduser(),
        listen=t.addrs("listen", default.listen, check_listen),
        bootstrap=t.addrs("bootstrap", default.bootstrap, check_peer),
        home=HomeConfig(
            lat=home.number("lat", default.home.lat, -90.0, 90.0, "a latitude, -90..90 degrees"),
            lon=home.number(
                "lon", default.home.lon, -180.0, 180.0, "a longitude, -180..180 degrees"
            ),
        ),
    )
    if not out.listen:
        t.fail("node.listen", [], "give at least one address to listen on")
    home.done()
    t.done()
    return dataclasses.replace(out, data_dir=out.data_dir.absolute())


def net(t: Table, default: NetworkConfig) -> NetworkConfig:
    out = NetworkConfig(
        relays=t.addrs("relays", default.relays, check_peer),
        relay_hop=t.boolean("relay_hop", default.relay_hop),
        redial=t.integer("redial", default.redial, 0, 256),
        discovery=cast(Discovery, t.choice("discovery", default.discovery, DISCOVERIES)),
    )
    t.done()
    return out


_Endpoint = TypeVar("_Endpoint", ControlConfig, MetricsConfig)


def endpoint(t: Table, default: _Endpoint) -> _Endpoint:
    out = dataclasses.replace(
        default,
        host=t.string("host", default.host),
        port=t.integer("port", default.port, 0, 65_535),
        allow_remote=t.boolean("allow_remote", default.allow_remote),
    )
    if isinstance(out, MetricsConfig):
        out = dataclasses.replace(out, enabled=t.boolean("enabled", out.enabled))
    t.done()
    loopback = is_loopback(out.host)
    if loopback is None:
        t.fail(f"{t.path}.host", out.host, "must be an IP address or 'localhost'")
    if not loopback and not out.allow_remote:
        rule = (
            f"is reachable from other machines: use 127.0.0.1, or set "
            f"{t.path}.allow_remote = true if you mean it"
        )
        t.fail(f"{t.path}.host", out.host, rule)
    return out


def log(t: Table, default: LogConfig) -> LogConfig:
    out = LogConfig(
        format=cast(LogFormat, t.choice("format", default.format, LOG_FORMATS)),
        level=cast(LogLevel, t.choice("level", default.level, LOG_LEVELS)),
    )
    t.done()
    return out


def gossip(t: Table, default: GossipConfig) -> GossipConfig:
    out = GossipConfig(heartbeat_s=t.integer("heartbeat_s", default.heartbeat_s, 1, 60))
    t.done()
    return out


def peer(t: Table, default: PeerConfig) -> PeerConfig:
    p = DEFAULT_POLICY
    out = PeerConfig(
        republish_s=t.integer("republish_s", default.republish_s, 10, 3_600),
        area_rings=t.integer("area_rings", default.area_rings, 0, 3),
        listen=cast(Listen, t.choice("listen", default.listen, get_args(Listen))),
        ledger=cast(LedgerMode, t.choice("ledger", default.ledger, get_args(LedgerMode))),
        request_resolution=t.integer(
            "request_resolution",
            default.request_resolution,
            p.min_cell_resolution,
            p.max_cell_resolution,
        ),
    )
    t.done()
    return out


def app(t: Table, default: AppConfig) -> AppConfig:
    out = AppConfig(tile_url=t.checked("tile_url", default.tile_url, check_tile_url))
    t.done()
    return out


def router(t: Table, default: RouterConfig) -> RouterConfig:
    out = RouterConfig(
        backend=cast(RouterBackend, t.choice("backend", default.backend, ROUTER_BACKENDS)),
        osrm_url=t.checked("osrm_url", default.osrm_url, check_http_url),
    )
    t.done()
    if out.backend == "osrm" and not out.osrm_url:
        t.fail("router.osrm_url", out.osrm_url, 'is required when router.backend = "osrm"')
    return out


def notify(t: Table, default: NotifyConfig) -> NotifyConfig:
    out = NotifyConfig(
        command=_notify_command(t, default.command),
        timeout_s=t.number("timeout_s", default.timeout_s, 0.1, 300.0, "seconds, 0.1..300"),
        max_running=t.integer("max_running", default.max_running, 1, 16),
        queue=t.integer("queue", default.queue, 1, 1_000),
        mute=t.strings("mute", default.mute, _check_event),
        show_pin=t.boolean("show_pin", default.show_pin),
    )
    t.done()
    return out


def _notify_command(t: Table, default: str | tuple[str, ...]) -> str | tuple[str, ...]:
    """``auto``, ``off``/empty, or an argv template every element of which is checked."""
    value = t.raw("command")
    key = t.key("command")
    if value is None:
        return default
    if isinstance(value, str):
        if value not in (NOTIFY_AUTO, NOTIFY_OFF, ""):
            rule = (
                f'must be "{NOTIFY_AUTO}", "{NOTIFY_OFF}", or a list such as '
                '["notify-send", "{title}", "{body}"] (no shell: one list item per argument)'
            )
            t.fail(key, value, rule)
        return value
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        t.fail(key, value, f'must be "{NOTIFY_AUTO}", "{NOTIFY_OFF}", or a list of strings')
    argv = tuple(cast(list[str], value))
    try:
        Template.parse(argv)
    except BadTemplate as exc:
        where = key if exc.index is None else f"{key}[{exc.index}]"
        t.fail(where, exc.text, exc.rule)
    return argv


def _check_event(text: str) -> str | None:
    return None if text in EVENTS else f"unknown event; known: {', '.join(EVENTS)}"
