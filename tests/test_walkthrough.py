"""The main job before the node exists: ``lazooz walkthrough``, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

LAZOOZ = Path(sys.executable).parent / "lazooz"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LAZOOZ), "walkthrough", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def summary() -> dict[str, object]:
    done = _run("--json", "--seed", "7")
    assert done.returncode == 0, done.stderr
    parsed: dict[str, object] = json.loads(done.stdout)
    return parsed


def test_every_honest_message_is_accepted(summary: dict[str, object]) -> None:
    assert summary["accepted"] == 6
    assert len(summary["members"]) == 6  # type: ignore[arg-type]
    assert all(m.startswith("lz1") for m in summary["members"].values())  # type: ignore[attr-defined]


def test_every_tampered_copy_is_rejected_with_its_reason(summary: dict[str, object]) -> None:
    assert summary["rejected"] == {
        "one bit flipped in transit": "bad_signature",
        "truncated by a broken relay": "decode",
        "kind renamed": "unknown_kind",
        "replayed to the same peer": "replayed",
        "replayed three hours later": "expired",
        "oversized junk": "oversized",
    }


def test_requests_carry_cells_and_offers_hide_their_ends(summary: dict[str, object]) -> None:
    offers: list[dict[str, int]] = summary["offers"]  # type: ignore[assignment]
    for offer in offers:
        hidden = offer["route_m"] - offer["published_m"]
        assert 600 <= hidden <= 1200, offer  # 300-600 m cut from each end
    for request in summary["requests"]:  # type: ignore[attr-defined]
        assert request["pickup_cell"].startswith("0x87")  # H3 resolution 7


def test_riders_are_matched_with_a_pooled_ride_and_no_double_booking(
    summary: dict[str, object],
) -> None:
    rides: dict[str, list[dict[str, int]]] = summary["rides"]  # type: ignore[assignment]
    riders = [r["rider"] for ride in rides.values() for r in ride]
    assert len(riders) == len(set(riders))
    assert any(len(ride) > 1 for ride in rides.values()), rides
    assert len(riders) + len(summary["unmatched"]) == 4  # type: ignore[arg-type]
    for ride in rides.values():
        for r in ride:
            assert r["detour_m"] <= 2_500
            assert r["cost_minor"] >= 500


def test_every_rider_has_a_coarse_candidate_confirmed_on_exact_points(
    summary: dict[str, object],
) -> None:
    coarse: dict[str, list[str]] = summary["coarse_candidates"]  # type: ignore[assignment]
    assert all(coarse.values()), coarse
    checks: dict[str, dict[str, object]] = summary["exact_checks"]  # type: ignore[assignment]
    assert set(checks) == set(coarse)
    assert sum(1 for c in checks.values() if c["fits"]) >= 3


def test_same_seed_same_output_and_seed_changes_keys() -> None:
    a, b, c = _run("--json", "--seed", "3"), _run("--json", "--seed", "3"), _run("--json")
    assert a.stdout == b.stdout
    assert json.loads(a.stdout)["members"] != json.loads(c.stdout)["members"]


def test_human_output_shows_every_step() -> None:
    done = _run()
    assert done.returncode == 0, done.stderr
    for step in ("1. Members", "2. Offers", "3. Requests", "5. Coarse", "6. Exact", "7. Batch"):
        assert step in done.stdout
