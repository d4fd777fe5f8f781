"""Routing through an OSRM server's HTTP API (``[router] backend = "osrm"``).

One ``GET {url}/route/v1/driving/{lon},{lat};...?overview=full&geometries=geojson``
per route, with a timeout; no proxy (the server is the operator's own, usually
on this machine or this network). OSRM's refusals become ``NoRoute``; a server
that does not answer in time, or answers something that is not OSRM's JSON,
becomes ``RouterUnavailable``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import Any

from lazooz.routing.errors import NoRoute, RouterUnavailable
from lazooz.routing.plan import RoutePlan, check_waypoints
from protocol.errors import describe
from protocol.fields import GeoPoint

#: Seconds to wait for OSRM's answer: a person is waiting for the line on the map.
DEFAULT_TIMEOUT_S = 5.0
#: OSRM codes that mean "these points cannot be routed", not "the server is broken".
_NO_ROUTE_CODES = {"NoRoute", "NoSegment", "NoMatch", "NoTrips", "InvalidValue"}
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class OsrmBackend:
    """Routes from the OSRM server at ``url`` (e.g. ``http://127.0.0.1:5000``)."""

    name = "osrm"

    def __init__(
        self, url: str, timeout_s: float = DEFAULT_TIMEOUT_S, profile: str = "driving"
    ) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(describe("router.osrm_url", url, "must be an http(s):// URL"))
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self.profile = profile

    def request_url(self, waypoints: Sequence[GeoPoint]) -> str:
        coords = ";".join(f"{p.lon:.6f},{p.lat:.6f}" for p in waypoints)
        return (
            f"{self.url}/route/v1/{self.profile}/{coords}"
            "?overview=full&geometries=geojson&steps=false"
        )

    def route(self, waypoints: Sequence[GeoPoint]) -> RoutePlan:
        check_waypoints(waypoints)
        url = self.request_url(waypoints)
        try:
            with _OPENER.open(url, timeout=self.timeout_s) as response:
                raw = response.read(8 * 1024 * 1024)
        except urllib.error.HTTPError as exc:
            # OSRM answers 400 with a JSON code when the points cannot be routed.
            raw = exc.read(64 * 1024)
            body = _json(raw)
            code = body.get("code") if isinstance(body, dict) else None
            if exc.code == 400 and code in _NO_ROUTE_CODES:
                raise NoRoute(_no_route(code, body)) from None
            raise RouterUnavailable(
                describe("router.osrm_url", self.url, f"answered HTTP {exc.code} ({code or '?'})")
            ) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            why = getattr(exc, "reason", exc)
            raise RouterUnavailable(
                describe(
                    "router.osrm_url",
                    self.url,
                    f"did not answer within {self.timeout_s:g} s ({why}); is OSRM running?",
                )
            ) from None
        return self._plan(_json(raw))

    def _plan(self, body: Any) -> RoutePlan:
        if not isinstance(body, dict):
            raise RouterUnavailable(describe("router.osrm_url", self.url, "answered non-JSON"))
        code = body.get("code")
        if code in _NO_ROUTE_CODES:
            raise NoRoute(_no_route(code, body))
        try:
            best = body["routes"][0]
            coords = best["geometry"]["coordinates"]
            points = tuple(GeoPoint.from_degrees(float(lat), float(lon)) for lon, lat in coords)
            length_m, duration_s = float(best["distance"]), float(best["duration"])
        except (KeyError, IndexError, TypeError, ValueError):
            raise RouterUnavailable(
                describe("router.osrm_url", self.url, f"answered {code!r} without a usable route")
            ) from None
        if code != "Ok" or len(points) < 2:
            raise RouterUnavailable(
                describe("router.osrm_url", self.url, f"answered {code!r} without a usable route")
            )
        return RoutePlan(points, length_m, duration_s, backend=self.name)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None


def _no_route(code: object, body: dict[str, Any]) -> str:
    message = body.get("message") or "no road joins these points"
    return describe("waypoints", code, f"OSRM: {message}")
