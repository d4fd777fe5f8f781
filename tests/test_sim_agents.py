"""Agents in whole runs: colluders kept in check by the credit rule, a fork found, spam
refused, and rides that survive churn and a partition."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from protocol.ledger.credit import CreditV1
from sim.model import Model, Results
from sim.scenario import from_table

SCENARIOS = Path(__file__).parent.parent / "sim" / "scenarios"


def scenario_table(name: str) -> dict[str, object]:
    with (SCENARIOS / f"{name}.toml").open("rb") as f:
        return tomllib.load(f)


@pytest.fixture(scope="module")
def cheaters() -> tuple[Model, Results]:
    """The collusion scenario with a smaller honest town around the cheaters."""
    table = scenario_table("collusion")
    demand = table["demand"]
    assert isinstance(demand, dict)
    demand.update(riders=12, drivers=6)
    model = Model(from_table(table))
    return model, model.run()


def test_colluders_credit_is_halved_per_pair_and_capped_per_day(
    cheaters: tuple[Model, Results],
) -> None:
    model, results = cheaters
    collusion = results.metrics["adversarial"]["collusion"]
    rings = [r for r in collusion["rings"] if not r["equivocator"]]
    assert len(rings) == 2
    cap_tokens = CreditV1().daily_cap_milli / 1000
    for ring in rings:
        assert ring["fake_rides_done"] >= 8, ring
        # Every fake ride is a well-signed, counted receipt...
        assert ring["lines"] == {"counted": ring["fake_rides_done"]}
        # ...yet repeats of a pair earn half each time, and the day is capped.
        assert ring["halved"] > 0
        assert ring["credited_tokens"] < ring["claimed_tokens"] / 2
        assert ring["credited_tokens"] <= cap_tokens
        assert ring["capped"] > 0
    # Honest drivers still earn, from honest rides.
    assert collusion["honest_driver_credit"]["n"] == len(model.drivers)
    assert results.metrics["rides_done"] > 0
    assert results.metrics["tokens"]["total"] > 0


def test_an_equivocating_author_is_found_out_and_earns_nothing(
    cheaters: tuple[Model, Results],
) -> None:
    _, results = cheaters
    adv = results.metrics["adversarial"]
    forks = adv["forks"]
    assert forks["reference_knows"] == ["equivocator-0a-driver"]
    assert forks["authors_detected_by_honest"]["equivocator-0a-driver"] >= 5
    for ring in adv["collusion"]["rings"]:
        if ring["equivocator"]:
            assert ring["credited_tokens"] == 0
            assert set(ring["lines"]) == {"forked"}


def test_spam_is_refused_and_counted_by_reason(cheaters: tuple[Model, Results]) -> None:
    _, results = cheaters
    spam = results.metrics["adversarial"]["spam"]
    assert spam["sent"]["garbage"] > 0 and spam["sent"]["forged"] > 0
    refused = spam["rejected_by_honest"]
    # Garbage fails to decode, a damaged signature fails to verify, a verbatim
    # replay is caught by the replay window (or is stale, or expired).
    assert refused["gossip:decode"] >= spam["sent"]["garbage"]
    assert refused["gossip:bad_signature"] >= spam["sent"]["forged"]
    assert refused["gossip:replayed"] > 0


def test_rides_complete_through_churn_and_after_a_partition_heals() -> None:
    model = Model(from_table(scenario_table("churn")))
    results = model.run()
    m = results.metrics
    traffic = m["traffic"]
    assert traffic["cut_by_partition"] > 0
    assert traffic["reconnections"] > 0
    assert traffic["restarts"] > 0
    # Rides finished (receipts co-signed) after the partition healed, at 20 min.
    riders = results.riders
    healed_s = 20 * 60
    assert (riders["done_s"] > healed_s).sum() > 0
    assert m["receipts"]["honest_counted"] == m["rides_done"] > 0
    assert m["receipts"]["views_agree_share"] == 1.0
