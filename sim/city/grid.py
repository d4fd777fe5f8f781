"""A synthetic city: a square grid of streets with faster arterials every few blocks.

Deterministic from its parameters (no randomness at all), laid out in metres
around a centre point and projected to microdegrees, so the same parameters
give the same graph, byte for byte, everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol import roads
from protocol.errors import ConfigError, describe
from protocol.fields import GeoPoint
from protocol.roads import MAX_SPEED_KMH, RoadGraph

#: Tel Aviv, where the rest of the project's examples are.
TEL_AVIV = GeoPoint.from_degrees(32.0853, 34.7818)


@dataclass(frozen=True, slots=True)
class GridParams:
    """The shape of a grid city: ``size_km`` square, blocks of ``block_m``.

    Every ``arterial_every``-th street in each direction is an arterial at
    ``arterial_kmh``; the others are local streets at ``street_kmh``. All
    streets are two-way.
    """

    size_km: float = 10.0
    block_m: float = 200.0
    arterial_every: int = 5
    arterial_kmh: int = 50
    street_kmh: int = 30
    centre: GeoPoint = TEL_AVIV

    def __post_init__(self) -> None:
        rules = (
            ("size_km", self.size_km, 0.1 <= self.size_km <= 100, "must be 0.1..100"),
            ("block_m", self.block_m, 20 <= self.block_m <= 5_000, "must be 20..5000"),
            ("arterial_every", self.arterial_every, self.arterial_every >= 1, "must be >= 1"),
            ("arterial_kmh", self.arterial_kmh, 1 <= self.arterial_kmh <= MAX_SPEED_KMH, "km/h"),
            ("street_kmh", self.street_kmh, 1 <= self.street_kmh <= MAX_SPEED_KMH, "km/h"),
        )
        for name, value, ok, rule in rules:
            if not ok:
                raise ConfigError(describe(f"city.{name}", value, rule))
        if self.block_m > self.size_km * 1000:
            raise ConfigError(describe("city.block_m", self.block_m, "must fit in size_km"))

    @property
    def side(self) -> int:
        """Intersections along one side of the square."""
        return round(self.size_km * 1000 / self.block_m) + 1


def grid_graph(params: GridParams = GridParams()) -> RoadGraph:
    """The grid city as a road graph; node ``row * side + col``, row 0 in the south."""
    return roads.grid_graph(
        params.centre,
        params.side,
        params.block_m,
        params.arterial_every,
        params.arterial_kmh,
        params.street_kmh,
        name=f"grid {params.size_km:g} km / {params.block_m:g} m",
        attribution="synthetic grid (lazooz)",
    )
