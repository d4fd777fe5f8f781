"""Value types that messages are made of: points, windows, cost terms, ids.

Everything here is an integer on the wire (SPEC §3): coordinates in
microdegrees, times in Unix milliseconds. Conversions to floats happen only
in geometry code, never in what is signed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import NewType

import numpy as np
import numpy.typing as npt

#: 32-byte Ed25519 public key: the member's identity on the wire.
PublicKey = NewType("PublicKey", bytes)

#: 32-byte BLAKE2b digest of a signed envelope's signing input (SPEC §2.4).
MessageId = NewType("MessageId", bytes)

#: H3 cell index as an unsigned 64-bit integer.
H3Cell = NewType("H3Cell", int)

MICRO = 1_000_000


@dataclass(frozen=True, slots=True)
class GeoPoint:
    """A WGS84 point in integer microdegrees (about 0.11 m of latitude)."""

    lat_e6: int
    lon_e6: int

    @classmethod
    def from_degrees(cls, lat: float, lon: float) -> GeoPoint:
        """Round degrees to the nearest microdegree."""
        return cls(round(lat * MICRO), round(lon * MICRO))

    @property
    def lat(self) -> float:
        return self.lat_e6 / MICRO

    @property
    def lon(self) -> float:
        return self.lon_e6 / MICRO


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """A closed interval of Unix milliseconds, ``start_ms <= t <= end_ms``."""

    start_ms: int
    end_ms: int

    @property
    def length_ms(self) -> int:
        return self.end_ms - self.start_ms

    def overlaps(self, other: TimeWindow) -> bool:
        return self.start_ms <= other.end_ms and other.start_ms <= self.end_ms


@dataclass(frozen=True, slots=True)
class CostShare:
    """What a driver asks riders to chip in: a base plus a rate per km.

    Amounts are in minor units (cents) of an ISO 4217 currency; lazooz moves
    no money itself, it only shows riders the terms before they accept.
    """

    currency: str
    base_minor: int
    per_km_minor: int

    def for_distance(self, distance_m: float) -> int:
        """The share for a rider carried ``distance_m`` metres, in minor units."""
        return self.base_minor + round(self.per_km_minor * distance_m / 1000)


#: Bytes per vertex in a packed polyline: two little-endian int32.
VERTEX_BYTES = 8
_VERTEX_DTYPE = np.dtype("<i4")


@dataclass(frozen=True, slots=True)
class Polyline:
    """Route vertices packed as little-endian int32 ``(lat_e6, lon_e6)`` pairs.

    The packed form is what is signed and what travels (SPEC §3.2): it is
    fixed-width, so any byte string of a multiple of 8 bytes is canonical, and
    it loads into numpy without a per-vertex Python object.
    """

    packed: bytes

    @classmethod
    def from_points(cls, points: Iterable[GeoPoint]) -> Polyline:
        flat = [c for p in points for c in (p.lat_e6, p.lon_e6)]
        return cls(np.asarray(flat, dtype=np.int64).astype(_VERTEX_DTYPE).tobytes())

    @classmethod
    def from_degrees(cls, coords: Iterable[tuple[float, float]]) -> Polyline:
        """From ``(lat, lon)`` pairs in degrees, rounded to microdegrees."""
        return cls.from_points(GeoPoint.from_degrees(lat, lon) for lat, lon in coords)

    def __len__(self) -> int:
        return len(self.packed) // VERTEX_BYTES

    def __iter__(self) -> Iterator[GeoPoint]:
        return iter(self.points())

    def points(self) -> tuple[GeoPoint, ...]:
        return tuple(GeoPoint(int(lat), int(lon)) for lat, lon in self.coords_e6())

    def coords_e6(self) -> npt.NDArray[np.int32]:
        """An ``(n, 2)`` read-only view of ``(lat_e6, lon_e6)`` rows."""
        return np.frombuffer(self.packed, dtype=_VERTEX_DTYPE).reshape(-1, 2)

    def lonlat_degrees(self) -> npt.NDArray[np.float64]:
        """An ``(n, 2)`` array of ``(lon, lat)`` in degrees, the x/y order of GIS."""
        return self.coords_e6()[:, ::-1].astype(np.float64) / MICRO
