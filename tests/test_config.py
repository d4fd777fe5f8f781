"""The node's TOML configuration: defaults for one machine, and every bad value refused by name."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lazooz import config as cfg
from lazooz.config import Config
from protocol.errors import ConfigError
from protocol.peer.params import PeerParams

ENV = {"HOME": "/home/ada"}
DOCS = Path(__file__).resolve().parent.parent / "docs" / "node.md"
PEER_ID = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"


def parse(text: str, env: dict[str, str] | None = None) -> Config:
    return cfg.parse(text, source="cfg.toml", base_dir=Path("/etc/lazooz"), env=env or ENV)


# -- defaults


def test_the_defaults_run_one_node_on_one_machine_reachable_from_it_alone() -> None:
    c = cfg.defaults(ENV)
    assert c.node.data_dir == Path("/home/ada/.local/share/lazooz")
    assert c.node.listen == ("/ip4/127.0.0.1/tcp/0",)
    assert c.node.bootstrap == ()
    assert (c.control.host, c.control.port, c.control.allow_remote) == ("127.0.0.1", 0, False)
    assert not c.metrics.enabled and c.metrics.host == "127.0.0.1"
    assert (c.log.format, c.log.level) == ("console", "info")
    assert c.gossip.heartbeat_s == 1
    assert c.net == cfg.NetworkConfig((), relay_hop=False, redial=16, discovery="dht")
    assert c.app.tile_url == ""  # no map tiles unless configured
    assert (c.router.backend, c.router.osrm_url) == ("embedded", "")
    assert -90 <= c.node.home.lat <= 90 and -180 <= c.node.home.lon <= 180
    assert c.source == "defaults"


def test_the_peer_defaults_are_the_protocols() -> None:
    assert cfg.defaults(ENV).peer.params() == PeerParams()


def test_an_empty_file_is_the_defaults() -> None:
    assert parse("") == dataclasses.replace(cfg.defaults(ENV), source="cfg.toml")


def test_xdg_data_home_moves_the_default_data_dir() -> None:
    c = cfg.defaults({**ENV, "XDG_DATA_HOME": "/data"})
    assert c.node.data_dir == Path("/data/lazooz")


# -- a file with every key


FULL = f"""
[node]
data_dir = "/var/lib/lazooz"
listen = ["/ip4/0.0.0.0/tcp/4001", "/ip6/::/tcp/4001"]
bootstrap = ["/dns4/boot.example.org/tcp/4001/p2p/{PEER_ID}"]

[node.home]
lat = -33.8688
lon = 151

[net]
relays = ["/ip4/10.0.0.9/tcp/4001/p2p/{PEER_ID}"]
relay_hop = true
redial = 4
discovery = "off"

[control]
host = "::1"
port = 8321

[metrics]
enabled = true
host = "10.0.0.5"
port = 9100
allow_remote = true

[log]
format = "json"
level = "debug"

[gossip]
heartbeat_s = 2

[peer]
republish_s = 120
area_rings = 2
request_resolution = 8
listen = "needed"
ledger = "own"

[app]
tile_url = "https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png"

[router]
backend = "osrm"
osrm_url = "http://127.0.0.1:5000"
"""


def test_every_key_of_a_file_is_read() -> None:
    c = parse(FULL)
    assert c.node.data_dir == Path("/var/lib/lazooz")
    assert c.node.listen == ("/ip4/0.0.0.0/tcp/4001", "/ip6/::/tcp/4001")
    assert c.node.bootstrap == (f"/dns4/boot.example.org/tcp/4001/p2p/{PEER_ID}",)
    assert (c.node.home.lat, c.node.home.lon) == (-33.8688, 151.0)
    assert c.node.home.point().lat_e6 == -33_868_800
    assert (c.control.host, c.control.port, c.control.allow_remote) == ("::1", 8321, False)
    assert c.metrics == cfg.MetricsConfig(True, "10.0.0.5", 9100, True)
    assert (c.log.format, c.log.level, c.gossip.heartbeat_s) == ("json", "debug", 2)
    params = c.peer.params()
    assert (params.republish_ms, params.area_rings, params.request_resolution) == (120_000, 2, 8)
    assert params.listen == "needed"
    assert params.ledger == "own"
    assert c.net == cfg.NetworkConfig(
        relays=(f"/ip4/10.0.0.9/tcp/4001/p2p/{PEER_ID}",), relay_hop=True, redial=4, discovery="off"
    )
    assert c.app.tile_url == "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    assert c.router == cfg.RouterConfig("osrm", "http://127.0.0.1:5000")
    assert c.source == "cfg.toml"


def test_a_config_file_is_loaded_from_disk(tmp_path: Path) -> None:
    path = tmp_path / "lazooz.toml"
    path.write_text('[node]\ndata_dir = "data"\n[log]\nlevel = "warning"\n')
    c = cfg.load(path, env=ENV)
    assert c.node.data_dir == tmp_path / "data"  # relative to the file, not the cwd
    assert c.log.level == "warning"
    assert c.source == str(path)
    assert cfg.load(None, env=ENV) == cfg.defaults(ENV)


# -- the data directory


def test_a_relative_data_dir_is_taken_from_the_config_files_directory() -> None:
    assert parse('node.data_dir = "d"').node.data_dir == Path("/etc/lazooz/d")
    assert parse('node.data_dir = "~/d"').node.data_dir == Path.home() / "d"


def test_the_environment_overrides_the_file_and_the_command_line_overrides_both() -> None:
    text = '[node]\ndata_dir = "/from/file"\n'
    assert parse(text).node.data_dir == Path("/from/file")
    env = {**ENV, cfg.ENV_DATA_DIR: "/from/env"}
    c = parse(text, env)
    assert c.node.data_dir == Path("/from/env")
    assert cfg.defaults(env).node.data_dir == Path("/from/env")
    assert c.with_data_dir(Path("/from/flag")).node.data_dir == Path("/from/flag")
    assert parse(text, {**ENV, cfg.ENV_DATA_DIR: ""}).node.data_dir == Path("/from/file")


# -- bad values: each names the key path, the value, the rule, and the line

BAD = [
    # unknown keys and tables: a typo never falls back to a default
    ("[gossip]\nheartbeat = 2", "gossip.heartbeat=2", "did you mean 'heartbeat_s'", 2),
    ("[nodes]\nlisten = []", "nodes=", "unknown key; did you mean 'node'", 1),
    ("[node.home]\nlat = 1\nlatitude = 2", "node.home.latitude=2", "unknown key", 3),
    ("[control]\nallow_all = true", "control.allow_all=True", "known here: allow_remote", 2),
    # wrong types
    ('[control]\nport = "80"', "control.port='80'", "must be a whole number", 2),
    ("[peer]\narea_rings = true", "peer.area_rings=True", "must be a whole number", 2),
    ("[gossip]\nheartbeat_s = 1.5", "gossip.heartbeat_s=1.5", "must be a whole number", 2),
    ("node = 5", "node=5", "must be a table", 1),
    ('[node]\nlisten = "/ip4/127.0.0.1/tcp/0"', "node.listen=", "must be a list", 2),
    ("[node]\nbootstrap = [5]", "node.bootstrap[0]=5", "must be a multiaddr string", 2),
    ("[node]\ndata_dir = 5", "node.data_dir=5", "must be a non-empty string", 2),
    ('[node]\ndata_dir = ""', "node.data_dir=''", "must be a non-empty string", 2),
    ('[metrics]\nenabled = "yes"', "metrics.enabled='yes'", "must be true or false", 2),
    ('[node.home]\nlat = "north"', "node.home.lat='north'", "must be a number", 2),
    # out of range
    ("[control]\nport = 70000", "control.port=70000", "must be 0..65535", 2),
    ("[metrics]\nport = -1", "metrics.port=-1", "must be 0..65535", 2),
    ("[gossip]\nheartbeat_s = 0", "gossip.heartbeat_s=0", "must be 1..60", 2),
    ("[peer]\nrepublish_s = 5", "peer.republish_s=5", "must be 10..3600", 2),
    ("[peer]\nrequest_resolution = 12", "peer.request_resolution=12", "must be 5..9", 2),
    ("[peer]\narea_rings = -1", "peer.area_rings=-1", "must be 0..3", 2),
    ('[peer]\nlisten = "some"', "peer.listen='some'", "must be one of 'all', 'needed'", 2),
    ('[log]\nlevel = "verbose"', "log.level='verbose'", "must be one of 'debug'", 2),
    ('[log]\nformat = "xml"', "log.format='xml'", "must be one of 'console', 'json'", 2),
    # off the Earth
    ("[node.home]\nlat = 90.5", "node.home.lat=90.5", "must be a latitude, -90..90", 2),
    ("[node.home]\nlat = -91", "node.home.lat=-91", "must be a latitude", 2),
    ("[node.home]\nlon = 180.1", "node.home.lon=180.1", "must be a longitude, -180..180", 2),
    ("[node.home]\nlon = nan", "node.home.lon=nan", "must be a longitude", 2),
    ("node.home.lon = -inf", "node.home.lon=-inf", "must be a longitude", 1),
    # addresses that do not parse, or cannot be used where they are
    ('node.listen = ["tcp:4001"]', "node.listen[0]='tcp:4001'", "starts with '/'", 1),
    ('node.listen = ["/ip4/1.2.3/tcp/1"]', "node.listen[0]=", "not a multiaddr", 1),
    ('node.listen = ["/ip4/127.0.0.1/tcp/99999"]', "node.listen[0]=", "not a multiaddr", 1),
    ('node.listen = ["/dns4/a.org/tcp/1"]', "node.listen[0]=", "must be /ip4/<address>", 1),
    ('node.listen = ["/ip4/127.0.0.1"]', "node.listen[0]=", "must be /ip4/<address>", 1),
    (f'node.listen = ["/ip4/127.0.0.1/tcp/1/p2p/{PEER_ID}"]', "node.listen[0]=", "no /p2p/", 1),
    ("node.listen = []", "node.listen=[]", "at least one address", 1),
    ('node.bootstrap = ["/ip4/1.2.3.4/tcp/1"]', "node.bootstrap[0]=", "/p2p/<peer id>", 1),
    (
        'node.bootstrap = ["/ip4/1.2.3.4/tcp/1/p2p/notapeer"]',
        "node.bootstrap[0]=",
        "not a multiaddr",
        1,
    ),
    (f'node.bootstrap = ["/p2p/{PEER_ID}"]', "node.bootstrap[0]=", "must be /ip4|ip6|dns", 1),
    ('net.relays = ["/ip4/1.2.3.4/tcp/1"]', "net.relays[0]=", "/p2p/<peer id>", 1),
    ("[net]\nrelays = 5", "net.relays=5", "must be a list", 2),
    ("[net]\nredial = 300", "net.redial=300", "must be 0..256", 2),
    ('[net]\nrelay_hop = "yes"', "net.relay_hop='yes'", "must be true or false", 2),
    ('[net]\ndiscovery = "mdns"', "net.discovery='mdns'", "must be one of 'dht', 'off'", 2),
    # URLs: http or https, a host, and for tiles the three placeholders
    ('[app]\ntile_url = "ftp://t/{z}/{x}/{y}"', "app.tile_url='ftp://", "http:// or https://", 2),
    ('[app]\ntile_url = "https://t/{z}/{x}"', "app.tile_url='https://t/{z}/{x}'", "lacks {y}", 2),
    ('[app]\ntile_url = "https:///{z}/{x}/{y}"', "app.tile_url=", "must name a host", 2),
    ("[app]\ntile_url = 5", "app.tile_url=5", "must be a string", 2),
    ('[router]\nbackend = "graphhopper"', "router.backend='graphhopper'", "'embedded', 'osrm'", 2),
    ('[router]\nosrm_url = "localhost:5000"', "router.osrm_url='localhost:5000'", "http://", 2),
    ('[router]\nosrm_url = "http://h:99999"', "router.osrm_url=", "not a URL", 2),
    ('[router]\nosrm_url = "http://a b"', "router.osrm_url='http://a b'", "spaces", 2),
    # the control API and metrics stay on this machine unless asked
    ('[control]\nhost = "0.0.0.0"', "control.host='0.0.0.0'", "control.allow_remote = true", 2),
    ('[control]\nhost = "::"', "control.host='::'", "reachable from other machines", 2),
    ('[metrics]\nhost = "192.168.1.4"', "metrics.host='192.168.1.4'", "metrics.allow_remote", 2),
    ('[control]\nhost = "example.org"', "control.host='example.org'", "an IP address", 2),
    (
        "[control]\nport = 9000\n[metrics]\nenabled = true\nport = 9000",
        "metrics.port=9000",
        "must differ from control.port",
        5,
    ),
]


@pytest.mark.parametrize(("text", "shown", "rule", "line"), BAD, ids=[b[1] for b in BAD])
def test_a_bad_value_is_refused_naming_key_value_rule_and_line(
    text: str, shown: str, rule: str, line: int
) -> None:
    with pytest.raises(ConfigError) as info:
        parse(text)
    message = str(info.value)
    assert message.startswith(shown), message
    assert rule in message, message
    assert message.endswith(f"(cfg.toml, line {line})"), message


def test_the_osrm_backend_needs_its_url() -> None:
    with pytest.raises(ConfigError) as info:
        parse('[router]\nbackend = "osrm"')
    assert str(info.value) == (
        "router.osrm_url='': is required when router.backend = \"osrm\" (cfg.toml)"
    )
    # an URL given for the embedded router is kept, for switching back and forth
    c = parse('router.osrm_url = "https://osrm.example/route"')
    assert (c.router.backend, c.router.osrm_url) == ("embedded", "https://osrm.example/route")


def test_an_allowed_remote_host_is_taken() -> None:
    c = parse('[control]\nhost = "0.0.0.0"\nallow_remote = true')
    assert (c.control.host, c.control.allow_remote) == ("0.0.0.0", True)
    assert parse('control.host = "localhost"').control.host == "localhost"


def test_a_file_that_is_not_toml_is_named_with_the_parsers_position() -> None:
    with pytest.raises(ConfigError, match=r"config file='cfg.toml': is not valid TOML.*line 2"):
        parse("[node]\nlisten = [1, }\n")


def test_a_missing_or_unreadable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read") as info:
        cfg.load(tmp_path / "nope.toml", env=ENV)
    assert "nope.toml" in str(info.value)
    (tmp_path / "latin1.toml").write_bytes(b'log.level = "d\xe9bug"\n')
    with pytest.raises(ConfigError, match="cannot be read"):
        cfg.load(tmp_path / "latin1.toml", env=ENV)


# -- writing a configuration back


def test_the_defaults_written_out_read_back_the_same() -> None:
    c = cfg.defaults(ENV)
    assert parse(cfg.dump(c)) == dataclasses.replace(c, source="cfg.toml")


ADDRS = ["/ip4/127.0.0.1/tcp/0", "/ip4/0.0.0.0/tcp/4001", "/ip6/::1/tcp/4002"]
BOOT = [f"/ip4/10.1.2.3/tcp/4001/p2p/{PEER_ID}", f"/dns6/b.example/tcp/1/p2p/{PEER_ID}"]


@st.composite
def configs(draw: st.DrawFn) -> Config:
    node = cfg.NodeConfig(
        data_dir=Path("/srv") / draw(st.text("abc é", min_size=1, max_size=8)).strip("/ "),
        listen=tuple(draw(st.lists(st.sampled_from(ADDRS), min_size=1, max_size=3))),
        bootstrap=tuple(draw(st.lists(st.sampled_from(BOOT), max_size=2))),
        home=cfg.HomeConfig(draw(st.floats(-90, 90)), draw(st.floats(-180, 180))),
    )
    port = st.integers(0, 65_535)
    return Config(
        node=node,
        control=cfg.ControlConfig("127.0.0.1", draw(port), draw(st.booleans())),
        metrics=cfg.MetricsConfig(False, "::1", draw(port), draw(st.booleans())),
        log=cfg.LogConfig(
            draw(st.sampled_from(cfg.LOG_FORMATS)), draw(st.sampled_from(cfg.LOG_LEVELS))
        ),
        gossip=cfg.GossipConfig(draw(st.integers(1, 60))),
        peer=cfg.PeerConfig(draw(st.integers(10, 3600)), draw(st.integers(0, 3)), 6),
        net=cfg.NetworkConfig(
            tuple(draw(st.lists(st.sampled_from(BOOT), max_size=2))),
            draw(st.booleans()),
            draw(st.integers(0, 256)),
            draw(st.sampled_from(cfg.DISCOVERIES)),
        ),
        app=cfg.AppConfig(draw(st.sampled_from(["", "http://[::1]:8/t/{z}/{x}/{y}.png"]))),
        router=cfg.RouterConfig(
            draw(st.sampled_from(cfg.ROUTER_BACKENDS)), "https://osrm.example:5000/x?y=é"
        ),
        source="cfg.toml",
    )


@given(configs())
def test_any_valid_configuration_written_out_reads_back_the_same(c: Config) -> None:
    if c.node.data_dir == Path("/srv"):
        return  # an all-blank name: not a directory anyone would write
    assert parse(cfg.dump(c)) == c


# -- the documentation


def documented_keys() -> dict[str, str]:
    """Key path -> default, from the table in docs/node.md "Configuration"."""
    text = DOCS.read_text()
    section = text[text.index("## Configuration") :]
    rows = re.findall(r"^\| `([a-z_.]+)` \| `([^`]*)` \|", section, flags=re.MULTILINE)
    return dict(rows)


def test_the_docs_list_every_key_with_its_default() -> None:
    documented = documented_keys()
    c = cfg.defaults(ENV)
    assert list(documented) == [path for path, _ in cfg.items(c)]
    for path, value in cfg.items(c):
        if path == "node.data_dir":
            continue  # depends on the environment; the docs say how
        shown = tomllib.loads(f"v = {documented[path]}")["v"]
        expected = list(value) if isinstance(value, tuple) else value
        assert shown == expected, path
