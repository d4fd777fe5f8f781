"""A run's report as a reader opens it: plots, report.md and report.html, byte-stable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.model import Model
from sim.report import run_studies, write_report
from sim.report.markdown import fmt, table, to_html
from sim.report.plots import RUN_PLOTS
from sim.run import write
from sim.scenario import Scenario, parse

PNG = b"\x89PNG\r\n\x1a\n"

#: A town small enough for a report in a few seconds, big enough for matched rides.
TINY = """
name = "tiny"
seed = 1
start = 2026-03-02T07:00:00Z
duration_min = 10
drain_min = 10

[city]
kind = "grid"
size_km = 2
block_m = 200

[demand]
model = "hotspots"
riders = 10
drivers = 4
duration_min = 10
hotspots = 3
hotspot_share = 0.8
rider_window_min = 20
min_trip_m = 1500
"""

HELSINKI = """
name = "helsinki-tiny"
seed = 2
duration_min = 10
drain_min = 5

[city]
kind = "osm"
name = "helsinki"

[demand]
model = "uniform"
riders = 6
drivers = 3
duration_min = 10
min_trip_m = 500
"""


def _run(scenario: Scenario, out: Path) -> Path:
    write(Model(scenario).run(), out)
    return out


@pytest.fixture(scope="module")
def tiny() -> Scenario:
    return parse(TINY, source="tiny.toml")


def test_lazooz_sim_run_writes_the_report_beside_the_metrics(tmp_path: Path) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY, encoding="utf-8")
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    for name in RUN_PLOTS:
        assert (out / name).read_bytes().startswith(PNG), name
    text = (out / "report.md").read_text(encoding="utf-8")
    assert text.startswith("# lazooz-sim report: tiny, seed 1\n")
    for name in RUN_PLOTS:
        assert f"]({name})" in text
    # The headline numbers are the run's metrics, as a reader would check them.
    import json

    m = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    share = m["requests"]["matched_share"]
    assert f"| matched | {share:.1%} |" in text
    assert f"| rides done | {m['rides_done']} |" in text
    assert "| code version | " in text and "| `demand.riders` | 10 |" in text
    html = (out / "report.html").read_text(encoding="utf-8")
    assert '<img src="match_rate.png" alt="match_rate"' in html
    assert html.count("<table>") == text.count("\n|---")


def test_the_same_seed_gives_the_same_report_bytes_but_for_timing(
    tiny: Scenario, tmp_path: Path
) -> None:
    a = _run(tiny, tmp_path / "a")
    b = _run(tiny, tmp_path / "b")
    write_report(a, tiny, version="v-test")
    write_report(b, tiny, version="v-test")
    for name in RUN_PLOTS:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name

    def without_timing(path: Path) -> str:
        return re.sub(r"## Timing\n.*?(?=\n## )", "", path.read_text(encoding="utf-8"), flags=re.S)

    assert without_timing(a / "report.md") == without_timing(b / "report.md")
    assert "## Timing" in (a / "report.md").read_text(encoding="utf-8")
    # Regenerating from the same files gives the same bytes, timing included.
    before = (a / "report.md").read_bytes(), (a / "report.html").read_bytes()
    write_report(a, tiny, version="v-test")
    assert ((a / "report.md").read_bytes(), (a / "report.html").read_bytes()) == before
    # Another seed draws other plots.
    c = _run(tiny.with_seed(7), tmp_path / "c")
    write_report(c, tiny.with_seed(7), version="v-test")
    assert (c / "wait_cdf.png").read_bytes() != (a / "wait_cdf.png").read_bytes()


def test_an_osm_city_report_credits_openstreetmap(tmp_path: Path) -> None:
    scenario = parse(HELSINKI, source="helsinki-tiny.toml")
    out = _run(scenario, tmp_path / "h")
    write_report(out, scenario, version="v-test")
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "OpenStreetMap: helsinki; © OpenStreetMap contributors" in text


def test_studies_add_the_resolution_sweep_and_the_shareability_table(
    tiny: Scenario, tmp_path: Path
) -> None:
    studies = run_studies(tiny, synthetic=False)
    (city,) = studies.resolution
    assert [o.resolution for o in city.outcomes] == [None, 6, 7, 8, 9]
    assert city.offers == 4 and city.requests == 10
    exact, res6, *_, res9 = city.outcomes
    assert exact.matched > 0 and exact.reveals_per_request == 0
    # Coarser cells promise more candidates, which the revealed points then thin out.
    assert res6.candidates_per_request >= res9.candidates_per_request
    assert studies.shareability is not None
    out = _run(tiny, tmp_path / "s")
    write_report(out, tiny, studies=studies, version="v-test")
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "## Resolution sweep: the tiny scenario's trips" in text
    assert "| H3 resolution 9 |" in text and "| exact points (oracle) |" in text
    section = text.split("## Shareability")[1].split("\n## ")[0]
    for density in ("100", "200", "400", "800", "1600"):
        assert f"\n| {density} | " in section


def test_numbers_and_tables_render_as_a_reader_expects() -> None:
    assert fmt(0.4857, "matched_share") == "48.6%"
    assert fmt(1234567) == "1,234,567"
    assert fmt(None) == "–"
    assert fmt("a|b") == "a\\|b"
    text = table(("metric", "value"), [("riders", 3), ("share", "50%")])
    assert text == "| metric | value |\n|---|---:|\n| riders | 3 |\n| share | 50% |\n"
    page = to_html(text + "\n<script>alert(1)</script>\n", "t<1>")
    assert "<title>t&lt;1&gt;</title>" in page
    assert "<script>" not in page and "<td>riders</td>" in page
