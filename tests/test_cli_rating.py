"""``lazooz rate`` against a node's API really served: the rider of a done ride rates the driver."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from lazooz.control.handle import LocalNode
from tests.api_thread import serving
from tests.test_cli_control import lazooz
from tests.test_control_app import Clock, Wire, local_node
from tests.test_control_rating import done_ride


@pytest.fixture
def rider_served(tmp_path: Path) -> Iterator[tuple[Path, str, LocalNode]]:
    """The rider of a done ride, its API served for ``tmp_path``; (data dir, ride id, node)."""
    clock = Clock()
    driver, rider = local_node(1, clock), local_node(2, clock)
    ride_id = done_ride(driver, rider, clock, Wire(driver, rider))
    with serving(rider, tmp_path):
        yield tmp_path, ride_id, rider


def test_rate_a_done_ride_by_a_short_id_and_see_it_in_the_ride(
    rider_served: tuple[Path, str, LocalNode],
) -> None:
    data_dir, ride_id, node = rider_served
    code, out, err = lazooz("rate", ride_id[:8], "4", "--data-dir", str(data_dir), "--json")
    assert code == 0, err
    assert json.loads(out)["rating"] == 4
    assert node.peer.rating_given(bytes.fromhex(ride_id)) == 4
    code, out, err = lazooz("rate", ride_id[:8], "4", "--data-dir", str(data_dir))
    assert code == 1
    assert "rated 4 already" in err


@pytest.mark.parametrize("stars", ["0", "6"])
def test_stars_out_of_range_are_refused_naming_the_field(
    rider_served: tuple[Path, str, LocalNode], stars: str
) -> None:
    data_dir, ride_id, node = rider_served
    code, out, _ = lazooz("rate", ride_id, stars, "--data-dir", str(data_dir), "--json")
    assert code == 1
    answer = json.loads(out)
    assert answer["status"] == 400 and answer["detail"].startswith(f"stars={stars}: ")
    assert node.peer.rating_given(bytes.fromhex(ride_id)) is None


def test_the_ride_shows_the_rating_given_and_the_drivers_reputation(
    rider_served: tuple[Path, str, LocalNode],
) -> None:
    data_dir, ride_id, _ = rider_served
    code, out, err = lazooz("rate", ride_id, "5", "--data-dir", str(data_dir))
    assert code == 0, err
    said = " ".join(out.split())  # the console wraps long lines
    assert "you rated them 5/5" in said
    assert "their rating 5.0/5 (1 rating)" in said  # the rider's own ledger counts it at once
