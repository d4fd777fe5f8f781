"""A node's configuration: a frozen tree of sections, read from TOML, with defaults for one machine.

Precedence, lowest first: the defaults here, the TOML file, the environment
(``LAZOOZ_DATA_DIR``), then whatever the command line sets
(``Config.with_data_dir``). Every value is checked once, here: an unknown
key, a wrong type, a value out of range, an address that does not parse or a
home off the Earth is a ``ConfigError`` naming the key path, the value, the
rule and where it came from. docs/node.md, "Configuration".

The sections are in ``config_schema``, how each is read in
``config_sections``, the table reader in ``config_table`` and the address
and URL rules in ``config_rules``; this module is the public face.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path

from lazooz import config_sections as sections
from lazooz.config_schema import (
    DISCOVERIES,
    LOG_FORMATS,
    LOG_LEVELS,
    ROUTER_BACKENDS,
    AppConfig,
    Config,
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
from lazooz.config_table import Table, Where
from protocol.errors import ConfigError, describe

__all__ = [
    "DISCOVERIES",
    "ENV_DATA_DIR",
    "LOG_FORMATS",
    "LOG_LEVELS",
    "ROUTER_BACKENDS",
    "AppConfig",
    "Config",
    "ControlConfig",
    "Discovery",
    "GossipConfig",
    "HomeConfig",
    "LogConfig",
    "LogFormat",
    "LogLevel",
    "MetricsConfig",
    "NetworkConfig",
    "NodeConfig",
    "NotifyConfig",
    "PeerConfig",
    "RouterBackend",
    "RouterConfig",
    "default_data_dir",
    "defaults",
    "dump",
    "items",
    "load",
    "parse",
]

ENV_DATA_DIR = "LAZOOZ_DATA_DIR"


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
    root = Table(data, "", Where(source, text))
    base = defaults(env={k: v for k, v in env.items() if k != ENV_DATA_DIR})
    config = Config(
        node=sections.node(root.table("node"), base.node, base_dir or Path.cwd()),
        net=sections.net(root.table("net"), base.net),
        control=sections.endpoint(root.table("control"), base.control),
        metrics=sections.endpoint(root.table("metrics"), base.metrics),
        log=sections.log(root.table("log"), base.log),
        gossip=sections.gossip(root.table("gossip"), base.gossip),
        peer=sections.peer(root.table("peer"), base.peer),
        app=sections.app(root.table("app"), base.app),
        router=sections.router(root.table("router"), base.router),
        notify=sections.notify(root.table("notify"), base.notify),
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
