"""``lazooz-sim coarse-cost``: the cost of coarse matching, as a researcher runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SIM = Path(sys.executable).parent / "lazooz-sim"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SIM), "coarse-cost", *args], capture_output=True, text=True, timeout=300, check=False
    )


def test_sweep_reports_each_resolution_and_is_deterministic() -> None:
    args = ("--offers", "150", "--requests", "150", "--resolutions", "8,9", "--json")
    first, again = _run(*args), _run(*args)
    assert first.returncode == 0, first.stderr
    rows = json.loads(first.stdout)
    assert [r["resolution"] for r in rows] == [None, 8, 9]
    exact, *coarse = rows
    assert exact["matched"] > 0 and exact["reveals_per_request"] == 0
    for row in coarse:
        assert 0 < row["reveals_per_request"] <= 3
        assert row["matched"] <= 150
    # Finer cells promise fewer matches that the exact points then break.
    assert coarse[0]["candidates_per_request"] > coarse[1]["candidates_per_request"]
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in rows]
    assert strip == [
        {k: v for k, v in r.items() if k != "seconds"} for r in json.loads(again.stdout)
    ]


def test_a_resolution_requests_cannot_use_is_refused_by_name() -> None:
    done = _run("--resolutions", "7,12")
    assert done.returncode == 2
    assert "resolutions=[12]" in done.stderr
