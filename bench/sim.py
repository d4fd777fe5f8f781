"""Simulator speed: simulated time over wall time, and events per second, per scenario.

Scenarios ``city`` (2,000 riders, 500 drivers, 2 h + drain; target: under
5 minutes on 2 cores) and ``stress`` (10,000 members, 1 h; target: >= 100x
faster than real time), each against baselines taken in the same run:

- **the bare engine**: ``sim.engine.Engine`` on the simulator's event shape
  with no Peers behind the events (``sim.engine_bench.loop_overhead``): the
  events per second the loop alone allows, so ``events_per_s_vs_bare_engine``
  is the share of time left to the loop once the real protocol runs;
- **the small scenario**: the same code on a town of 55 members, so
  ``sim_over_wall_vs_small`` shows how speed falls as the city grows;
- **the target** itself, for the ratio a reader checks (``*_vs_target``).

Wall time depends on what else the machine runs; CPU time (``process_time``)
is reported beside it, as ``sim_over_cpu``, the speed on an otherwise idle core.
"""

from __future__ import annotations

import os
from pathlib import Path

from bench.report import Result, compare
from sim.engine import Engine
from sim.engine_bench import loop_overhead
from sim.model import Model
from sim.scenario import load

SCENARIOS = Path(__file__).parent.parent / "sim" / "scenarios"
#: docs/simulator.md §Performance: the city in under 5 minutes, stress >= 100x real time.
CITY_WALL_TARGET_S = 300.0
STRESS_SPEEDUP_TARGET = 100.0
BARE_EVENTS = 300_000


def _run(name: str) -> dict[str, float]:
    timing = Model(load(SCENARIOS / f"{name}.toml")).run().timing
    return timing


def _scenario(name: str, t: dict[str, float], small: dict[str, float], bare: float) -> list[Result]:
    return [
        compare(f"{name}.wall_s_vs_small", t["wall_s"], small["wall_s"], "s"),
        compare(f"{name}.cpu_s_vs_small", t["cpu_s"], small["cpu_s"], "s"),
        compare(f"{name}.sim_over_wall_vs_small", t["speedup"], small["speedup"], "x"),
        compare(f"{name}.sim_over_cpu_vs_small", t["speedup_cpu"], small["speedup_cpu"], "x"),
        compare(f"{name}.events_per_s_vs_bare_engine", t["events_per_s"], bare, "events/s"),
        compare(f"{name}.events_vs_small", t["events"], small["events"], "count"),
    ]


def run(scenarios: tuple[str, ...] = ("city", "stress")) -> list[Result]:
    """Bare engine, small scenario, then each of ``scenarios``: every ratio against them."""
    bare = loop_overhead(Engine(0), BARE_EVENTS)
    small = _run("small")
    results = [
        compare("machine.load_1min_vs_cores", os.getloadavg()[0], os.cpu_count() or 1, "load"),
        compare("small.events_per_s_vs_bare_engine", small["events_per_s"], bare, "events/s"),
        compare("small.sim_over_wall_vs_sim_over_cpu", small["speedup"], small["speedup_cpu"], "x"),
    ]
    for name in scenarios:
        t = _run(name)
        results += _scenario(name, t, small, bare)
        if name == "city":
            results.append(compare("city.wall_s_vs_target", t["wall_s"], CITY_WALL_TARGET_S, "s"))
            results.append(compare("city.cpu_s_vs_target", t["cpu_s"], CITY_WALL_TARGET_S, "s"))
        if name == "stress":
            results.append(
                compare("stress.sim_over_wall_vs_target", t["speedup"], STRESS_SPEEDUP_TARGET, "x")
            )
            results.append(
                compare(
                    "stress.sim_over_cpu_vs_target", t["speedup_cpu"], STRESS_SPEEDUP_TARGET, "x"
                )
            )
    return results
