"""Cities for the simulator: a road graph, a router on it, and where the data came from.

``load_city(CitySpec)`` gives a ``City`` from a scenario's ``[city]`` table:
``kind = "grid"`` (a synthetic grid, ``sim.city.grid``) or ``kind = "osm"``
with ``name`` (a graph embedded in ``protocol/roads/data/``) or ``path`` (an
``.osm.pbf`` extract, read with pyosmium, or a ``.roads`` file).
See docs/simulator-city.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from protocol.errors import ConfigError, describe
from protocol.fields import GeoPoint
from protocol.roads import DEFAULT_CACHE_SIZE, RoadGraph, Router
from sim.city.grid import TEL_AVIV, GridParams, grid_graph
from sim.city.tables import read_table

__all__ = [
    "EMBEDDED",
    "City",
    "CitySpec",
    "GridParams",
    "embedded_graph",
    "grid_graph",
    "load_city",
]

#: Graphs shipped as package data: name -> file in protocol/roads/data/.
EMBEDDED: Mapping[str, str] = {"helsinki": "helsinki.roads"}


@dataclass(frozen=True, slots=True)
class CitySpec:
    """A scenario's ``[city]`` table; the defaults are a 10 × 10 km grid around Tel Aviv."""

    kind: Literal["grid", "osm"] = "grid"
    name: str | None = None
    path: str | None = None
    size_km: float = 10.0
    block_m: float = 200.0
    arterial_every: int = 5
    arterial_kmh: int = 50
    street_kmh: int = 30
    centre_lat: float = TEL_AVIV.lat
    centre_lon: float = TEL_AVIV.lon
    cache_size: int = DEFAULT_CACHE_SIZE

    def __post_init__(self) -> None:
        if self.kind not in ("grid", "osm"):
            raise ConfigError(describe("city.kind", self.kind, "must be 'grid' or 'osm'"))
        if self.kind == "osm" and self.name is None and self.path is None:
            raise ConfigError(
                describe("city", None, "an osm city needs name (embedded) or path (a file)")
            )
        if self.name is not None and self.path is None and self.name not in EMBEDDED:
            raise ConfigError(
                describe("city.name", self.name, f"embedded cities are {sorted(EMBEDDED)}")
            )
        if self.cache_size < 0:
            raise ConfigError(describe("city.cache_size", self.cache_size, "must be >= 0"))
        if self.kind == "grid":
            self.grid_params()  # refuses bad grid parameters now, naming the key

    @classmethod
    def from_toml(cls, table: Mapping[str, object]) -> CitySpec:
        """From a parsed ``[city]`` table; unknown keys and wrong types are refused."""
        return read_table(cls, table, "city")

    def grid_params(self) -> GridParams:
        return GridParams(
            size_km=self.size_km,
            block_m=self.block_m,
            arterial_every=self.arterial_every,
            arterial_kmh=self.arterial_kmh,
            street_kmh=self.street_kmh,
            centre=GeoPoint.from_degrees(self.centre_lat, self.centre_lon),
        )


@dataclass(frozen=True, slots=True)
class City:
    """A road network to simulate on, with its router."""

    name: str
    graph: RoadGraph
    router: Router
    centre: GeoPoint
    attribution: str


def embedded_graph(name: str) -> RoadGraph:
    """A graph shipped in ``protocol/roads/data/`` (package data)."""
    if name not in EMBEDDED:
        raise ConfigError(describe("city.name", name, f"embedded cities are {sorted(EMBEDDED)}"))
    data = resources.files("protocol.roads").joinpath("data", EMBEDDED[name]).read_bytes()
    return RoadGraph.decode(data)


def load_city(spec: CitySpec) -> City:
    """The city a spec describes, with a router whose cache holds ``spec.cache_size`` routes."""
    if spec.kind == "grid":
        params = spec.grid_params()
        graph = grid_graph(params)
        centre = params.centre
    elif spec.path is None:
        graph = embedded_graph(spec.name or "")
        centre = graph.centre
    else:
        graph = read_graph(Path(spec.path), spec.name)
        centre = graph.centre
    return City(
        name=spec.name or graph.name,
        graph=graph,
        router=Router(graph, cache_size=spec.cache_size),
        centre=centre,
        attribution=graph.attribution,
    )


def read_graph(path: Path, name: str | None = None) -> RoadGraph:
    """A graph from a ``.roads`` file or an ``.osm.pbf`` extract."""
    if path.suffix == ".roads":
        try:
            return RoadGraph.decode(path.read_bytes())
        except OSError as exc:
            raise ConfigError(describe("city.path", str(path), f"cannot read: {exc}")) from None
    from sim.city.osm import import_osm  # osmium only where an extract is read

    graph, _ = import_osm(path, name or _stem(path))
    return graph


def _stem(path: Path) -> str:
    return path.name.split(".")[0].lower()
