"""heapq or simpy for the event loop? Measured on the simulator's own workload.

``python -m sim.engine_bench`` runs two measurements and prints JSON:

1. **Loop overhead**: the shape of our event stream without the Peers — each
   event schedules the next at a lognormal network latency (median 60 ms,
   p99 400 ms) and, one time in four, a timer minutes ahead, as deliveries
   and ``SetTimer`` do — through ``sim.engine.Engine`` (a heap), through
   simpy with callbacks on timeouts (the same interface, ``SimpyEngine``),
   and through simpy's idiomatic generator processes.
2. **The small scenario**, run on ``Engine`` and on ``SimpyEngine``: events
   per second with the real Peers, and whether both give the same metrics
   (they schedule in the same (time, order) sequence, so they must).

simpy is a development dependency, used only here. docs/simulator.md §Engine
keeps the numbers and the decision.
"""

from __future__ import annotations

import json
import math
import random
import sys
import time
from pathlib import Path
from typing import Any

import simpy

from sim.engine import Engine, Handler

SMALL = Path(__file__).parent / "scenarios" / "small.toml"


class SimpyEngine(Engine):
    """``Engine``'s interface on a simpy ``Environment`` (callbacks on timeouts)."""

    __slots__ = ("env",)

    def __init__(self, start_ms: int) -> None:
        super().__init__(start_ms)
        self.env = simpy.Environment(initial_time=start_ms)

    def at(self, at_ms: int, fn: Handler, arg: Any = None) -> None:
        timeout = self.env.timeout(max(0, at_ms - self.env.now))
        timeout.callbacks.append(lambda _: self._run(fn, arg))

    def _run(self, fn: Handler, arg: Any) -> None:
        self.now_ms = int(self.env.now)
        self.events += 1
        fn(arg)

    def pending(self) -> int:
        return len(self.env._queue)

    def run_until(self, end_ms: int, tick: Any = None, tick_ms: int = 60_000) -> None:
        # simpy stops before events *at* ``until``; ours run them (integer ms).
        self.env.run(until=end_ms + 1)
        self.now_ms = end_ms
        if tick is not None:
            tick(end_ms)


def _latency(rng: random.Random) -> int:
    mu, sigma = math.log(60), (math.log(400) - math.log(60)) / 2.3263478740408408
    return max(1, round(math.exp(mu + sigma * rng.gauss(0.0, 1.0))))


def loop_overhead(engine: Engine, events: int, chains: int = 1_000) -> float:
    """Events per CPU-second of ``engine`` on our event shape, without Peers."""
    rng = random.Random(1)
    left = [events]

    def step(_: object) -> None:
        if left[0] <= 0:
            return
        left[0] -= 1
        engine.after(_latency(rng), step)
        if rng.random() < 0.25:
            engine.after(rng.randint(60_000, 300_000), _noop)

    for _ in range(chains):
        engine.after(rng.randint(0, 1_000), step)
    t0 = time.process_time()
    engine.run_until(engine.start_ms + 10**12)
    return engine.events / (time.process_time() - t0)


def _noop(_: object) -> None:
    return None


def simpy_processes(events: int, chains: int = 1_000) -> float:
    """The same shape written as simpy generator processes (the idiomatic style)."""
    env = simpy.Environment()
    rng = random.Random(1)
    left = [events]
    done = [0]

    def chain(env: simpy.Environment) -> Any:
        yield env.timeout(rng.randint(0, 1_000))
        while left[0] > 0:
            left[0] -= 1
            done[0] += 1
            if rng.random() < 0.25:
                env.process(_timer(env, rng.randint(60_000, 300_000)))
            yield env.timeout(_latency(rng))

    def _timer(env: simpy.Environment, delay: int) -> Any:
        yield env.timeout(delay)
        done[0] += 1

    for _ in range(chains):
        env.process(chain(env))
    t0 = time.process_time()
    env.run()
    return done[0] / (time.process_time() - t0)


def small_scenario() -> dict[str, Any]:
    """The small scenario on both engines: events/s and whether the metrics agree."""
    from sim import metrics
    from sim.model import Model
    from sim.scenario import load

    scenario = load(SMALL)
    out: dict[str, Any] = {}
    texts = {}
    for name, engine in (("heapq", Engine), ("simpy", SimpyEngine)):
        model = Model(scenario, engine=engine(scenario.start_ms))
        results = model.run()
        texts[name] = metrics.dumps(results.metrics)
        out[name] = {
            "events": int(results.timing["events"]),
            "cpu_s": round(results.timing["cpu_s"], 2),
            "events_per_cpu_s": round(results.timing["events"] / results.timing["cpu_s"]),
        }
    out["same_metrics"] = texts["heapq"] == texts["simpy"]
    return out


def main(events: int = 1_000_000) -> dict[str, Any]:
    result = {
        "loop_events": events,
        "loop_events_per_cpu_s": {
            "heapq": round(loop_overhead(Engine(0), events)),
            "simpy_callbacks": round(loop_overhead(SimpyEngine(0), events)),
            "simpy_processes": round(simpy_processes(events)),
        },
        "small_scenario": small_scenario(),
    }
    return result


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    print(json.dumps(main(n), indent=2))
