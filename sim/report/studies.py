"""The report's two studies beside the run: coarse matching's cost, and shareability.

- **Resolution sweep**: how much match quality matching on gossiped H3 cells
  loses against exact points, at resolutions 6 to 9 (``sim.coarse``): on the
  synthetic grid of ``sim.synthetic`` and on the scenario's own city, whose
  drivers drive their routed trips and whose riders ask for their trips.
- **Shareability** (``sim.shareability``, Santi et al. 2014) of the
  scenario's city and demand model.

Both are deterministic for a seed: only their ``seconds`` depend on the machine.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import shapely

from protocol import geo
from protocol.fields import CostShare, GeoPoint, TimeWindow
from protocol.geo import LocalProjection
from protocol.matching import OpenOffer, OpenRequest, Place
from sim import coarse
from sim.city import City, CitySpec, load_city
from sim.demand import DemandSpec, Trip, generate
from sim.engine import derive_rng
from sim.scenario import Scenario
from sim.shareability import DEFAULT_DELAYS_MIN, DEFAULT_DENSITIES, ShareRow, shareability

RESOLUTIONS = (6, 7, 8, 9)


@dataclass(frozen=True, slots=True)
class ResolutionStudy:
    """Coarse-then-exact matching on one set of offers and requests."""

    where: str
    offers: int
    requests: int
    outcomes: list[coarse.StageOutcome]
    seconds: float


@dataclass(frozen=True, slots=True)
class ShareStudy:
    """The shareability table of one city and demand model."""

    city: str
    model: str
    rows: list[ShareRow]
    seconds: float


@dataclass(frozen=True, slots=True)
class Studies:
    resolution: list[ResolutionStudy]
    shareability: ShareStudy | None


def synthetic_resolutions(
    offers: int = 500, requests: int = 500, seed: int = 1, resolutions: Sequence[int] = RESOLUTIONS
) -> ResolutionStudy:
    """``sim.coarse.sweep`` on the synthetic 20 km grid city."""
    t0 = time.perf_counter()
    found = coarse.sweep(offers, requests, seed, list(resolutions))
    return ResolutionStudy(
        "synthetic grid, 20 x 20 km", offers, requests, found, time.perf_counter() - t0
    )


def city_resolutions(
    scenario: Scenario,
    city: City,
    trips: Sequence[Trip],
    resolutions: Sequence[int] = RESOLUTIONS,
    max_reveals: int = 3,
) -> ResolutionStudy:
    """Coarse-then-exact matching of the scenario's own trips, all at once.

    Drivers offer their routed trips with the scenario's detour limits and
    departure flexibility; riders ask for theirs with their time windows. A
    batch over the whole demand period, with no network and no waiting: it
    isolates what the cell resolution costs from everything else in a run.
    """
    t0 = time.perf_counter()
    projection = LocalProjection.around(city.centre)
    rng = derive_rng(scenario.seed, "resolution-study")
    drv, rid = scenario.driver, scenario.rider
    offers = []
    for trip in trips:
        if trip.role != "driver":
            continue
        route = city.router.route(trip.origin, trip.destination)
        if route is None or route.length_m <= 0 or len(route.points) < 2:
            continue
        xy = [projection.point_xy(p) for p in route.points]
        offers.append(
            OpenOffer(
                offer_id=rng.randbytes(16),
                driver=rng.randbytes(32),
                route=shapely.LineString(xy),
                departure=TimeWindow(trip.depart_ms, trip.depart_ms + drv.departure_flex_ms),
                duration_s=max(1, round(route.duration_s)),
                seats=trip.seats,
                max_detour_m=drv.max_detour_m,
                max_detour_s=drv.max_detour_s,
                cost=CostShare(drv.currency, drv.cost_base_minor, drv.cost_per_km_minor),
            )
        )
    riders = [t for t in trips if t.role == "rider"]
    ids = [(rng.randbytes(16), rng.randbytes(32)) for _ in riders]

    def requests(resolution: int | None) -> list[OpenRequest]:
        out = []
        for trip, (request_id, rider) in zip(riders, ids, strict=True):
            ends = [_place(projection, p, resolution) for p in (trip.origin, trip.destination)]
            out.append(
                OpenRequest(
                    request_id=request_id,
                    rider=rider,
                    pickup=ends[0],
                    dropoff=ends[1],
                    window=TimeWindow(trip.depart_ms, trip.depart_ms + trip.window_ms),
                    seats=trip.seats,
                    max_walk_m=rid.max_walk_m,
                )
            )
        return out

    exact = requests(None)
    found = [coarse.measure(offers, exact, None, None)]
    for res in resolutions:
        found.append(coarse.measure(offers, exact, requests(res), res, max_reveals))
    return ResolutionStudy(
        f"the {scenario.name} scenario's trips ({city.name})",
        len(offers),
        len(riders),
        found,
        time.perf_counter() - t0,
    )


def _place(projection: LocalProjection, point: GeoPoint, resolution: int | None) -> Place:
    """An exact point, or the disc bounding its cell at ``resolution`` (as gossip carries it)."""
    if resolution is None:
        return Place(*projection.point_xy(point), 0.0)
    return Place(*projection.cell_disc(geo.cell_of(point, resolution)))


def city_shareability(
    scenario: Scenario,
    city: City,
    densities: Sequence[float] = DEFAULT_DENSITIES,
    delays_min: Sequence[float] = DEFAULT_DELAYS_MIN,
) -> ShareStudy:
    """The shareability table for the scenario's city and demand model (one hour of trips)."""
    spec = DemandSpec.from_toml(dict(scenario.demand))
    t0 = time.perf_counter()
    rows = shareability(
        city, random.Random(scenario.seed), densities, delays_min, demand=replace(spec)
    )
    return ShareStudy(city.name, spec.model, rows, time.perf_counter() - t0)


def run_studies(scenario: Scenario, *, synthetic: bool = True, share: bool = True) -> Studies:
    """Every study for ``scenario``'s report: resolution sweeps and the shareability table."""
    city = load_city(CitySpec.from_toml(scenario.city))
    spec = DemandSpec.from_toml(dict(scenario.demand))
    trips = generate(spec, city, derive_rng(scenario.seed, "demand"))
    resolution = [city_resolutions(scenario, city, trips)]
    if synthetic:
        resolution.insert(0, synthetic_resolutions(seed=scenario.seed))
    return Studies(resolution, city_shareability(scenario, city) if share else None)
