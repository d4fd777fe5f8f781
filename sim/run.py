"""One run, start to files: a scenario and a seed in, metrics.json and CSVs out.

The output directory (docs/simulator.md §Outputs) holds:

- ``metrics.json`` — ``sim.metrics.dumps``: canonical, the same bytes for the
  same scenario and seed;
- ``riders.csv``, ``drivers.csv``, ``peers.csv`` — one row per rider, driver
  and network host (``Results``' DataFrames), also deterministic;
- ``timing.json`` — wall seconds, events per second and the speed-up over
  real time: the machine's numbers, kept apart so metrics stay comparable.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from sim import metrics
from sim.model import Model, Results
from sim.scenario import Scenario

OUTPUTS = ("metrics.json", "riders.csv", "drivers.csv", "peers.csv", "timing.json")


def run(
    scenario: Scenario,
    seed: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Results:
    """Build the model for ``scenario`` (``seed`` overrides its own) and run it."""
    return Model(scenario, seed).run(progress)


def write(results: Results, out: Path) -> list[Path]:
    """Write a run's files into ``out`` (created if needed); the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / name for name in OUTPUTS]
    paths[0].write_text(metrics.dumps(results.metrics), encoding="utf-8")
    for frame, path in zip(
        (results.riders, results.drivers, results.peers), paths[1:4], strict=True
    ):
        frame.to_csv(path, index=False, float_format="%.4f", lineterminator="\n")
    timing = {k: round(v, 3) for k, v in sorted(results.timing.items())}
    paths[4].write_text(json.dumps(timing, indent=2) + "\n", encoding="utf-8")
    return paths
