"""A node's configuration: a frozen tree of sections, read from TOML, with defaults for one machine.

Precedence, lowest first: the defaults here, the TOML file, the environment
(``LAZOOZ_DATA_DIR``), then whatever the command line sets
(``Config.with_data_dir``). Every value is checked once, here: an unknown
key, a wrong type, a value out of range, an address that does not parse or a
home off the Earth is a ``ConfigError`` naming the key path, the value, the
rule and where it came from. docs/node.md, "Configuration".
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import json
import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar, cast, overload

import multiaddr

from protocol.errors import ConfigError, describe
from protocol.fields import GeoPoint
from protocol.peer.params import SECOND_MS, PeerParams
from protocol.validation import DEFAULT_POLICY

ENV_DATA_DIR = "LAZOOZ_DATA_DIR"

LogFormat = Literal["console", "json"]
LogLevel = Literal["debug", "info", "warning", "error"]
LOG_FORMATS: tuple[LogFormat, ...] = ("console", "json")
LOG_LEVELS: tuple[LogLevel, ...] = ("debug", "info", "warning", "error")

_LISTEN_HOSTS = ("ip4", "ip6")
_DIAL_HOSTS = ("ip4", "ip6", "dns", "dns4", "dns6")
_TRANSPORTS = ("tcp", "udp")

#: Why a multiaddr string is refused, or None if it is fine.
_AddrCheck = Callable[[str], str | None]


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

    def params(self) -> PeerParams:
        return PeerParams(
            area_rings=self.area_rings,
            request_resolution=self.request_resolution,
            republish_ms=self.republish_s * SECOND_MS,
        )


@dataclass(frozen=True, slots=True)
class Config:
    """Everything a node is configured by. ``source`` names where it was read from."""

    node: NodeConfig
    control: ControlConfig = ControlConfig()
    metrics: MetricsConfig = MetricsConfig()
    log: LogConfig = LogConfig()
    gossip: GossipConfig = GossipConfig()
    peer: PeerConfig = PeerConfig()
    source: str = field(default="defaults", metadata={"toml": False})

    def with_data_dir(self, data_dir: Path) -> Config:
        """This configuration with ``node.data_dir`` replaced (a command-line flag)."""
        node = dataclasses.replace(self.node, data_dir=data_dir.expanduser().absolute())
        return dataclasses.replace(self, node=node)


def default_data_dir(env: Mapping[str, str]) -> Path:
    """``$XDG_DATA_HOME/lazooz``, or ``$HOME/.local/share/lazooz``."""
    xdg = env.get("XDG_DATA_HOME")
    if xdg:
        return Path(xdg).expanduser().absolute() / "lazooz"
    home = Path(env["HOME"]) if env.get("HOME") else Path.home()
    return home.absolute() / ".local" / "share" / "lazooz"


def defaults(env: Mapping[str, str] | None = None) -> Config:
    """The configuration of a node given no file: one machine, loopback only."""
    env = os.environ if env is None else env
    return _with_env(Config(NodeConfig(default_data_dir(env))), env)


def load(path: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """The configuration in the TOML file at ``path`` (defaults if None), then the environment."""
    env = os.environ if env is None else env
    if path is None:
        return defaults(env)
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(describe("config file", str(path), f"cannot be read: {exc}")) from None
    return parse(text, source=str(path), base_dir=path.parent, env=env)


def parse(
    text: str,
    source: str = "<string>",
    base_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Config:
    """The configuration in TOML ``text``; a relative ``data_dir`` is taken from ``base_dir``."""
    env = os.environ if env is None else env
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(describe("config file", source, f"is not valid TOML: {exc}")) from None
    root = _Table(data, "", _Where(source, text))
    base = defaults(env={k: v for k, v in env.items() if k != ENV_DATA_DIR})
    config = Config(
        node=_node(root.table("node"), base.node, base_dir or Path.cwd()),
        control=_endpoint(root.table("control"), base.control),
        metrics=_endpoint(root.table("metrics"), base.metrics),
        log=_log(root.table("log"), base.log),
        gossip=_gossip(root.table("gossip"), base.gossip),
        peer=_peer(root.table("peer"), base.peer),
        source=source,
    )
    root.done()
    m, c = config.metrics, config.control
    if m.enabled and m.port != 0 and (m.host, m.port) == (c.host, c.port):
        root.fail("metrics.port", m.port, "must differ from control.port on the same host")
    return _with_env(config, env)


def items(config: Config) -> list[tuple[str, object]]:
    """Every key of ``config`` as ``(key path, value)``, in file order."""
    out: list[tuple[str, object]] = []

    def walk(obj: object, prefix: str) -> None:
        subtables = []
        for f in dataclasses.fields(obj):  # type: ignore[arg-type]
            if f.metadata.get("toml", True):
                value = getattr(obj, f.name)
                if dataclasses.is_dataclass(value):
                    subtables.append((f.name, value))
                else:
                    out.append((prefix + f.name, value))
        for name, value in subtables:
            walk(value, f"{prefix}{name}.")

    walk(config, "")
    return out


def dump(config: Config) -> str:
    """``config`` as a TOML file that ``parse`` reads back to the same configuration."""
    lines = ['# lazooz node configuration: every key, docs/node.md "Configuration"']
    table = None
    for path, value in items(config):
        section, _, key = path.rpartition(".")
        if section != table:
            lines += ["", f"[{section}]"]
            table = section
        lines.append(f"{key} = {_toml(value)}")
    return "\n".join(lines) + "\n"


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a TOML basic string


def _with_env(config: Config, env: Mapping[str, str]) -> Config:
    data_dir = env.get(ENV_DATA_DIR)
    return config if not data_dir else config.with_data_dir(Path(data_dir))


# -- sections


def _node(t: _Table, default: NodeConfig, base_dir: Path) -> NodeConfig:
    data_dir = t.string("data_dir", None)
    home = t.table("home")
    node = NodeConfig(
        data_dir=default.data_dir if data_dir is None else base_dir / Path(data_dir).expanduser(),
        listen=t.addrs("listen", default.listen, _check_listen),
        bootstrap=t.addrs("bootstrap", default.bootstrap, _check_bootstrap),
        home=HomeConfig(
            lat=home.number("lat", default.home.lat, -90.0, 90.0, "a latitude, -90..90 degrees"),
            lon=home.number(
                "lon", default.home.lon, -180.0, 180.0, "a longitude, -180..180 degrees"
            ),
        ),
    )
    if not node.listen:
        t.fail("node.listen", [], "give at least one address to listen on")
    home.done()
    t.done()
    return dataclasses.replace(node, data_dir=node.data_dir.absolute())


_Endpoint = TypeVar("_Endpoint", ControlConfig, MetricsConfig)


def _endpoint(t: _Table, default: _Endpoint) -> _Endpoint:
    out = dataclasses.replace(
        default,
        host=t.string("host", default.host),
        port=t.integer("port", default.port, 0, 65_535),
        allow_remote=t.boolean("allow_remote", default.allow_remote),
    )
    if isinstance(out, MetricsConfig):
        out = dataclasses.replace(out, enabled=t.boolean("enabled", out.enabled))
    t.done()
    loopback = _is_loopback(out.host)
    if loopback is None:
        t.fail(f"{t.path}.host", out.host, "must be an IP address or 'localhost'")
    if not loopback and not out.allow_remote:
        rule = (
            f"is reachable from other machines: use 127.0.0.1, or set "
            f"{t.path}.allow_remote = true if you mean it"
        )
        t.fail(f"{t.path}.host", out.host, rule)
    return out


def _log(t: _Table, default: LogConfig) -> LogConfig:
    out = LogConfig(
        format=cast(LogFormat, t.choice("format", default.format, LOG_FORMATS)),
        level=cast(LogLevel, t.choice("level", default.level, LOG_LEVELS)),
    )
    t.done()
    return out


def _gossip(t: _Table, default: GossipConfig) -> GossipConfig:
    out = GossipConfig(heartbeat_s=t.integer("heartbeat_s", default.heartbeat_s, 1, 60))
    t.done()
    return out


def _peer(t: _Table, default: PeerConfig) -> PeerConfig:
    p = DEFAULT_POLICY
    out = PeerConfig(
        republish_s=t.integer("republish_s", default.republish_s, 10, 3_600),
        area_rings=t.integer("area_rings", default.area_rings, 0, 3),
        request_resolution=t.integer(
            "request_resolution",
            default.request_resolution,
            p.min_cell_resolution,
            p.max_cell_resolution,
        ),
    )
    t.done()
    return out


# -- value rules


def _is_loopback(host: str) -> bool | None:
    """Whether ``host`` is a loopback address; None if it is no address at all."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return None


def _protocols(text: str) -> list[str] | str:
    """The protocol names of multiaddr ``text``, or why it does not parse."""
    if not text.startswith("/"):
        return "a multiaddr starts with '/', e.g. /ip4/127.0.0.1/tcp/4001"
    try:
        return [p.name for p in multiaddr.Multiaddr(text).protocols()]
    except (ValueError, TypeError) as exc:
        return f"not a multiaddr ({exc})"


def _check_listen(text: str) -> str | None:
    names = _protocols(text)
    if isinstance(names, str):
        return names
    if len(names) < 2 or names[0] not in _LISTEN_HOSTS or names[1] not in _TRANSPORTS:
        return "must be /ip4/<address>/tcp/<port> or /ip6/<address>/tcp/<port>"
    if "p2p" in names:
        return "a listen address has no /p2p/ part: the peer id comes from the node's key"
    return None


def _check_bootstrap(text: str) -> str | None:
    names = _protocols(text)
    if isinstance(names, str):
        return names
    if not names or names[-1] != "p2p":
        return "must end in /p2p/<peer id>, so the node knows whom it dials"
    if len(names) != 3 or names[0] not in _DIAL_HOSTS or names[1] not in _TRANSPORTS:
        return "must be /ip4|ip6|dns|dns4|dns6/<host>/tcp/<port>/p2p/<peer id>"
    return None


# -- reading tables


@dataclass(frozen=True, slots=True)
class _Where:
    """The file a value came from, and its text, to point at a line."""

    source: str
    text: str

    def line_of(self, path: str) -> int | None:
        """Best effort: the line that sets key ``path``, for ``[table]`` and dotted keys."""
        path = re.sub(r"\[\d+\]$", "", path)
        table = ""
        for n, line in enumerate(self.text.splitlines(), 1):
            s = line.split("#", 1)[0].strip()
            header = re.fullmatch(r"\[\s*([\w.\- ]+?)\s*\]", s)
            if header:
                table = re.sub(r"\s*\.\s*", ".", header.group(1))
                if table == path:
                    return n
                continue
            full = f"{table}.{s}" if table else s
            if re.match(rf"{re.escape(path)}\s*=", re.sub(r"\s*\.\s*", ".", full)):
                return n
        return None

    def error(self, path: str, value: object, rule: str) -> ConfigError:
        line = self.line_of(path) if path else None
        where = self.source if line is None else f"{self.source}, line {line}"
        return ConfigError(f"{describe(path, value, rule)} ({where})")


class _Table:
    """One TOML table being read: typed getters that name the key path, then ``done``."""

    def __init__(self, data: object, path: str, where: _Where) -> None:
        if not isinstance(data, dict):
            raise where.error(path, data, "must be a table")
        self.data: dict[str, object] = data
        self.path = path
        self.where = where
        self.read: set[str] = set()

    def _key(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail(self, path: str, value: object, rule: str) -> None:
        raise self.where.error(path, value, rule)

    def _get(self, key: str) -> object:
        self.read.add(key)
        return self.data.get(key)

    def table(self, key: str) -> _Table:
        value = self._get(key)
        return _Table({} if value is None else value, self._key(key), self.where)

    @overload
    def string(self, key: str, default: str) -> str: ...
    @overload
    def string(self, key: str, default: None) -> str | None: ...
    def string(self, key: str, default: str | None) -> str | None:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, str) or not value:
            self.fail(self._key(key), value, "must be a non-empty string")
        return cast(str, value)

    def choice(self, key: str, default: str, choices: tuple[str, ...]) -> str:
        value = self._get(key)
        if value is None:
            return default
        if value not in choices:
            self.fail(self._key(key), value, f"must be one of {', '.join(map(repr, choices))}")
        return cast(str, value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(self._key(key), value, "must be true or false")
        return cast(bool, value)

    def integer(self, key: str, default: int, lo: int, hi: int) -> int:
        value = self._get(key)
        if value is None:
            return default
        if type(value) is not int:
            self.fail(self._key(key), value, f"must be a whole number, {lo}..{hi}")
        if not lo <= cast(int, value) <= hi:
            self.fail(self._key(key), value, f"must be {lo}..{hi}")
        return cast(int, value)

    def number(self, key: str, default: float, lo: float, hi: float, what: str) -> float:
        value = self._get(key)
        if value is None:
            return default
        if type(value) not in (int, float):
            self.fail(self._key(key), value, f"must be a number: {what}")
        number = float(cast(float, value))
        if not math.isfinite(number) or not lo <= number <= hi:
            self.fail(self._key(key), value, f"must be {what}")
        return number

    def addrs(self, key: str, default: tuple[str, ...], check: _AddrCheck) -> tuple[str, ...]:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, list):
            self.fail(self._key(key), value, "must be a list of multiaddr strings")
        out: list[str] = []
        for i, item in enumerate(cast(list[object], value)):
            problem = check(item) if isinstance(item, str) else "must be a multiaddr string"
            if problem is not None:
                self.fail(f"{self._key(key)}[{i}]", item, problem)
            out.append(cast(str, item))
        return tuple(out)

    def done(self) -> None:
        """Refuse any key nobody read: a typo must not silently fall back to a default."""
        for key in self.data:
            if key not in self.read:
                known = sorted(self.read)
                near = difflib.get_close_matches(key, known, n=1)
                hint = f"did you mean {near[0]!r}? " if near else ""
                rule = f"unknown key; {hint}known here: {', '.join(known)}"
                self.fail(self._key(key), self.data[key], rule)
