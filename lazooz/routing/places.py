"""Finding a place by name without the internet: ``lat, lon`` text, or a small built-in list.

The node asks no geocoding service (nothing leaves the machine), so an
address is either coordinates, or one of the named places below: landmarks
of the areas lazooz ships networks and demos for (Tel Aviv, the demo's
area; central Helsinki, the embedded OSM extract), plus ``home``. Their
coordinates are approximate (to about 50 m), enough for a pickup that the
rider then drags into place on the map.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

from lazooz.routing.errors import UnknownPlace
from protocol.errors import describe
from protocol.fields import GeoPoint


@dataclass(frozen=True, slots=True)
class Place:
    """A named point."""

    name: str
    point: GeoPoint
    area: str


def _p(name: str, lat: float, lon: float, area: str) -> Place:
    return Place(name, GeoPoint.from_degrees(lat, lon), area)


#: Landmarks, approximate to about 50 m.
PLACES: tuple[Place, ...] = (
    _p("Dizengoff Square", 32.0778, 34.7741, "Tel Aviv"),
    _p("Rabin Square", 32.0809, 34.7807, "Tel Aviv"),
    _p("Habima Square", 32.0726, 34.7795, "Tel Aviv"),
    _p("Azrieli Center", 32.0744, 34.7920, "Tel Aviv"),
    _p("Tel Aviv Savidor Central station", 32.0838, 34.7981, "Tel Aviv"),
    _p("HaShalom station", 32.0733, 34.7935, "Tel Aviv"),
    _p("Carmel Market", 32.0683, 34.7687, "Tel Aviv"),
    _p("Jaffa Clock Tower", 32.0550, 34.7564, "Tel Aviv"),
    _p("Tel Aviv Port", 32.0970, 34.7735, "Tel Aviv"),
    _p("Tel Aviv University", 32.1133, 34.8044, "Tel Aviv"),
    _p("Ibn Gabirol / Arlozorov", 32.0870, 34.7817, "Tel Aviv"),
    _p("Helsinki Central station", 60.1710, 24.9414, "Helsinki"),
    _p("Senate Square", 60.1694, 24.9525, "Helsinki"),
    _p("Market Square", 60.1674, 24.9526, "Helsinki"),
    _p("Kamppi", 60.1688, 24.9320, "Helsinki"),
    _p("Esplanadi", 60.1677, 24.9480, "Helsinki"),
    _p("Ateneum", 60.1703, 24.9443, "Helsinki"),
)

_LAT_LON = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*[,; ]\s*(-?\d+(?:\.\d+)?)\s*$")
_MAX_QUERY = 200


def _fold(text: str) -> str:
    """Lower case, accents and punctuation dropped: "Kämppi" finds "Kamppi"."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain.lower()).split())


def parse_lat_lon(text: str) -> GeoPoint | None:
    """``"32.08, 34.78"`` as a point, or None when the text is not two numbers."""
    m = _LAT_LON.match(text)
    if m is None:
        return None
    lat, lon = float(m.group(1)), float(m.group(2))
    if not (math.isfinite(lat) and -90 <= lat <= 90 and math.isfinite(lon) and -180 <= lon <= 180):
        return None
    return GeoPoint.from_degrees(lat, lon)


def search(query: str, home: GeoPoint, places: tuple[Place, ...] = PLACES) -> list[Place]:
    """Places whose name holds every word of ``query``; coordinates as one place.

    ``home`` (or "my home") is the node's home. Nothing found is an empty list.
    """
    if len(query) > _MAX_QUERY:
        raise UnknownPlace(describe("q", query[:40] + "…", f"must be at most {_MAX_QUERY} chars"))
    point = parse_lat_lon(query)
    if point is not None:
        return [Place(f"{point.lat:.6f}, {point.lon:.6f}", point, "coordinates")]
    words = _fold(query).split()
    if not words:
        return []
    everything = (Place("Home", home, "your node's [node.home]"), *places)
    return [p for p in everything if all(w in _fold(f"{p.name} {p.area}") for w in words)]


def resolve(field: str, query: str, home: GeoPoint) -> GeoPoint:
    """The one point ``query`` names, else ``UnknownPlace`` naming ``field``."""
    found = search(query, home)
    if len(found) == 1:
        return found[0].point
    if not found:
        raise UnknownPlace(
            describe(field, query, "unknown address: give lat, lon or a known place")
        )
    names = ", ".join(p.name for p in found[:5])
    raise UnknownPlace(describe(field, query, f"names {len(found)} places ({names}): say which"))
