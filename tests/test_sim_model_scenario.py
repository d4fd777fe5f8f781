"""Scenario files: every shipped one loads; a bad key or value is refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.scenario import ScenarioError, load, parse

SCENARIOS = sorted((Path(__file__).parent.parent / "sim" / "scenarios").glob("*.toml"))

BASE = """
name = "t"
duration_min = 30
[city]
kind = "grid"
[demand]
riders = 5
drivers = 2
"""


def test_every_shipped_scenario_loads() -> None:
    names = {load(p).name for p in SCENARIOS}
    assert names == {"small", "city", "stress", "churn", "collusion"}
    city = load(Path(SCENARIOS[0]).parent / "city.toml")
    assert city.demand["riders"] >= 2_000 and city.demand["drivers"] >= 500
    assert city.duration_ms == 120 * 60_000
    assert city.peer.heads_ms == 60 * 60_000
    # Members are phones: each hears only the side it needs (SPEC §4.3).
    assert {load(p).peer.listen for p in SCENARIOS} == {"needed"}


def test_units_defaults_and_nested_tables_are_read() -> None:
    s = parse(
        BASE
        + """
[network]
latency_median_ms = 50
latency_p99_ms = 500
loss = 0.02
[network.churn]
share = 0.5
mean_offline_min = 2
restart = 0.25
[[network.partitions]]
start_min = 5
end_min = 10
share = 0.5
[rider]
patience_min = 12
collect_s = 30
[adversaries]
rings = 1
ring_claimed_km = 42.5
spam_kinds = ["garbage"]
"""
    )
    assert s.duration_ms == 30 * 60_000 and s.drain_ms == 20 * 60_000 and s.seed == 1
    assert s.network.loss == 0.02 and s.network.churn.restart == 0.25
    assert s.network.churn.mean_offline_ms == 120_000
    (part,) = s.network.partitions
    assert (part.start_ms - s.start_ms, part.end_ms - s.start_ms) == (300_000, 600_000)
    assert s.rider.patience_ms == 12 * 60_000 and s.rider.collect_ms == 30_000
    assert s.adversaries.rings == 1 and s.adversaries.collusion.claimed_m == 42_500
    assert s.adversaries.spam.kinds == ("garbage",)
    assert s.with_seed(9).seed == 9


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ("[rider]\npatience = 3\n", "rider.patience=3: unknown key"),
        ("[rider]\nno_show = 1.5\n", "rider.no_show=1.5: must be a share in 0..1"),
        ("[driver]\nmax_detour_m = 0\n", "driver.max_detour_m=0: must be >= 1"),
        ('[network]\nloss = "lots"\n', "network.loss='lots': must be a number"),
        (
            "[network]\nlatency_median_ms = 100\nlatency_p99_ms = 50\n",
            "network.latency_p99_ms=50.0: must be >= latency_median_ms",
        ),
        (
            "[[network.partitions]]\nstart_min = 9\nend_min = 3\nshare = 0.5\n",
            "network.partitions[0].end_min=3: must be after start_min",
        ),
        ("[peer]\nrequest_resolution = 12\n", "PeerParams.request_resolution=12"),
        ('[peer]\nlisten = "some"\n', "PeerParams.listen='some': must be one of ['all', 'needed']"),
        ("[peer]\nlisten = 1\n", "peer.listen=1: must be a non-empty string"),
        ('[adversaries]\nspam_kinds = ["bad"]\n', "adversaries.spam_kinds=['bad']"),
        ("[adversaries]\nrings = -1\n", "adversaries.rings=-1: must be a whole number"),
    ],
)
def test_a_bad_key_or_value_is_refused_naming_it(extra: str, named: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse(BASE + extra)
    assert named in str(caught.value)


def test_the_top_level_is_checked_too() -> None:
    with pytest.raises(ScenarioError, match="name=None: is required"):
        parse("duration_min = 3\n")
    with pytest.raises(ScenarioError, match="start='yesterday': must be an ISO 8601 time"):
        parse(BASE.replace('name = "t"', 'name = "t"\nstart = "yesterday"'))
    with pytest.raises(ScenarioError, match="not TOML"):
        parse("name = ")
    with pytest.raises(ScenarioError, match="cannot read"):
        load("/nonexistent/scenario.toml")
