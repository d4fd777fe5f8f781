"""``lazooz-sim run``: a scenario file and a seed in, the output files out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sim.run import OUTPUTS

SIM = Path(sys.executable).parent / "lazooz-sim"

TINY = """
name = "tiny"
seed = 5
duration_min = 10
drain_min = 10
[city]
kind = "grid"
size_km = 3
[demand]
model = "hotspots"
riders = 8
drivers = 4
duration_min = 10
hotspots = 2
min_trip_m = 2000
"""


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SIM), "run", *args], capture_output=True, text=True, timeout=600, check=False
    )


def test_run_writes_the_outputs_for_the_seed_given(tmp_path: Path) -> None:
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY)
    out = tmp_path / "out"
    done = _run(str(scenario), "--seed", "9", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert set(OUTPUTS) <= {p.name for p in out.iterdir()}
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["run"] == {**metrics["run"], "scenario": "tiny", "seed": 9, "riders": 8}
    assert "tiny seed 9:" in done.stderr and "requests matched" in done.stderr
    header = (out / "riders.csv").read_text().splitlines()[0]
    assert header.startswith("name,trip_id,seats,outcome,")


def test_a_bad_scenario_is_refused_naming_the_key(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.toml"
    scenario.write_text(TINY + "[rider]\nno_show = 2\n")
    done = _run(str(scenario))
    assert done.returncode == 2
    assert "rider.no_show=2" in done.stderr
