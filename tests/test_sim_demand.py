"""Demand: trips from the uniform, hotspot and commute models, and from CSV files."""

from __future__ import annotations

import random
import statistics
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from protocol import geo
from sim.city import City, CitySpec, load_city
from sim.demand import MINUTE_MS, DemandError, DemandSpec, Trip, generate, read_csv


@pytest.fixture(scope="module")
def city() -> City:
    return load_city(CitySpec(size_km=6.0))


def _generate(city: City, seed: int = 1, **kw: object) -> list[Trip]:
    return generate(DemandSpec(**kw), city, random.Random(seed))  # type: ignore[arg-type]


def test_uniform_trips_have_the_asked_roles_windows_and_seats(city: City) -> None:
    trips = _generate(city, riders=300, drivers=80, duration_min=90, driver_seats_max=4)
    assert [t.id for t in trips] == list(range(380))
    assert [t.depart_ms for t in trips] == sorted(t.depart_ms for t in trips)
    riders = [t for t in trips if t.role == "rider"]
    drivers = [t for t in trips if t.role == "driver"]
    assert (len(riders), len(drivers)) == (300, 80)
    assert all(t.window_ms == 15 * MINUTE_MS and t.seats == 1 for t in riders)
    assert all(t.window_ms == 10 * MINUTE_MS and 1 <= t.seats <= 4 for t in drivers)
    assert {t.seats for t in drivers} == {1, 2, 3, 4}
    assert all(0 <= t.depart_ms < 90 * MINUTE_MS for t in trips)


def test_trip_ends_lie_on_road_nodes_and_are_far_enough_apart(city: City) -> None:
    trips = _generate(city, riders=200, drivers=0, min_trip_m=2_000)
    g = city.graph
    for t in trips[:50]:
        assert g.point(g.nearest(t.origin)) == t.origin
        assert g.point(g.nearest(t.destination)) == t.destination
    assert min(geo.distance_m(t.origin, t.destination) for t in trips) >= 1_990
    assert all(city.router.route(t.origin, t.destination) is not None for t in trips[:20])


def test_the_same_seed_gives_the_same_trips(city: City) -> None:
    for model in ("uniform", "hotspots", "commute"):
        assert _generate(city, 7, model=model) == _generate(city, 7, model=model)
        assert _generate(city, 7, model=model) != _generate(city, 8, model=model)


def test_hotspot_trips_crowd_a_few_places(city: City) -> None:
    def top_cells_share(trips: list[Trip]) -> float:
        """Share of origins in the 10 busiest ~500 m cells (of ~150 in the city)."""
        cells = Counter((t.origin.lat_e6 // 5_000, t.origin.lon_e6 // 5_000) for t in trips)
        return sum(n for _, n in cells.most_common(10)) / len(trips)

    uniform = _generate(city, riders=600, drivers=0)
    hot = _generate(city, riders=600, drivers=0, model="hotspots", hotspots=3, hotspot_share=0.9)
    assert top_cells_share(uniform) < 0.2
    assert top_cells_share(hot) > 0.5


def test_commute_peaks_in_time_and_heads_for_the_centre(city: City) -> None:
    trips = _generate(
        city,
        riders=800,
        drivers=0,
        model="commute",
        duration_min=120,
        peak_min=45,
        peak_sd_min=10,
        centre_radius_m=600,
    )
    departs = [t.depart_ms / MINUTE_MS for t in trips]
    assert 40 < statistics.median(departs) < 50
    within_peak = np.mean([abs(d - 45) < 20 for d in departs])
    assert within_peak > 0.75  # uniform would put a third there
    to_centre = [geo.distance_m(t.destination, city.centre) for t in trips]
    from_centre = [geo.distance_m(t.origin, city.centre) for t in trips]
    assert statistics.median(to_centre) < 0.6 * statistics.median(from_centre)
    evening = _generate(
        city, riders=400, drivers=0, model="commute", direction="outbound", centre_radius_m=600
    )
    assert statistics.median(geo.distance_m(t.origin, city.centre) for t in evening) < 1_200


def test_an_impossible_minimum_trip_is_refused(city: City) -> None:
    with pytest.raises(DemandError, match=r"demand\.min_trip_m=50000"):
        _generate(city, riders=1, drivers=0, min_trip_m=50_000)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"model": "gravity"}, r"demand\.model='gravity'"),
        ({"riders": -1}, r"demand\.riders=-1"),
        ({"riders": 1.5}, r"demand\.riders=1\.5: must be an integer"),
        ({"hotspot_share": 2}, r"demand\.hotspot_share=2\.0"),
        ({"driver_seats_min": 3, "driver_seats_max": 2}, r"demand\.driver_seats_max=2"),
        ({"model": "csv"}, "csv needs a path"),
        ({"peak": 3}, r"demand\.peak=3: unknown key"),
    ],
)
def test_bad_demand_tables_are_refused_naming_the_key(
    table: dict[str, object], message: str
) -> None:
    with pytest.raises(DemandError, match=message):
        DemandSpec.from_toml(table)


def test_csv_rows_become_trips_in_departure_order(tmp_path: Path) -> None:
    path = tmp_path / "trips.csv"
    path.write_text(
        "time,origin_lon,origin_lat,destination_lon,destination_lat,role\n"
        "07:45,34.78,32.08,34.80,32.10,driver\n"
        "07:30:30,34.77,32.07,34.79,32.09\n"
        "\n"
        "07:50,34.76,32.06,34.78,32.11,rider\n"
    )
    trips = read_csv(path, driver_seats=2)
    assert [(t.depart_ms, t.role, t.seats) for t in trips] == [
        (0, "rider", 1),
        (14 * MINUTE_MS + 30_000, "driver", 2),
        (19 * MINUTE_MS + 30_000, "rider", 1),
    ]
    assert trips[0].origin.lat_e6 == 32_070_000 and trips[0].origin.lon_e6 == 34_770_000
    assert trips[1].window_ms == 10 * MINUTE_MS


def test_csv_seconds_and_demand_spec_csv_model(tmp_path: Path, city: City) -> None:
    path = tmp_path / "t.csv"
    path.write_text("12.5,34.78,32.08,34.80,32.10\n0,34.77,32.07,34.79,32.09\n")
    trips = generate(DemandSpec(model="csv", path=str(path)), city, random.Random(0))
    assert [t.depart_ms for t in trips] == [0, 12_500]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("07:61,34.78,32.08,34.80,32.10", r"row 2, column time='07:61'"),
        ("-3,34.78,32.08,34.80,32.10", r"row 2, column time='-3'"),
        ("60,34.78,95,34.80,32.10", r"row 2, column origin_lat='95': must be -90\.\.90"),
        ("60,east,32.08,34.80,32.10", r"row 2, column origin_lon='east'"),
        ("60,34.78,32.08,34.80,nan", r"row 2, column destination_lat='nan'"),
        ("60,34.78,32.08,34.80,32.10,pilot", r"row 2, column role='pilot'"),
        ("60,34.78,32.08,34.80", r"row 2=.*needs 5 or 6 columns"),
    ],
)
def test_bad_csv_rows_are_refused_naming_row_and_column(
    tmp_path: Path, row: str, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("0,34.77,32.07,34.79,32.09\n" + row + "\n")
    with pytest.raises(DemandError, match=rf"bad\.csv {message}"):
        read_csv(path)


def test_a_missing_csv_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DemandError, match="cannot read"):
        read_csv(tmp_path / "none.csv")
