"""Scenario files: one TOML table per part of a run, read into typed settings.

Every key is known, typed and range-checked; a bad one is a
``ScenarioError`` naming the key (``section.key``), the value and the rule.
Durations carry their unit in the key (``_min``, ``_s``, ``_ms``). The
``[city]`` and ``[demand]`` tables belong to ``sim.city`` and ``sim.demand``
and are read by their own specs. docs/simulator.md §Scenarios lists every key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

from protocol.errors import ConfigError, describe
from protocol.peer.params import LedgerMode, PeerParams, RidePolicy
from sim.agents.adversaries import SPAM_KINDS, CollusionPolicy, SpamPolicy
from sim.agents.policy import DriverPolicy, RiderPolicy
from sim.hosts import Churn, NetParams, Partition

MINUTE_MS = 60_000


class ScenarioError(ConfigError):
    """A scenario file is wrong; the message names ``section.key``, the value and the rule."""


# Shared immutable defaults (frozen dataclasses), as protocol.peer.params does.
_SPAM, _COLLUSION, _NET, _PEER = SpamPolicy(), CollusionPolicy(), NetParams(), PeerParams()
_RIDER, _DRIVER = RiderPolicy(), DriverPolicy()


@dataclass(frozen=True, slots=True)
class Adversaries:
    spammers: int = 0
    spam: SpamPolicy = _SPAM
    rings: int = 0
    collusion: CollusionPolicy = _COLLUSION
    #: Equivocating authors: each is two rings whose drivers share one key.
    equivocators: int = 0


_ADVERSARIES = Adversaries()


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything one run needs, except the seed it may be run with."""

    name: str
    seed: int
    #: Virtual time of the run's start (epoch ms); trips are timed from it.
    start_ms: int
    #: Trips start within this; the run goes on ``drain_ms`` more to finish rides.
    duration_ms: int
    drain_ms: int
    city: Mapping[str, Any]
    demand: Mapping[str, Any]
    network: NetParams = _NET
    peer: PeerParams = _PEER
    rider: RiderPolicy = _RIDER
    driver: DriverPolicy = _DRIVER
    adversaries: Adversaries = _ADVERSARIES
    #: One honest member who only listens, online throughout: the reference ledger.
    observer: bool = True
    #: docs/simulator.md §Engine: check each distinct signature once per run.
    shared_signature_checks: bool = True
    source: str = field(default="", compare=False)

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.duration_ms + self.drain_ms

    def with_seed(self, seed: int) -> Scenario:
        return replace(self, seed=seed)


def load(path: str | Path) -> Scenario:
    """Read and check a scenario file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ScenarioError(describe("scenario", str(p), f"cannot read: {e.strerror}")) from None
    return parse(text, source=str(p))


def parse(text: str, source: str = "<string>") -> Scenario:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(describe("scenario", source, f"not TOML: {e}")) from None
    return from_table(data, source)


# -- key readers: each returns a converter that checks and converts one value


Reader = Callable[[str, object], Any]


def _number(key: str, raw: object) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ScenarioError(describe(key, raw, "must be a number"))
    if raw < 0:
        raise ScenarioError(describe(key, raw, "must be >= 0"))
    return float(raw)


def minutes(key: str, raw: object) -> int:
    return round(_number(key, raw) * MINUTE_MS)


def seconds(key: str, raw: object) -> int:
    return round(_number(key, raw) * 1000)


def millis(key: str, raw: object) -> int:
    return round(_number(key, raw))


def share(key: str, raw: object) -> float:
    value = _number(key, raw)
    if value > 1:
        raise ScenarioError(describe(key, raw, "must be a share in 0..1"))
    return value


def count(key: str, raw: object) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise ScenarioError(describe(key, raw, "must be a whole number >= 0"))
    return raw


def positive(key: str, raw: object) -> int:
    value = count(key, raw)
    if value == 0:
        raise ScenarioError(describe(key, raw, "must be >= 1"))
    return value


def flag(key: str, raw: object) -> bool:
    if not isinstance(raw, bool):
        raise ScenarioError(describe(key, raw, "must be true or false"))
    return raw


def text(key: str, raw: object) -> str:
    if not isinstance(raw, str) or not raw:
        raise ScenarioError(describe(key, raw, "must be a non-empty string"))
    return raw


def _section(
    data: Mapping[str, Any], name: str, keys: Mapping[str, tuple[str, Reader]]
) -> dict[str, Any]:
    """``{field: value}`` from table ``name`` (missing: empty), refusing unknown keys."""
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise ScenarioError(describe(name, table, "must be a table"))
    out: dict[str, Any] = {}
    for key, raw in table.items():
        if key not in keys:
            raise ScenarioError(
                describe(f"{name}.{key}", raw, f"unknown key; known: {', '.join(sorted(keys))}")
            )
        field_name, read = keys[key]
        out[field_name] = read(f"{name}.{key}", raw)
    return out


def _ledger(key: str, raw: object) -> str:
    modes = get_args(LedgerMode)
    if raw not in modes:
        raise ScenarioError(describe(key, raw, f"must be one of {', '.join(modes)}"))
    return str(raw)


def _kinds(key: str, raw: object) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw or any(k not in SPAM_KINDS for k in raw):
        raise ScenarioError(describe(key, raw, f"must be a list of {', '.join(SPAM_KINDS)}"))
    return tuple(raw)


def _instant(key: str, raw: object) -> int:
    if isinstance(raw, datetime):
        when = raw
    elif isinstance(raw, str):
        try:
            when = datetime.fromisoformat(raw)
        except ValueError:
            raise ScenarioError(describe(key, raw, "must be an ISO 8601 time")) from None
    else:
        raise ScenarioError(describe(key, raw, "must be a time like 2026-03-02T07:00:00Z"))
    if when.tzinfo is None:
        raise ScenarioError(describe(key, raw, "must carry a time zone (Z for UTC)"))
    return round(when.astimezone(UTC).timestamp() * 1000)


RIDER_KEYS: Mapping[str, tuple[str, Reader]] = {
    "lead_min": ("lead_ms", minutes),
    "patience_min": ("patience_ms", minutes),
    "collect_s": ("collect_ms", seconds),
    "no_show": ("no_show", share),
    "max_walk_m": ("max_walk_m", positive),
    "countersign_s": ("countersign_ms", seconds),
    "linger_min": ("linger_ms", minutes),
}
DRIVER_KEYS: Mapping[str, tuple[str, Reader]] = {
    "lead_min": ("lead_ms", minutes),
    "departure_flex_min": ("departure_flex_ms", minutes),
    "max_detour_m": ("max_detour_m", positive),
    "max_detour_s": ("max_detour_s", positive),
    "currency": ("currency", text),
    "cost_base_minor": ("cost_base_minor", count),
    "cost_per_km_minor": ("cost_per_km_minor", count),
    "answer_s": ("answer_ms", seconds),
    "confirm_s": ("confirm_ms", seconds),
    "no_show_wait_min": ("no_show_wait_ms", minutes),
    "linger_min": ("linger_ms", minutes),
}
NETWORK_KEYS: Mapping[str, tuple[str, Reader]] = {
    "latency_median_ms": ("latency_median_ms", _number),
    "bootstrap": ("bootstrap", count),
    "latency_p99_ms": ("latency_p99_ms", _number),
    "loss": ("loss", share),
}
CHURN_KEYS: Mapping[str, tuple[str, Reader]] = {
    "share": ("share", share),
    "mean_online_min": ("mean_online_ms", minutes),
    "mean_offline_min": ("mean_offline_ms", minutes),
    "restart": ("restart", share),
}
PARTITION_KEYS: Mapping[str, tuple[str, Reader]] = {
    "start_min": ("start_ms", minutes),
    "end_min": ("end_ms", minutes),
    "share": ("share", share),
}
PEER_KEYS: Mapping[str, tuple[str, Reader]] = {
    "area_rings": ("area_rings", count),
    "listen": ("listen", text),
    "request_resolution": ("request_resolution", positive),
    "republish_min": ("republish_ms", minutes),
    "republish_jitter_s": ("republish_jitter_ms", seconds),
    "heads_min": ("heads_ms", minutes),
    "heads_fanout": ("heads_fanout", positive),
    "sweep_min": ("sweep_ms", minutes),
    "max_rides": ("max_rides", positive),
    # "full": every log heard of; "own": a light member (a phone), SPEC §10.6.
    "ledger": ("ledger", _ledger),
}
ADVERSARY_KEYS: Mapping[str, tuple[str, Reader]] = {
    "spammers": ("spammers", count),
    "spam_per_min": ("per_min", _number),
    "spam_kinds": ("kinds", _kinds),
    "rings": ("rings", count),
    "ring_riders": ("riders", positive),
    "ring_every_min": ("every_ms", minutes),
    "ring_claimed_km": ("claimed_m", lambda k, v: round(_number(k, v) * 1000)),
    "ring_ride_min": ("ride_ms", minutes),
    "equivocators": ("equivocators", count),
}
RUN_KEYS: Mapping[str, tuple[str, Reader]] = {
    "name": ("name", text),
    "seed": ("seed", count),
    "start": ("start_ms", _instant),
    "duration_min": ("duration_ms", minutes),
    "drain_min": ("drain_ms", minutes),
    "observer": ("observer", flag),
    "shared_signature_checks": ("shared_signature_checks", flag),
}
TABLES = frozenset({"city", "demand", "network", "peer", "rider", "driver", "adversaries"})


def from_table(data: Mapping[str, Any], source: str = "<table>") -> Scenario:
    """A ``Scenario`` from parsed TOML."""
    top = {k: v for k, v in data.items() if k not in TABLES}
    run = _section({"run": top}, "run", RUN_KEYS)
    if "name" not in run:
        raise ScenarioError(describe("name", None, "is required"))
    for key in ("city", "demand"):
        if not isinstance(data.get(key, {}), dict):
            raise ScenarioError(describe(key, data[key], "must be a table"))

    network = data.get("network", {})
    if not isinstance(network, dict):
        raise ScenarioError(describe("network", network, "must be a table"))
    plain = {k: v for k, v in network.items() if k not in ("churn", "partitions")}
    net = _section({"network": plain}, "network", NETWORK_KEYS)
    churn = Churn(**_section(network, "churn", CHURN_KEYS))
    parts_raw = network.get("partitions", [])
    if not isinstance(parts_raw, list):
        raise ScenarioError(
            describe("network.partitions", parts_raw, "must be [[network.partitions]] tables")
        )
    start_ms = run.get("start_ms", _instant("start", "2026-03-02T07:00:00+00:00"))
    partitions = []
    for i, part in enumerate(parts_raw):
        values = _section(
            {f"network.partitions[{i}]": part}, f"network.partitions[{i}]", PARTITION_KEYS
        )
        for key in ("start_ms", "end_ms", "share"):
            if key not in values:
                raise ScenarioError(
                    describe(
                        f"network.partitions[{i}]", part, f"needs {key.replace('_ms', '_min')}"
                    )
                )
        if values["end_ms"] <= values["start_ms"]:
            raise ScenarioError(
                describe(
                    f"network.partitions[{i}].end_min", part["end_min"], "must be after start_min"
                )
            )
        partitions.append(
            Partition(start_ms + values["start_ms"], start_ms + values["end_ms"], values["share"])
        )
    net_params = NetParams(**net, churn=churn, partitions=tuple(partitions))
    if net_params.latency_median_ms < 1 or net_params.latency_p99_ms < net_params.latency_median_ms:
        raise ScenarioError(
            describe(
                "network.latency_p99_ms",
                net_params.latency_p99_ms,
                "must be >= latency_median_ms, which must be >= 1",
            )
        )

    peer_values = _section(data, "peer", PEER_KEYS)
    try:
        # The simulator's members sign their receipt halves through the Peer's
        # policy for drivers (the default), and countersign by hand (rider policy).
        peer = PeerParams(**peer_values, rides=RidePolicy())
    except ConfigError as e:
        raise ScenarioError(f"peer: {e}") from None

    adv = _section(data, "adversaries", ADVERSARY_KEYS)
    spam = SpamPolicy(**{k: adv.pop(k) for k in ("per_min", "kinds") if k in adv})
    ring_fields = ("riders", "every_ms", "claimed_m", "ride_ms")
    collusion = CollusionPolicy(**{k: adv.pop(k) for k in ring_fields if k in adv})
    adversaries = Adversaries(spam=spam, collusion=collusion, **adv)

    return _build(run, start_ms, data, net_params, peer, adversaries, source)


def _demand_ms(demand: Mapping[str, Any]) -> int:
    """The run's demand period when the file gives none: the demand table's own."""
    raw = demand.get("duration_min", 60)
    return minutes("demand.duration_min", raw)


def _build(
    run: dict[str, Any],
    start_ms: int,
    data: Mapping[str, Any],
    network: NetParams,
    peer: PeerParams,
    adversaries: Adversaries,
    source: str,
) -> Scenario:
    return Scenario(
        name=run["name"],
        seed=run.get("seed", 1),
        start_ms=start_ms,
        duration_ms=run.get("duration_ms", _demand_ms(data.get("demand", {}))),
        drain_ms=run.get("drain_ms", 20 * MINUTE_MS),
        city=dict(data.get("city", {})),
        demand=dict(data.get("demand", {})),
        network=network,
        peer=peer,
        rider=RiderPolicy(**_section(data, "rider", RIDER_KEYS)),
        driver=DriverPolicy(**_section(data, "driver", DRIVER_KEYS)),
        adversaries=adversaries,
        observer=run.get("observer", True),
        shared_signature_checks=run.get("shared_signature_checks", True),
        source=source,
    )
