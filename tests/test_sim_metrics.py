"""The metrics' arithmetic and their canonical JSON."""

from __future__ import annotations

import json

import pytest

from sim.metrics import canonical, dumps, gini, summary


def test_gini_of_equal_shares_is_zero_and_of_one_winner_approaches_one() -> None:
    assert gini([]) == 0.0
    assert gini([0, 0, 0]) == 0.0
    assert gini([5, 5, 5, 5]) == 0.0
    assert gini([0, 0, 0, 10]) == pytest.approx(0.75)  # (n - 1) / n for one winner of n
    assert gini([1, 2, 3, 4]) == pytest.approx(0.25)
    assert gini([4, 1, 3, 2]) == gini([1, 2, 3, 4])


def test_summary_gives_count_mean_quantiles_and_max() -> None:
    assert summary([]) == {"n": 0, "mean": None, "p50": None, "p90": None, "max": None}
    s = summary([10.0, 0.0, 30.0, 20.0, 40.0])
    assert s == {"n": 5, "mean": 20.0, "p50": 20.0, "p90": 36.0, "max": 40.0}


def test_canonical_json_rounds_floats_sorts_keys_and_refuses_nothing_finite() -> None:
    data = {"b": 1 / 3, "a": {"z": float("nan"), "y": [2.000049, -0.00001]}, "c": 7}
    text = dumps(data)
    assert text == dumps(json.loads(text))  # a fixed point: rounding twice changes nothing
    parsed = json.loads(text)
    assert list(parsed) == ["a", "b", "c"]
    assert parsed["b"] == 0.3333
    assert parsed["a"]["z"] is None
    assert parsed["a"]["y"] == [2.0, 0.0]
    assert canonical(-0.0) == 0.0 and str(canonical(-0.00001)) == "0.0"
