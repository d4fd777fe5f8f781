"""Reading the control API's JSON bodies: every value checked once, every refusal naming it.

A bad value raises ``BadInput`` with the body's own field path
(``departure.end_ms``, ``route[3]``, ``pickup``) in the ``describe`` shape
``field=value: rule``, so a user sees which of the fields they sent was
wrong, not the name it has inside a signed message. Ranges the Peer itself
checks (SPEC §5.7) are left to it, except where the API can say it better.

Routes come in three forms (``route``): an array of ``[lat, lon]`` pairs in
degrees; a GeoJSON ``LineString`` (``[lon, lat]`` order, as GeoJSON has it),
bare or as the one line of a ``Feature`` or ``FeatureCollection``; or the text
of a GPX file (its track points, else its route points).
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar, cast

from protocol.errors import LocalError, describe
from protocol.fields import CostShare, GeoPoint, Polyline, PublicKey, TimeWindow
from protocol.identity import PUBLIC_KEY_BYTES
from protocol.ride.messages import CancelReason, DeclineReason
from protocol.validation import DEFAULT_POLICY
from protocol.wire import ID_BYTES

#: Route vertices the API takes: what every receiver accepts (SPEC §5.7).
MIN_ROUTE_VERTICES = DEFAULT_POLICY.min_route_vertices
MAX_ROUTE_VERTICES = DEFAULT_POLICY.max_route_vertices
#: Speed assumed for ``duration_s`` when an offer leaves it out (city driving).
DEFAULT_SPEED_KMH = 30.0
#: Largest whole number a body may hold (Unix ms and such fit; JSON's exact range is 2**53).
MAX_INT = 2**53 - 1


class BadInput(LocalError):
    """A request body, path or query value the API cannot use; names the field."""

    reason = "bad_input"


def fail(field: str, value: object, rule: str) -> BadInput:
    return BadInput(describe(field, value, rule))


class Fields:
    """One JSON object being read: typed getters that name the field path, then ``done``."""

    def __init__(self, data: object, path: str = "") -> None:
        if not isinstance(data, dict):
            raise fail(path or "body", _short(data), "must be a JSON object")
        self.data: dict[str, object] = data
        self.path = path
        self.read: set[str] = set()

    def name(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str) -> object:
        self.read.add(key)
        return self.data.get(key)

    def required(self, key: str) -> object:
        value = self.get(key)
        if value is None:
            raise fail(self.name(key), None, "is required")
        return value

    def integer(self, key: str, default: int | None, lo: int, hi: int = MAX_INT) -> int:
        value = self.get(key)
        if value is None:
            if default is None:
                raise fail(self.name(key), None, f"is required: a whole number, {lo}..{hi}")
            return default
        return whole(self.name(key), value, lo, hi)

    def optional_integer(self, key: str, lo: int, hi: int = MAX_INT) -> int | None:
        value = self.get(key)
        return None if value is None else whole(self.name(key), value, lo, hi)

    def string(self, key: str, default: str | None = None) -> str:
        value = self.get(key)
        if value is None and default is not None:
            return default
        if not isinstance(value, str) or not value:
            raise fail(self.name(key), value, "must be a non-empty string")
        return value

    def table(self, key: str) -> Fields | None:
        value = self.get(key)
        return None if value is None else Fields(value, self.name(key))

    def done(self) -> None:
        """Refuse any field nobody read: a typo must not fall back to a default silently."""
        for key in self.data:
            if key not in self.read:
                known = ", ".join(sorted(self.read))
                raise fail(self.name(key), self.data[key], f"unknown field; known here: {known}")


def whole(field: str, value: object, lo: int, hi: int = MAX_INT) -> int:
    if type(value) is not int:
        raise fail(field, _short(value), f"must be a whole number, {lo}..{hi}")
    if not lo <= value <= hi:
        raise fail(field, value, f"must be {lo}..{hi}")
    return value


def window(fields: Fields, key: str) -> TimeWindow:
    """``{"start_ms": …, "end_ms": …}`` in Unix milliseconds, running forward."""
    t = Fields(fields.required(key), fields.name(key))
    start = t.integer("start_ms", None, 0)
    end = t.integer("end_ms", None, 0)
    t.done()
    if end < start:
        raise fail(t.name("end_ms"), end, f"must not be before start_ms ({start})")
    return TimeWindow(start, end)


def not_past(field: str, end_ms: int, now_ms: int) -> None:
    """Refuse a window that ended before ``now_ms`` (checked in the Peer's task)."""
    if end_ms < now_ms:
        raise fail(field, end_ms, f"is in the past (now is {now_ms}): give a time to come")


def point(field: str, value: object) -> GeoPoint:
    """``[lat, lon]`` in degrees."""
    if not isinstance(value, list) or len(value) != 2:
        raise fail(field, _short(value), "must be [lat, lon] in degrees")
    return _lat_lon(field, value[0], value[1])


def _lat_lon(field: str, lat: object, lon: object) -> GeoPoint:
    for name, v, limit in (("lat", lat, 90.0), ("lon", lon, 180.0)):
        if type(v) not in (int, float) or not math.isfinite(cast(float, v)):
            raise fail(field, [lat, lon], f"{name} must be a number of degrees")
        if abs(cast(float, v)) > limit:
            raise fail(field, [lat, lon], f"{name} must be -{limit:g}..{limit:g} degrees")
    return GeoPoint.from_degrees(cast(float, lat), cast(float, lon))


def route(field: str, value: object) -> Polyline:
    """A route in any of the three forms (module docstring)."""
    if isinstance(value, list):
        points = [point(f"{field}[{i}]", v) for i, v in enumerate(value)]
    elif isinstance(value, dict):
        points = _geojson(field, value)
    elif isinstance(value, str):
        points = gpx(field, value)
    else:
        rule = "must be [[lat, lon], ...], a GeoJSON LineString, or GPX text"
        raise fail(field, _short(value), rule)
    n = len(points)
    if n < MIN_ROUTE_VERTICES:
        raise fail(field, f"<{n} point{'s' * (n != 1)}>", f"needs at least {MIN_ROUTE_VERTICES}")
    if n > MAX_ROUTE_VERTICES:
        raise fail(
            field,
            f"<{n} points>",
            f"has more than {MAX_ROUTE_VERTICES}: simplify the track (one point every "
            "few hundred metres is plenty)",
        )
    return Polyline.from_points(points)


def _geojson(field: str, value: Mapping[str, Any]) -> list[GeoPoint]:
    kind = value.get("type")
    if kind == "FeatureCollection":
        features = value.get("features")
        if not isinstance(features, list):
            raise fail(f"{field}.features", _short(features), "must be an array")
        lines = [
            (i, f)
            for i, f in enumerate(features)
            if isinstance(f, dict)
            and isinstance(f.get("geometry"), dict)
            and f["geometry"].get("type") == "LineString"
        ]
        if len(lines) != 1:
            raise fail(
                f"{field}.features",
                f"<{len(lines)} LineStrings>",
                "must hold exactly one LineString feature",
            )
        i, feature = lines[0]
        return _geojson(f"{field}.features[{i}]", feature)
    if kind == "Feature":
        geometry = value.get("geometry")
        if not isinstance(geometry, dict):
            raise fail(f"{field}.geometry", _short(geometry), "must be a GeoJSON geometry")
        return _geojson(f"{field}.geometry", geometry)
    if kind != "LineString":
        raise fail(f"{field}.type", kind, "must be LineString, Feature or FeatureCollection")
    coords = value.get("coordinates")
    if not isinstance(coords, list):
        raise fail(f"{field}.coordinates", _short(coords), "must be an array of [lon, lat]")
    out = []
    for i, c in enumerate(coords):
        name = f"{field}.coordinates[{i}]"
        if not isinstance(c, list) or len(c) not in (2, 3):
            raise fail(name, _short(c), "must be [lon, lat] or [lon, lat, elevation] (GeoJSON)")
        out.append(_lat_lon(name, c[1], c[0]))
    return out


_DTD = re.compile(r"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


def gpx(field: str, text: str) -> list[GeoPoint]:
    """The track points of a GPX document, in order (else its route points)."""
    if _DTD.search(text):
        # No GPX needs a DTD, and refusing one rules out entity expansion.
        raise fail(field, "<GPX text>", "must not contain a DOCTYPE or ENTITY declaration")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise fail(field, "<GPX text>", f"is not well-formed XML: {exc}") from None
    if _local(root.tag) != "gpx":
        raise fail(field, f"<{_local(root.tag)}>", "must be a GPX document (root element gpx)")
    for kind in ("trkpt", "rtept"):
        found = [e for e in root.iter() if _local(e.tag) == kind]
        if found:
            return [_gpx_point(f"{field}: {kind}[{i}]", e) for i, e in enumerate(found)]
    raise fail(field, "<GPX text>", "has no track points (trkpt) or route points (rtept)")


def _gpx_point(field: str, element: ET.Element) -> GeoPoint:
    lat, lon = element.get("lat"), element.get("lon")
    try:
        return _lat_lon(field, float(lat or "nan"), float(lon or "nan"))
    except ValueError:
        raise fail(field, [lat, lon], "lat and lon must be numbers of degrees") from None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def cost(fields: Fields, key: str) -> CostShare:
    """``{"currency", "base_minor", "per_km_minor"}``; none means no money asked (``XXX``)."""
    t = fields.table(key)
    if t is None:
        return CostShare("XXX", 0, 0)
    currency = t.string("currency")
    if not (len(currency) == 3 and currency.isascii() and currency.isalpha()):
        raise fail(t.name("currency"), currency, "must be an ISO 4217 code such as EUR or ILS")
    out = CostShare(
        currency.upper(),
        t.integer("base_minor", 0, 0, DEFAULT_POLICY.max_cost_minor),
        t.integer("per_km_minor", 0, 0, DEFAULT_POLICY.max_cost_minor),
    )
    t.done()
    return out


def hex_id(field: str, text: str, size: int = ID_BYTES) -> bytes:
    """An offer, request or ride id: ``2 * size`` hex digits."""
    try:
        value = bytes.fromhex(text)
    except ValueError:
        value = b""
    if len(value) != size:
        raise fail(field, text, f"must be {2 * size} hex digits")
    return value


def public_key(field: str, text: str) -> PublicKey:
    return PublicKey(hex_id(field, text, PUBLIC_KEY_BYTES))


def decline_reason(fields: Fields) -> DeclineReason:
    return _enum(fields, "reason", DeclineReason, DeclineReason.OTHER)


def cancel_reason(fields: Fields) -> CancelReason:
    return _enum(fields, "reason", CancelReason, CancelReason.CHANGED_MIND)


def reason_names(members: Iterable[DeclineReason | CancelReason]) -> list[str]:
    return [m.name.lower() for m in members]


_Reason = TypeVar("_Reason", DeclineReason, CancelReason)


def _enum(fields: Fields, key: str, kind: type[_Reason], default: _Reason) -> _Reason:
    value = fields.get(key)
    if value is None:
        return default
    names = reason_names(kind)
    if not isinstance(value, str) or value.lower() not in names:
        raise fail(fields.name(key), value, f"must be one of {', '.join(names)}")
    return kind[value.upper()]


def _short(value: object) -> object:
    """A value to show in an error: containers by their size, not their content."""
    if isinstance(value, dict):
        return f"<object of {len(value)} fields>"
    if isinstance(value, list):
        return f"<array of {len(value)}>"
    return value
