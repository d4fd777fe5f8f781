"""A synthetic grid city: drivers' commutes and riders' trips, in metres.

Until the road network lands (the simulator issue), routes run along a
Manhattan grid: a driver goes from one intersection to another through a few
turns, as commuters do. Riders' trips are uniform over the city, or, with
``hotspot_share``, start near a random driver's route, which is how demand
clusters along arteries in real cities. Everything is drawn from the ``rng``
the caller passes, so a seed fixes the city.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import shapely

from protocol import geo
from protocol.fields import CostShare, GeoPoint, TimeWindow
from protocol.matching import OpenOffer, OpenRequest, Place

MINUTE_MS = 60_000
#: Tel Aviv: the city is laid out in metres around this point.
CENTRE = GeoPoint.from_degrees(32.0853, 34.7818)


@dataclass(frozen=True, slots=True)
class CityParams:
    """The knobs of a synthetic city; defaults are a mid-sized city's morning."""

    size_m: float = 20_000.0
    block_m: float = 250.0
    trip_min_m: float = 3_000.0
    trip_max_m: float = 12_000.0
    horizon_ms: int = 120 * MINUTE_MS
    window_ms: int = 20 * MINUTE_MS
    speed_mps: float = 30 / 3.6
    seats: tuple[int, ...] = (1, 2, 3)
    max_detour_m: int = 2_500
    max_detour_s: int = 480
    max_walk_m: int = 300
    hotspot_share: float = 0.5


def _grid_point(rng: random.Random, p: CityParams) -> tuple[float, float]:
    half = p.size_m / 2
    return (
        round(rng.uniform(-half, half) / p.block_m) * p.block_m,
        round(rng.uniform(-half, half) / p.block_m) * p.block_m,
    )


def _commute(rng: random.Random, p: CityParams) -> shapely.LineString:
    """A grid path between two intersections, with one to three turns."""
    while True:
        a, b = _grid_point(rng, p), _grid_point(rng, p)
        if p.trip_min_m <= abs(a[0] - b[0]) + abs(a[1] - b[1]) <= p.trip_max_m:
            break
    vertices = [a]
    x, y = a
    for _ in range(rng.randint(1, 3)):
        # A staircase: part of the way along x, then part along y.
        x += round((b[0] - x) * rng.uniform(0.3, 1.0) / p.block_m) * p.block_m
        vertices.append((x, y))
        y += round((b[1] - y) * rng.uniform(0.3, 1.0) / p.block_m) * p.block_m
        vertices.append((x, y))
    vertices += [(b[0], y), b]
    # Drop repeated vertices: a zero-length segment is not a road.
    path = [v for i, v in enumerate(vertices) if i == 0 or v != vertices[i - 1]]
    return shapely.LineString(path)


def offers(n: int, rng: random.Random, p: CityParams = CityParams()) -> list[OpenOffer]:
    """``n`` drivers sharing free seats along their commute."""
    out = []
    for _ in range(n):
        route = _commute(rng, p)
        depart = rng.randrange(0, p.horizon_ms)
        out.append(
            OpenOffer(
                offer_id=rng.randbytes(16),
                driver=rng.randbytes(32),
                route=route,
                departure=TimeWindow(depart, depart + 10 * MINUTE_MS),
                duration_s=round(route.length / p.speed_mps),
                seats=rng.choice(p.seats),
                max_detour_m=p.max_detour_m,
                max_detour_s=p.max_detour_s,
                cost=CostShare("ILS", 500, 60),
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class Trip:
    """A rider's trip in the city's metric frame, with its pickup window."""

    origin: tuple[float, float]
    destination: tuple[float, float]
    window: TimeWindow


def trips(
    n: int, rng: random.Random, drivers: list[OpenOffer], p: CityParams = CityParams()
) -> list[Trip]:
    """``n`` riders' trips, uniform or (``hotspot_share``) along drivers' routes."""
    out: list[Trip] = []
    half = p.size_m / 2
    while len(out) < n:
        if drivers and rng.random() < p.hotspot_share:
            # Near an artery: both ends within a few blocks of one driver's route.
            route = rng.choice(drivers).route
            ends = []
            for at in sorted((rng.random(), rng.random())):
                on = route.interpolate(at, normalized=True)
                ends.append(
                    (on.x + rng.gauss(0, 2 * p.block_m), on.y + rng.gauss(0, 2 * p.block_m))
                )
            origin, destination = ends[0], ends[1]
        else:
            origin = (rng.uniform(-half, half), rng.uniform(-half, half))
            destination = (rng.uniform(-half, half), rng.uniform(-half, half))
        length = abs(origin[0] - destination[0]) + abs(origin[1] - destination[1])
        if not p.trip_min_m / 2 <= length <= p.trip_max_m:
            continue
        start = rng.randrange(0, p.horizon_ms)
        out.append(Trip(origin, destination, TimeWindow(start, start + p.window_ms)))
    return out


def requests(
    trips_: list[Trip],
    rng: random.Random,
    resolution: int | None,
    p: CityParams = CityParams(),
) -> list[OpenRequest]:
    """Riders' requests for ``trips_``: exact points, or H3 cells at ``resolution``.

    Coarse requests are what gossip carries: the H3 cell of each end, seen as
    the disc around the cell's centre that holds the whole cell.
    """
    projection = geo.LocalProjection.around(CENTRE)
    out: list[OpenRequest] = []
    for trip in trips_:
        places = [_place(projection, xy, resolution) for xy in (trip.origin, trip.destination)]
        out.append(
            OpenRequest(
                request_id=rng.randbytes(16),
                rider=rng.randbytes(32),
                pickup=places[0],
                dropoff=places[1],
                window=trip.window,
                seats=1,
                max_walk_m=p.max_walk_m,
            )
        )
    return out


def _place(
    projection: geo.LocalProjection, xy: tuple[float, float], resolution: int | None
) -> Place:
    if resolution is None:
        return Place(xy[0], xy[1], 0.0)
    lon, lat = projection.to_degrees(np.array([xy[0]]), np.array([xy[1]]))
    cell = geo.cell_of(GeoPoint.from_degrees(float(lat[0]), float(lon[0])), resolution)
    return Place(*projection.cell_disc(cell))
