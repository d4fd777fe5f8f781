"""Simulator speed: simulated time over wall time, and events per second, per scenario.

Scenarios ``city`` (2,000 riders, 500 drivers, 2 h + drain; target: under
5 minutes on 2 cores) and ``stress`` (10,000 members, 1 h; target: >= 100x
faster than real time), each against baselines taken in the same run:

- **the bare engine**: ``sim.engine.Engine`` on the simulator's event shape
  with no Peers behind the events (``sim.engine_bench.loop_overhead``): the
  events per second the loop alone allows, so ``events_per_s_vs_bare_engine``
  is the share of time left to the loop once the real protocol runs;
- **the small scenario**: the same code on a small town, so
  ``sim_over_wall_vs_small`` shows how speed falls as the city grows;
- **the target** itself, for the ratio a reader checks (``*_vs_target``).

A scenario still running after ``BUDGET_S`` wall seconds is stopped there and
measured over the simulated time it reached (``<name>.completed`` is 0 and
``<name>.sim_s_reached`` says how far): a bench must end, and the speed over
the first part of a run is still the speed. Wall time depends on what else
the machine runs; CPU time (``process_time``) is reported beside it, as
``sim_over_cpu``: the speed on an otherwise idle core.
"""

from __future__ import annotations

import os
import time
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
#: Wall seconds a scenario may run before it is measured over what it reached.
BUDGET_S = float(os.environ.get("LAZOOZ_BENCH_SIM_BUDGET_S", "900"))


class _OverBudget(Exception):
    pass


class _CountingEngine(Engine):
    """``Engine`` that can say how many events ran while a run is still going."""

    __slots__ = ()

    @property
    def executed(self) -> int:
        # Every event scheduled has either run or is still in the heap.
        return self._seq - len(self._heap)


def measure(name: str, budget_s: float = BUDGET_S) -> dict[str, float]:
    """Run scenario ``name`` for at most ``budget_s`` wall seconds; its speed."""
    scenario = load(SCENARIOS / f"{name}.toml")
    engine = _CountingEngine(scenario.start_ms)
    model = Model(scenario, engine=engine)
    reached = [0]
    w0, c0 = time.perf_counter(), time.process_time()

    def progress(done_ms: int, _total_ms: int) -> None:
        reached[0] = done_ms
        if time.perf_counter() - w0 > budget_s:
            raise _OverBudget

    try:
        model.run(progress)
        completed = 1.0
        reached[0] = scenario.end_ms - scenario.start_ms
    except _OverBudget:
        completed = 0.0
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    sim_s = reached[0] / 1000
    return {
        "completed": completed,
        "sim_s": sim_s,
        "wall_s": wall,
        "cpu_s": cpu,
        "speedup": sim_s / wall,
        "speedup_cpu": sim_s / cpu,
        "events": float(engine.executed),
        "events_per_s": engine.executed / wall,
        "events_per_cpu_s": engine.executed / cpu,
    }


def _scenario(name: str, t: dict[str, float], small: dict[str, float], bare: float) -> list[Result]:
    return [
        compare(f"{name}.completed_vs_full_run", t["completed"], 1.0, "bool"),
        compare(f"{name}.sim_s_reached_vs_small", t["sim_s"], small["sim_s"], "s"),
        compare(f"{name}.wall_s_vs_small", t["wall_s"], small["wall_s"], "s"),
        compare(f"{name}.cpu_s_vs_small", t["cpu_s"], small["cpu_s"], "s"),
        compare(f"{name}.sim_over_wall_vs_small", t["speedup"], small["speedup"], "x"),
        compare(f"{name}.sim_over_cpu_vs_small", t["speedup_cpu"], small["speedup_cpu"], "x"),
        compare(f"{name}.events_per_s_vs_bare_engine", t["events_per_s"], bare, "events/s"),
        compare(
            f"{name}.events_per_cpu_s_vs_small",
            t["events_per_cpu_s"],
            small["events_per_cpu_s"],
            "events/s",
        ),
    ]


def run(scenarios: tuple[str, ...] = ("city", "stress")) -> list[Result]:
    """Bare engine, small scenario, then each of ``scenarios``: every ratio against them."""
    bare = loop_overhead(Engine(0), BARE_EVENTS)
    small = measure("small")
    results = [
        compare("machine.load_1min_vs_cores", os.getloadavg()[0], os.cpu_count() or 1, "load"),
        compare("small.events_per_s_vs_bare_engine", small["events_per_s"], bare, "events/s"),
        compare("small.sim_over_wall_vs_sim_over_cpu", small["speedup"], small["speedup_cpu"], "x"),
    ]
    for name in scenarios:
        t = measure(name)
        results += _scenario(name, t, small, bare)
        if name == "city":
            # A stopped run is scaled to the whole run at the speed it had.
            full_s = _full_sim_s("city")
            results.append(
                compare(
                    "city.wall_s_for_full_run_vs_target",
                    full_s / t["speedup"],
                    CITY_WALL_TARGET_S,
                    "s",
                )
            )
            results.append(
                compare(
                    "city.cpu_s_for_full_run_vs_target",
                    full_s / t["speedup_cpu"],
                    CITY_WALL_TARGET_S,
                    "s",
                )
            )
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


def _full_sim_s(name: str) -> float:
    s = load(SCENARIOS / f"{name}.toml")
    return (s.end_ms - s.start_ms) / 1000
