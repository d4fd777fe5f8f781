"""The one result format every benchmark writes: bench/results/<name>.json.

Each result is measured against a baseline taken in the same run, so the
ratio stays meaningful on whatever machine runs it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

RESULTS_DIR = Path(__file__).parent / "results"


@dataclass(frozen=True, slots=True)
class Result:
    """One measurement: ``ratio`` is ``value / baseline`` (see each bench for direction)."""

    metric: str
    value: float
    unit: str
    baseline: float
    ratio: float


def compare(metric: str, value: float, baseline: float, unit: str) -> Result:
    return Result(metric, value, unit, baseline, value / baseline if baseline else float("nan"))


def write(name: str, results: list[Result]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
    return path


def best_of(fn: Callable[[], object], repeat: int = 5) -> float:
    """Smallest wall time of ``repeat`` calls, in seconds: the least disturbed run."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)
