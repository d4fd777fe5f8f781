"""Parameter sweeps on Dask: ``lazooz-sim sweep SCENARIO.toml --param NAME=V1,V2,...``.

A sweep is the grid of every combination of the ``--param`` values, each
point run with ``seeds`` seeds (the point's own seed and the next ones).
``NAME`` is a scenario key as written in the TOML file, dotted through its
tables (``demand.riders``, ``network.loss``, ``network.churn.share``,
``duration_min``); each value is read as a TOML value (``10``, ``0.05``,
``true``, ``"text"``, or a bare word as text) and every point is checked by
the scenario's own parser before anything runs, so a bad name or value is a
``SweepError`` naming it.

Runs go to a Dask cluster: a ``LocalCluster`` of worker processes (one per
core unless told) or a running scheduler at ``--scheduler ADDRESS`` whose
workers have this package installed. Each run returns its flattened
metrics; ``write`` saves them as ``sweep.csv`` (one row per run) and draws
each headline metric against each swept parameter. docs/simulator-report.md.
"""

from __future__ import annotations

import copy
import itertools
import os
import time
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from protocol.errors import ConfigError, describe
from sim import scenario as sim_scenario
from sim.city import CitySpec
from sim.demand import DemandSpec
from sim.report.data import flatten
from sim.report.plots import save, sweep_plot

#: Metrics drawn against each parameter: column of sweep.csv -> title.
PLOTTED = {
    "requests.matched_share": "share of requests matched",
    "requests.done_share": "share of requests ridden to the end",
    "wait_match_s.p50": "median wait until matched (s)",
    "wait_pickup_s.p50": "median wait until picked up (s)",
    "pooled_rides": "pooled rides",
    "vehicle_km.saved_share": "vehicle-km saved (share of driving alone)",
    "tokens.gini": "Gini of tokens per driver",
    "traffic.msgs_per_peer_hour.p50": "median messages per peer per hour",
}


class SweepError(ConfigError):
    """A ``--param`` is wrong: the message names it, the value and the rule."""


@dataclass(frozen=True, slots=True)
class Param:
    """One swept scenario key and the values it takes."""

    key: str
    values: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Point:
    """One run of the sweep: the scenario table with the point's values set, and a seed."""

    index: int
    values: tuple[Any, ...]
    seed: int
    table: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Plan:
    """A checked sweep: the base scenario, the parameters and every run."""

    scenario: sim_scenario.Scenario
    params: tuple[Param, ...]
    seeds: int
    points: tuple[Point, ...]


def split_values(raw: str) -> list[str]:
    """``"1,2,[3,4]"`` -> ``["1", "2", "[3,4]"]``: commas inside brackets or quotes stay."""
    out: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for ch in raw:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append("".join(current).strip())
            current = []
            continue
        current.append(ch)
    out.append("".join(current).strip())
    return out


def parse_value(raw: str) -> Any:
    """A value as TOML reads it (``10``, ``0.5``, ``true``, ``"x"``, ``[1, 2]``); else the text."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def parse_param(text: str) -> Param:
    """``NAME=V1,V2,...`` -> ``Param``; the name is checked against the scenario's tables."""
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not name or not raw.strip():
        raise SweepError(
            describe("--param", text, "must be NAME=V1,V2,... like demand.riders=100,200")
        )
    head = name.split(".")[0]
    known = sorted(sim_scenario.TABLES | set(sim_scenario.RUN_KEYS))
    if head not in known or (head in sim_scenario.RUN_KEYS and "." in name):
        raise SweepError(
            describe(
                "--param", name, f"not a scenario key; keys start with one of {', '.join(known)}"
            )
        )
    parts = split_values(raw)
    if any(not p for p in parts):
        raise SweepError(describe(f"--param {name}", raw, "has an empty value"))
    values = tuple(parse_value(p) for p in parts)
    if len(set(map(repr, values))) != len(values):
        raise SweepError(describe(f"--param {name}", raw, "repeats a value"))
    return Param(name, values)


def with_value(table: Mapping[str, Any], key: str, value: Any) -> dict[str, Any]:
    """A deep copy of a scenario's TOML ``table`` with dotted ``key`` set to ``value``."""
    out = copy.deepcopy(dict(table))
    node = out
    *path, last = key.split(".")
    for part in path:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise SweepError(describe(f"--param {key}", part, "is a value, not a table"))
        node = child
    node[last] = value
    return out


def check(table: Mapping[str, Any], source: str) -> sim_scenario.Scenario:
    """Parse a point's table the way a run will, including the city and demand tables."""
    scenario = sim_scenario.from_table(table, source)
    CitySpec.from_toml(scenario.city)
    DemandSpec.from_toml(dict(scenario.demand))
    return scenario


def plan(path: Path, params: Sequence[str], seeds: int = 1) -> Plan:
    """Read the scenario, parse the ``--param`` texts and check every point of the grid."""
    if seeds < 1:
        raise SweepError(describe("--seeds", seeds, "must be >= 1"))
    if not params:
        raise SweepError(describe("--param", None, "give at least one NAME=V1,V2,..."))
    base = sim_scenario.load(path)
    try:
        table = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:  # load() above already named the file
        raise SweepError(describe("scenario", str(path), str(exc))) from None
    parsed = tuple(parse_param(p) for p in params)
    keys = [p.key for p in parsed]
    if len(set(keys)) != len(keys):
        raise SweepError(describe("--param", keys, "names a key twice"))
    # Each value alone first, so an error names the one --param value at fault.
    for p in parsed:
        for value in p.values:
            try:
                check(with_value(table, p.key, value), str(path))
            except SweepError:
                raise
            except ConfigError as exc:
                raise SweepError(f"--param {p.key}={value!r}: {exc}") from None
    points = []
    for i, combo in enumerate(itertools.product(*(p.values for p in parsed))):
        point = table
        for p, value in zip(parsed, combo, strict=True):
            point = with_value(point, p.key, value)
        try:
            scenario = check(point, str(path))
        except ConfigError as exc:
            names = ", ".join(f"{p.key}={v!r}" for p, v in zip(parsed, combo, strict=True))
            raise SweepError(f"--param point {names}: {exc}") from None
        for k in range(seeds):
            points.append(Point(i, combo, scenario.seed + k, point))
    return Plan(base, parsed, seeds, tuple(points))


def run_point(table: dict[str, Any], source: str, seed: int) -> dict[str, Any]:
    """One run of the sweep (executed on a Dask worker): flattened metrics and timing."""
    from sim import run as sim_run

    results = sim_run.run(sim_scenario.from_table(table, source), seed)
    row = flatten(results.metrics)
    row.update({f"timing.{k}": v for k, v in results.timing.items()})
    return row


def run(
    p: Plan,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[pd.DataFrame, float]:
    """Run every point on Dask; one row per run (point, then seed) and the wall seconds."""
    import distributed

    # distributed's API is untyped; one Any keeps mypy's untyped-call check quiet here only.
    dist: Any = distributed
    t0 = time.perf_counter()
    source = p.scenario.source
    if scheduler is None:
        cluster = dist.LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=40,
        )
        client = dist.Client(cluster)
    else:
        cluster, client = None, dist.Client(scheduler, timeout="30s")
    try:
        futures = {
            client.submit(run_point, pt.table, source, pt.seed, pure=False): n
            for n, pt in enumerate(p.points)
        }
        rows: list[dict[str, Any] | None] = [None] * len(p.points)
        for done, future in enumerate(dist.as_completed(futures), start=1):
            rows[futures[future]] = future.result()
            if progress is not None:
                progress(done, len(p.points))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return frame(p, [r for r in rows if r is not None]), time.perf_counter() - t0


def frame(p: Plan, rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """sweep.csv's table: point, seed, the swept values, then every metric and timing column."""
    records = []
    for pt, row in zip(p.points, rows, strict=True):
        record: dict[str, Any] = {"point": pt.index, "seed": pt.seed}
        record.update({param.key: _cell(v) for param, v in zip(p.params, pt.values, strict=True)})
        record.update({k: _cell(v) for k, v in sorted(row.items()) if k not in record})
        records.append(record)
    return pd.DataFrame.from_records(records)


def _cell(value: Any) -> Any:
    return str(value) if isinstance(value, list | tuple | dict) else value


def write(p: Plan, table: pd.DataFrame, out: Path) -> list[Path]:
    """sweep.csv and one sweep_<param>.png per parameter into ``out``; the paths."""
    out.mkdir(parents=True, exist_ok=True)
    csv = out / "sweep.csv"
    table.to_csv(csv, index=False, float_format="%.6g", lineterminator="\n")
    paths = [csv]
    plotted = {k: v for k, v in PLOTTED.items() if k in table}
    for param in p.params:
        others = [q.key for q in p.params if q.key != param.key]
        fig = sweep_plot(table, param.key, plotted, others)
        paths.append(save(fig, out / f"sweep_{param.key.replace('.', '_')}.png"))
    return paths
