"""bench/sim: a run past its wall budget is stopped and measured over what it reached."""

from __future__ import annotations

import math

from bench.sim import measure


def test_a_run_over_its_budget_is_measured_over_the_time_it_reached() -> None:
    t = measure("small", budget_s=0.0)
    assert t["completed"] == 0.0
    # Stopped at the first simulated minute's tick.
    assert 60 <= t["sim_s"] < 120
    assert t["events"] > 0
    assert math.isclose(t["speedup"], t["sim_s"] / t["wall_s"])
    assert math.isclose(t["events_per_s"], t["events"] / t["wall_s"])
