"""``lazooz-sim sweep``: a grid of scenario values on a local Dask cluster, and refused params."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from sim import metrics, sweep
from sim.cli import app
from sim.model import Model
from sim.report.data import flatten
from sim.scenario import parse
from tests.test_sim_report import TINY


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY, encoding="utf-8")
    return path


def test_a_small_sweep_runs_on_a_local_dask_cluster(tiny: Path, tmp_path: Path) -> None:
    plan = sweep.plan(tiny, ["demand.riders=6,10"])
    seen: list[tuple[int, int]] = []
    table, wall = sweep.run(plan, workers=2, progress=lambda d, t: seen.append((d, t)))
    assert wall > 0 and seen[-1] == (2, 2)
    assert list(table["demand.riders"]) == [6, 10]
    # Each worker ran the scenario with the point's value...
    assert list(table["requests.riders"]) == [6, 10]
    # ...and got what the same run gives in this process, to the metric.
    here = Model(parse(TINY.replace("riders = 10", "riders = 6"))).run()
    canonical = flatten(metrics.canonical(here.metrics))
    row = table.iloc[0]
    for key in ("requests.matched", "rides_done", "traffic.sent_msgs", "tokens.total"):
        assert row[key] == canonical[key], key
    paths = sweep.write(plan, table, tmp_path / "out")
    assert [p.name for p in paths] == ["sweep.csv", "sweep_demand_riders.png"]
    again = pd.read_csv(paths[0])
    assert list(again["requests.riders"]) == [6, 10]
    assert {"requests.matched_share", "timing.wall_s", "point", "seed"} <= set(again.columns)
    assert paths[1].read_bytes().startswith(b"\x89PNG")


def test_the_grid_is_every_combination_times_the_seeds(tiny: Path) -> None:
    plan = sweep.plan(
        tiny, ["network.loss=0,0.05", "demand.model=uniform,hotspots,commute"], seeds=2
    )
    assert len(plan.points) == 2 * 3 * 2
    assert {(p.values, p.seed) for p in plan.points} == {
        ((loss, model), seed)
        for loss in (0, 0.05)
        for model in ("uniform", "hotspots", "commute")
        for seed in (1, 2)
    }
    last = plan.points[-1].table
    assert last["network"]["loss"] == 0.05 and last["demand"]["model"] == "commute"


@pytest.mark.parametrize(
    ("param", "named"),
    [
        ("demand.ridres=5,6", "demand.ridres"),
        ("network.loss=0.1,2", "network.loss=2"),
        ("network.churn.share=x", "network.churn.share='x'"),
        ("city.size_km=4,big", "city.size_km"),
        ("weather.rain=1", "weather.rain"),
        ("demand.riders", "demand.riders"),
        ("duration_min=10,10", "repeats a value"),
    ],
)
def test_a_bad_param_is_refused_naming_it(tiny: Path, param: str, named: str) -> None:
    with pytest.raises(sweep.SweepError, match=named.replace(".", r"\.").replace("'", "'?")):
        sweep.plan(tiny, [param])
    result = CliRunner().invoke(app, ["sweep", str(tiny), "--param", param])
    assert result.exit_code == 2
    assert "--param" in result.output


def test_values_are_read_as_toml() -> None:
    assert sweep.split_values('1, 2.5,true,"a,b",[1,2],word') == [
        "1",
        "2.5",
        "true",
        '"a,b"',
        "[1,2]",
        "word",
    ]
    assert [sweep.parse_value(v) for v in ("1", "2.5", "true", '"a,b"', "[1,2]", "word")] == [
        1,
        2.5,
        True,
        "a,b",
        [1, 2],
        "word",
    ]
