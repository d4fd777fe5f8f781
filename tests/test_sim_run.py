"""Whole runs of the small scenario: repeatable to the byte, and sane where a user looks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim import metrics
from sim.model import Model, Results
from sim.run import OUTPUTS, write
from sim.scenario import Scenario, load

SMALL = Path(__file__).parent.parent / "sim" / "scenarios" / "small.toml"


@pytest.fixture(scope="module")
def small() -> Scenario:
    return load(SMALL)


@pytest.fixture(scope="module")
def first(small: Scenario) -> tuple[Model, Results]:
    model = Model(small, seed=3)
    return model, model.run()


def test_the_same_scenario_and_seed_give_byte_identical_outputs(
    small: Scenario, first: tuple[Model, Results], tmp_path: Path
) -> None:
    _, a = first
    b = Model(small, seed=3).run()
    assert metrics.dumps(a.metrics) == metrics.dumps(b.metrics)
    write(a, tmp_path / "a")
    write(b, tmp_path / "b")
    for name in OUTPUTS[:-1]:  # timing.json is the machine's, not the run's
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    # Another seed is another town's morning.
    c = Model(small, seed=4).run()
    assert metrics.dumps(c.metrics) != metrics.dumps(a.metrics)


def test_checking_each_signature_once_changes_nothing_but_time(
    small: Scenario, first: tuple[Model, Results]
) -> None:
    from dataclasses import replace

    _, cached = first
    plain = Model(replace(small, shared_signature_checks=False), seed=3).run()
    assert metrics.dumps(plain.metrics) == metrics.dumps(cached.metrics)


def test_riders_are_matched_picked_up_and_receipts_co_signed(first: tuple[Model, Results]) -> None:
    _, results = first
    m = results.metrics
    req = m["requests"]
    assert req["requested"] > 0
    assert 0 < req["matched"] <= req["requested"]
    assert 0 < m["rides_done"] == req["done"]
    # Every ride a rider saw end in a receipt is a co-signed line in the reference ledger.
    assert m["receipts"]["honest_counted"] == m["rides_done"]
    assert m["tokens"]["total"] > 0
    assert 0 <= m["tokens"]["gini"] < 1
    # Waits are positive and ordered: matched before picked up.
    assert m["wait_match_s"]["p50"] > 0
    assert m["wait_pickup_s"]["p50"] > m["wait_match_s"]["p50"]
    # Carrying riders saves vehicle-km, a detour costs some back.
    km = m["vehicle_km"]
    assert 0 < km["saved"] < km["riders_carried_alone"]
    assert km["detour"] > 0
    assert m["seats"]["filled"] <= m["seats"]["offered"]
    # The riders' table agrees with the metrics.
    assert (results.riders["outcome"] == "done").sum() == m["rides_done"]
    assert results.drivers["rides_done"].sum() == m["rides_done"]
    assert set(results.riders.columns) >= {"outcome", "requested_s", "matched_s", "picked_s"}


def test_honest_peers_online_at_the_end_agree_on_every_balance(
    first: tuple[Model, Results],
) -> None:
    model, results = first
    assert model.observer is not None and model.observer.host is not None
    assert model.observer.host.peer.follows() is None  # the reference holds every log
    reference = model.observer.host.peer.balances()
    online = [h for h in model.net.hosts if h.left_ms is None]
    light = [h for h in online if h.peer.follows() is not None]
    assert online and light  # the town's phones are light members
    for host in online:
        peer = host.peer
        if peer.follows() is None:
            assert peer.balances() == reference, host.name
        else:
            # A light member knows its own balance, and holds far fewer logs.
            assert peer.balances().get(peer.public_key, 0) == reference.get(peer.public_key, 0)
            assert len(peer.ledger.heads) < len(model.observer.host.peer.ledger.heads)
    assert any(reference.get(h.peer.public_key, 0) > 0 for h in light)
    receipts = results.metrics["receipts"]
    assert receipts["views_agree_share"] == 1.0
    assert receipts["online_light_peers"] == len(light)
    # Drivers' tokens in the table are the reference ledger's.
    paid = results.drivers[results.drivers["rides_done"] > 0]
    assert (paid["tokens"] > 0).all()


def test_metrics_json_is_canonical(first: tuple[Model, Results], tmp_path: Path) -> None:
    _, results = first
    text = metrics.dumps(results.metrics)
    assert text.endswith("\n")
    parsed = json.loads(text)
    assert list(parsed) == sorted(parsed)
    assert parsed["format"] == metrics.FORMAT
    assert parsed["run"]["scenario"] == "small" and parsed["run"]["seed"] == 3
    paths = write(results, tmp_path)
    assert [p.name for p in paths] == list(OUTPUTS)
    assert json.loads(paths[-1].read_text())["wall_s"] > 0


def test_phones_that_hear_only_the_side_they_need_get_fewer_deliveries_and_the_same_rides(
    small: Scenario, first: tuple[Model, Results]
) -> None:
    from dataclasses import replace

    model, needed = first
    assert small.peer.listen == "needed"
    everything = Model(replace(small, peer=replace(small.peer, listen="all")), seed=3)
    result = everything.run()
    few, many = model.net.totals.gossip_deliveries, everything.net.totals.gossip_deliveries
    assert few < 0.6 * many  # 2,930 against 6,333 at seed 3
    # Requests published before a driver listened reach it when republished:
    # matching is not held back by more than that.
    assert needed.metrics["requests"]["matched"] >= 0.8 * result.metrics["requests"]["matched"]
