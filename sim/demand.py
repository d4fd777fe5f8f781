"""Who wants to go where, and when: trips for the simulator's riders and drivers.

Drivers are people making their own trips who offer their free seats (the
La'Zooz model), not a fleet: a driver's trip is drawn from the same model as
a rider's. Models (docs/simulator-city.md §Demand):

- ``uniform``: departures uniform over the run; both ends uniform over the city.
- ``hotspots``: like uniform, but each end lies, with ``hotspot_share``, near
  one of ``hotspots`` places (random road nodes, the k-th drawing weight 1/k),
  spread as a normal of ``hotspot_radius_m``.
- ``commute``: a morning peak: with ``commute_share``, a trip goes from a home
  anywhere to a workplace near the centre (normal of ``centre_radius_m``),
  departing at a normal time around ``peak_min`` (sd ``peak_sd_min``); the rest
  is uniform background traffic. ``direction = "outbound"`` is the evening.
- ``csv``: the rows of ``path`` (see ``read_csv``).

Every end is snapped to its nearest road node, so trips start and end on the
network; ends closer than ``min_trip_m`` are drawn again.
"""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from protocol.errors import ConfigError, describe
from protocol.fields import MICRO, GeoPoint
from sim.city import City
from sim.city.tables import read_table

MINUTE_MS = 60_000
Role = Literal["driver", "rider"]
MODELS = ("uniform", "hotspots", "commute", "csv")
#: Draws of one trip's ends before the model is declared impossible for the city.
_MAX_DRAWS = 1_000


class DemandError(ConfigError):
    """A demand table or CSV row is wrong; the message names the row and column."""

    reason = "demand"


@dataclass(frozen=True, slots=True)
class Trip:
    """One person's trip: leaves at ``depart_ms`` (from the run's start), flexible by ``window_ms``.

    A rider needs ``seats`` seats and accepts a pickup until ``depart_ms +
    window_ms``; a driver offers ``seats`` free seats and may leave that late.
    """

    id: int
    depart_ms: int
    origin: GeoPoint
    destination: GeoPoint
    role: Role
    window_ms: int
    seats: int


@dataclass(frozen=True, slots=True)
class DemandSpec:
    """A scenario's ``[demand]`` table (see the module docstring for the models)."""

    model: str = "uniform"
    riders: int = 200
    drivers: int = 50
    duration_min: float = 60.0
    rider_window_min: float = 15.0
    driver_window_min: float = 10.0
    rider_seats: int = 1
    driver_seats_min: int = 1
    driver_seats_max: int = 3
    min_trip_m: float = 1_000.0
    hotspots: int = 5
    hotspot_share: float = 0.7
    hotspot_radius_m: float = 400.0
    commute_share: float = 0.8
    peak_min: float = 30.0
    peak_sd_min: float = 15.0
    centre_radius_m: float = 1_500.0
    direction: str = "inbound"
    path: str | None = None

    def __post_init__(self) -> None:
        rules = (
            ("model", self.model, self.model in MODELS, f"must be one of {MODELS}"),
            ("riders", self.riders, self.riders >= 0, "must be >= 0"),
            ("drivers", self.drivers, self.drivers >= 0, "must be >= 0"),
            ("duration_min", self.duration_min, self.duration_min > 0, "must be > 0"),
            ("rider_window_min", self.rider_window_min, self.rider_window_min >= 0, ">= 0"),
            ("driver_window_min", self.driver_window_min, self.driver_window_min >= 0, ">= 0"),
            ("rider_seats", self.rider_seats, 1 <= self.rider_seats <= 8, "must be 1..8"),
            ("driver_seats_min", self.driver_seats_min, self.driver_seats_min >= 1, ">= 1"),
            (
                "driver_seats_max",
                self.driver_seats_max,
                self.driver_seats_min <= self.driver_seats_max <= 8,
                "must be driver_seats_min..8",
            ),
            ("min_trip_m", self.min_trip_m, self.min_trip_m >= 0, "must be >= 0"),
            ("hotspots", self.hotspots, self.hotspots >= 1, "must be >= 1"),
            ("hotspot_share", self.hotspot_share, 0 <= self.hotspot_share <= 1, "must be 0..1"),
            ("hotspot_radius_m", self.hotspot_radius_m, self.hotspot_radius_m > 0, "> 0"),
            ("commute_share", self.commute_share, 0 <= self.commute_share <= 1, "must be 0..1"),
            ("peak_sd_min", self.peak_sd_min, self.peak_sd_min > 0, "must be > 0"),
            ("centre_radius_m", self.centre_radius_m, self.centre_radius_m > 0, "must be > 0"),
            ("direction", self.direction, self.direction in ("inbound", "outbound"), "in|out"),
            ("path", self.path, self.model != "csv" or self.path is not None, "csv needs a path"),
        )
        for name, value, ok, rule in rules:
            if not ok:
                raise DemandError(describe(f"demand.{name}", value, rule))

    @classmethod
    def from_toml(cls, table: dict[str, object]) -> DemandSpec:
        """From a parsed ``[demand]`` table; unknown keys and wrong types are refused."""
        return read_table(cls, table, "demand", DemandError)

    @property
    def duration_ms(self) -> int:
        return round(self.duration_min * MINUTE_MS)


def generate(spec: DemandSpec, city: City, rng: random.Random) -> list[Trip]:
    """The trips of ``spec`` on ``city``, ids in departure order; deterministic for ``rng``."""
    if spec.model == "csv":
        return read_csv(
            Path(spec.path or ""),
            rider_window_ms=round(spec.rider_window_min * MINUTE_MS),
            driver_window_ms=round(spec.driver_window_min * MINUTE_MS),
            rider_seats=spec.rider_seats,
            driver_seats=spec.driver_seats_max,
        )
    trips = _Ends(spec, city, rng).trips(spec.drivers + spec.riders)
    drafts: list[tuple[int, Role, GeoPoint, GeoPoint, int, int]] = []
    for i, (depart, origin, destination) in enumerate(trips):
        if i < spec.drivers:
            window = round(spec.driver_window_min * MINUTE_MS)
            seats = rng.randint(spec.driver_seats_min, spec.driver_seats_max)
            drafts.append((depart, "driver", origin, destination, window, seats))
        else:
            window = round(spec.rider_window_min * MINUTE_MS)
            drafts.append((depart, "rider", origin, destination, window, spec.rider_seats))
    drafts.sort(key=lambda d: (d[0], d[1], d[2].lat_e6, d[2].lon_e6))
    return [Trip(i, d, o, t, r, w, s) for i, (d, r, o, t, w, s) in enumerate(drafts)]


class _Ends:
    """Draws one trip's departure and ends under a model, in metres of the city's frame."""

    def __init__(self, spec: DemandSpec, city: City, rng: random.Random) -> None:
        self.spec, self.city, self.rng = spec, city, rng
        xy = city.graph.xy
        self.lo, self.hi = xy.min(axis=0), xy.max(axis=0)
        self.centre = np.array(city.graph.projection.point_xy(city.centre))
        # Hotspots are road nodes, so they sit where the city is, not in its parks or sea.
        picks = [rng.randrange(len(city.graph)) for _ in range(spec.hotspots)]
        self.hotspots = xy[picks]
        self.hotspot_weights = [1 / (k + 1) for k in range(spec.hotspots)]

    def trips(self, count: int) -> list[tuple[int, GeoPoint, GeoPoint]]:
        """``count`` trips; ends that snap too close together are drawn again, in order."""
        g, s = self.city.graph, self.spec
        found: list[tuple[int, GeoPoint, GeoPoint] | None] = [None] * count
        todo = list(range(count))
        for _ in range(_MAX_DRAWS):
            if not todo:
                return [t for t in found if t is not None]
            draws = [self._draw() for _ in todo]
            nodes = g.nearest_xy(np.array([p for _, a, b in draws for p in (a, b)])).reshape(-1, 2)
            gaps = np.hypot(*(g.xy[nodes[:, 0]] - g.xy[nodes[:, 1]]).T)
            retry = []
            for i, (depart, _, _), (na, nb), gap in zip(todo, draws, nodes, gaps, strict=True):
                if na != nb and gap >= s.min_trip_m:
                    found[i] = (depart, g.point(int(na)), g.point(int(nb)))
                else:
                    retry.append(i)
            todo = retry
        raise DemandError(
            describe(
                "demand.min_trip_m", s.min_trip_m, f"too few trips that long in {self.city.name}"
            )
        )

    def _draw(self) -> tuple[int, tuple[float, float], tuple[float, float]]:
        s, rng = self.spec, self.rng
        if s.model == "hotspots":
            return self._uniform_time(), self._hotspot_or_uniform(), self._hotspot_or_uniform()
        if s.model == "commute" and rng.random() < s.commute_share:
            peak, sd = s.peak_min * MINUTE_MS, s.peak_sd_min * MINUTE_MS
            depart = round(rng.gauss(peak, sd))
            while not 0 <= depart < s.duration_ms:
                depart = round(rng.gauss(peak, sd))
            home = self._uniform_place()
            work = (
                rng.gauss(self.centre[0], s.centre_radius_m),
                rng.gauss(self.centre[1], s.centre_radius_m),
            )
            return (depart, home, work) if s.direction == "inbound" else (depart, work, home)
        return self._uniform_time(), self._uniform_place(), self._uniform_place()

    def _uniform_time(self) -> int:
        return self.rng.randrange(self.spec.duration_ms)

    def _uniform_place(self) -> tuple[float, float]:
        return (
            self.rng.uniform(self.lo[0], self.hi[0]),
            self.rng.uniform(self.lo[1], self.hi[1]),
        )

    def _hotspot_or_uniform(self) -> tuple[float, float]:
        if self.rng.random() >= self.spec.hotspot_share:
            return self._uniform_place()
        (x, y) = self.rng.choices(self.hotspots, weights=self.hotspot_weights)[0]
        r = self.spec.hotspot_radius_m
        return self.rng.gauss(float(x), r), self.rng.gauss(float(y), r)


# -- CSV


CSV_COLUMNS = ("time", "origin_lon", "origin_lat", "destination_lon", "destination_lat", "role")


def read_csv(
    path: Path,
    *,
    rider_window_ms: int = 15 * MINUTE_MS,
    driver_window_ms: int = 10 * MINUTE_MS,
    rider_seats: int = 1,
    driver_seats: int = 3,
    default_role: Role = "rider",
) -> list[Trip]:
    """Trips from CSV rows ``time, origin lon, origin lat, dest. lon, dest. lat[, role]``.

    ``time`` is seconds from the run's start (``90``, ``12.5``) or a clock time
    (``07:45``, ``07:45:30``), measured from the earliest row's. An optional
    header row starts with ``time``. ``role`` is ``rider`` or ``driver``
    (default ``default_role``). Ids follow departure order (then file order).
    A bad row raises ``DemandError`` naming the file, row and column.
    """
    rows = list(_rows(path))
    times: list[tuple[int, bool]] = []
    parsed: list[tuple[GeoPoint, GeoPoint, Role]] = []
    for line, cells in rows:
        where = f"{path.name} row {line}"
        times.append(_time_ms(cells[0], f"{where}, column time"))
        coords = [_degrees(cells[i], f"{where}, column {CSV_COLUMNS[i]}", i) for i in range(1, 5)]
        role = cells[5].strip().lower() if len(cells) == 6 and cells[5].strip() else default_role
        if role not in ("rider", "driver"):
            raise DemandError(
                describe(f"{where}, column role", cells[5], "must be rider or driver")
            )
        origin = GeoPoint.from_degrees(coords[1], coords[0])
        destination = GeoPoint.from_degrees(coords[3], coords[2])
        parsed.append((origin, destination, role))  # type: ignore[arg-type]
    clock = [t for t, is_clock in times if is_clock]
    start = min(clock) if clock else 0
    departs = [t - start if is_clock else t for t, is_clock in times]
    order = sorted(range(len(parsed)), key=lambda i: (departs[i], i))
    trips = []
    for new_id, i in enumerate(order):
        origin, destination, role = parsed[i]
        rider = role == "rider"
        trips.append(
            Trip(
                id=new_id,
                depart_ms=departs[i],
                origin=origin,
                destination=destination,
                role=role,
                window_ms=rider_window_ms if rider else driver_window_ms,
                seats=rider_seats if rider else driver_seats,
            )
        )
    return trips


def _rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    try:
        with path.open(newline="", encoding="utf-8") as f:
            for line, cells in enumerate(csv.reader(f), start=1):
                if not cells or all(not c.strip() for c in cells):
                    continue
                if line == 1 and cells[0].strip().lower() == "time":
                    continue
                if len(cells) not in (5, 6):
                    raise DemandError(
                        describe(f"{path.name} row {line}", cells, "needs 5 or 6 columns")
                    )
                yield line, cells
    except (OSError, UnicodeDecodeError) as exc:
        raise DemandError(describe("demand.path", str(path), f"cannot read: {exc}")) from None


def _time_ms(cell: str, where: str) -> tuple[int, bool]:
    """Milliseconds and whether the cell was a clock time."""
    text = cell.strip()
    if ":" in text:
        parts = text.split(":")
        fields = [int(p) if p.isdigit() else -1 for p in parts] if len(parts) in (2, 3) else [-1]
        h, m, sec = [*fields, 0, 0][:3]
        if not (0 <= h < 48 and 0 <= m < 60 and 0 <= sec < 60):
            raise DemandError(describe(where, cell, "must be seconds or HH:MM[:SS]"))
        return ((h * 60 + m) * 60 + sec) * 1000, True
    try:
        seconds = float(text)
    except ValueError:
        raise DemandError(describe(where, cell, "must be seconds or HH:MM[:SS]")) from None
    if not (math.isfinite(seconds) and seconds >= 0):
        raise DemandError(describe(where, cell, "seconds must be finite and >= 0"))
    return round(seconds * 1000), False


def _degrees(cell: str, where: str, column: int) -> float:
    limit = 180 if column % 2 else 90  # odd columns are longitudes
    try:
        value = float(cell)
    except ValueError:
        raise DemandError(describe(where, cell, "must be a number of degrees")) from None
    if not (math.isfinite(value) and -limit <= value <= limit):
        raise DemandError(describe(where, cell, f"must be -{limit}..{limit}"))
    return round(value * MICRO) / MICRO
