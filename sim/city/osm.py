"""OpenStreetMap extracts (``.osm.pbf``) to road graphs, read with pyosmium.

Which ways a car may drive follows OSMnx's ``drive`` network (as pyrosm's
``driving`` filter does): any ``highway`` except footways, paths, tracks,
service roads, construction and the like, and not where ``motorcar``,
``motor_vehicle``, ``vehicle`` or ``access`` (the most specific one present)
says ``no`` or ``private``. ``oneway`` is honoured (``yes``/``1``/``true``,
``-1``/``reverse``), and implied on motorways and roundabouts. Speeds come
from ``maxspeed`` where it is a number (km/h, or ``mph``), else from the road
class (``DEFAULT_SPEEDS_KMH``). Every node of a drivable way is a graph node
(no simplification, so routes follow the roads' shapes); only the largest
strongly connected part is kept, so every node can reach every other.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import osmium
import rustworkx as rx

from protocol.errors import ConfigError, describe
from protocol.roads import MAX_SPEED_KMH, RoadGraph
from protocol.roads.graph import geodesic_cm

#: Attribution every graph made from OpenStreetMap data must carry (ODbL 1.0 §4.3).
OSM_ATTRIBUTION = "© OpenStreetMap contributors, ODbL 1.0"

#: Highway values that are not roads for cars (OSMnx ``drive``, pyrosm ``driving``).
EXCLUDED_HIGHWAYS = frozenset(
    {
        "abandoned", "bridleway", "bus_guideway", "busway", "construction", "corridor",
        "cycleway", "elevator", "escalator", "footway", "ladder", "no", "path", "pedestrian",
        "planned", "platform", "proposed", "raceway", "razed", "rest_area", "service",
        "services", "steps", "track", "trail",
    }
)  # fmt: skip
EXCLUDED_SERVICES = frozenset(
    {"alley", "driveway", "emergency_access", "parking", "parking_aisle", "private"}
)
#: Access tags for cars, most specific first; the first one present decides.
ACCESS_KEYS = ("motorcar", "motor_vehicle", "vehicle", "access")
CLOSED_ACCESS = frozenset({"no", "private"})

#: Speed by road class where a way has no usable ``maxspeed`` (urban defaults, km/h).
DEFAULT_SPEEDS_KMH: Mapping[str, int] = {
    "motorway": 100,
    "motorway_link": 60,
    "trunk": 80,
    "trunk_link": 50,
    "primary": 50,
    "primary_link": 40,
    "secondary": 50,
    "secondary_link": 40,
    "tertiary": 40,
    "tertiary_link": 30,
    "unclassified": 30,
    "residential": 30,
    "living_street": 10,
    "road": 30,
}
#: Any other highway class a car may use.
FALLBACK_SPEED_KMH = 30
#: ``maxspeed`` zone words (``FI:urban``, ``DE:rural``...) and their usual limits.
ZONE_SPEEDS_KMH: Mapping[str, int] = {
    "urban": 50,
    "rural": 80,
    "motorway": 120,
    "trunk": 100,
    "living_street": 20,
    "walk": 7,
}
_NUMBER = re.compile(r"(\d+(?:\.\d+)?)\s*(mph|knots)?")
_MPH_KMH = 1.609344


@dataclass(frozen=True, slots=True)
class ImportStats:
    """What an import found: ways kept, nodes before and after the connectivity cut."""

    ways: int
    drivable_nodes: int
    nodes: int
    edges: int


def drivable(tags: Mapping[str, str]) -> bool:
    """Whether a way with these tags is a road a car may use."""
    highway = tags.get("highway")
    if highway is None or tags.get("area") == "yes":
        return False
    if _any_in(highway, EXCLUDED_HIGHWAYS) or _any_in(tags.get("service", ""), EXCLUDED_SERVICES):
        return False
    for key in ACCESS_KEYS:
        if (value := tags.get(key)) is not None:
            return not _any_in(value, CLOSED_ACCESS)
    return True


def _any_in(value: str, words: frozenset[str]) -> bool:
    # OSM multi-values are semicolon-separated ("private;delivery").
    return any(part.strip() in words for part in value.split(";"))


def speed_kmh(tags: Mapping[str, str]) -> int:
    """A way's speed: its ``maxspeed`` when readable, else its class default."""
    default = DEFAULT_SPEEDS_KMH.get(tags.get("highway", ""), FALLBACK_SPEED_KMH)
    raw = tags.get("maxspeed", "").strip().lower()
    # Several values ("40;50") or a zone ("FI:urban"): take the lowest reading.
    readings = [r for part in raw.split(";") if (r := _read_speed(part.strip())) is not None]
    speed = min(readings) if readings else default
    return max(1, min(MAX_SPEED_KMH, speed))


def _read_speed(text: str) -> int | None:
    if not text or text in {"none", "signals", "variable"}:
        return None
    if m := _NUMBER.search(text):
        value = float(m.group(1))
        factor = {"mph": _MPH_KMH, "knots": 1.852}.get(m.group(2) or "", 1.0)
        return round(value * factor) if value > 0 else None
    zone = text.rsplit(":", maxsplit=1)[-1]
    return ZONE_SPEEDS_KMH.get(zone)


def direction(tags: Mapping[str, str]) -> int:
    """+1 one way along the way's nodes, -1 against them, 0 both ways."""
    oneway = tags.get("oneway", "").strip().lower()
    if oneway in {"yes", "true", "1"}:
        return 1
    if oneway in {"-1", "reverse"}:
        return -1
    if oneway in {"no", "false", "0"}:
        return 0
    implied = tags.get("highway") == "motorway" or tags.get("junction") in {
        "roundabout",
        "circular",
    }
    return 1 if implied else 0


def import_osm(
    path: Path, name: str, *, largest_component: bool = True
) -> tuple[RoadGraph, ImportStats]:
    """The drivable road graph of an ``.osm.pbf`` extract.

    Nodes are numbered in OSM id order, which makes a conversion of the same
    file the same bytes every time.
    """
    if not path.is_file():
        raise ConfigError(describe("osm path", str(path), "no such file"))
    ids: dict[int, tuple[int, int]] = {}
    pairs: list[tuple[int, int, int]] = []  # (from OSM id, to OSM id, speed)
    ways = 0
    processor = (
        osmium.FileProcessor(str(path))
        .with_locations()
        .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
        .with_filter(osmium.filter.KeyFilter("highway"))
    )
    for way in processor:
        assert isinstance(way, osmium.osm.Way)  # the entity filter passes ways only
        tags = {t.k: t.v for t in way.tags}
        if not drivable(tags):
            continue
        ways += 1
        speed, sense = speed_kmh(tags), direction(tags)
        # A way leaving the extract references nodes it does not hold: cut it there.
        refs = [(n.ref, n.location) for n in way.nodes]
        for (a, la), (b, lb) in itertools.pairwise(refs):
            if not (la.valid() and lb.valid()) or a == b:
                continue
            for ref, loc in ((a, la), (b, lb)):
                # 1e-7 degrees to microdegrees, rounding half up in integers.
                ids[ref] = ((loc.y + 5) // 10, (loc.x + 5) // 10)
            if sense >= 0:
                pairs.append((a, b, speed))
            if sense <= 0:
                pairs.append((b, a, speed))
    if not pairs:
        raise ConfigError(describe("osm path", str(path), "holds no drivable roads"))
    order = sorted(ids)
    index = {ref: i for i, ref in enumerate(order)}
    coords = np.array([ids[ref] for ref in order], dtype=np.int64)
    edges = np.array([(index[a], index[b], s) for a, b, s in pairs], dtype=np.int64)
    drivable_nodes = len(order)
    if largest_component:
        coords, edges = _largest_component(coords, edges)
    src, dst = edges[:, 0], edges[:, 1]
    length = np.maximum(np.ceil(geodesic_cm(coords, src, dst)).astype(np.int64), 1)
    graph = RoadGraph.from_arrays(coords, src, dst, length, edges[:, 2], name, OSM_ATTRIBUTION)
    return graph, ImportStats(ways, drivable_nodes, len(graph), graph.edge_count)


def _largest_component(coords: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep the largest strongly connected part, renumbered in the same order."""
    g = rx.PyDiGraph()
    g.add_nodes_from(range(len(coords)))
    g.add_edges_from_no_data([(int(a), int(b)) for a, b, _ in edges])
    # Largest first; of equal sizes, the one holding the lowest node (lowest OSM id).
    best = min(rx.strongly_connected_components(g), key=lambda c: (-len(c), min(c)))
    keep = np.zeros(len(coords), dtype=bool)
    keep[list(best)] = True
    renumber = np.cumsum(keep) - 1
    inside = keep[edges[:, 0]] & keep[edges[:, 1]]
    kept = edges[inside]
    return coords[keep], np.column_stack((renumber[kept[:, 0]], renumber[kept[:, 1]], kept[:, 2]))
