"""The control API's map endpoints, for the web UI and the CLI: the node's map settings,
the embedded road network, routes and place names (``/v1/app``, ``/v1/network``,
``/v1/route``, ``/v1/places``).

What they need beyond the node (home, the router, the tile server) is a
``MapContext``, kept on the starlette app's state by ``make_app``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from starlette.responses import Response

from lazooz.control import inputs, views
from lazooz.control.endpoint import Call, Json, ok
from lazooz.control.inputs import fail
from lazooz.routing import places
from lazooz.routing.service import NodeRouter
from protocol.fields import GeoPoint

#: The default home (config ``node.home``): central Tel Aviv, the demo's area.
DEFAULT_HOME = GeoPoint.from_degrees(32.0853, 34.7818)
#: Waypoints ``POST /v1/route`` takes: a route is clicked by hand.
MAX_WAYPOINTS = 25


@dataclass(frozen=True, slots=True)
class MapContext:
    """What the map endpoints and the web UI need: home, the router, an optional tile server."""

    home: GeoPoint = DEFAULT_HOME
    #: A ``{z}/{x}/{y}`` tile URL (``[app] tile_url``); None draws the network on a plain page.
    tile_url: str | None = None
    tile_attribution: str = ""
    router: NodeRouter = field(default_factory=lambda: NodeRouter(DEFAULT_HOME))

    def tile_origin(self) -> str | None:
        """``scheme://host[:port]`` of the tile server, for the page's content policy."""
        if not self.tile_url:
            return None
        parts = urlsplit(self.tile_url.replace("{s}", "a"))
        return f"{parts.scheme}://{parts.netloc}" if parts.netloc else None


def context(c: Call) -> MapContext:
    found: MapContext = c.request.app.state.map
    return found


async def get_app(c: Call) -> Response:
    m = context(c)
    return ok(
        {
            **views.member(c.node.status().public_key),
            "home": views.point(m.home),
            "tile_url": m.tile_url,
            "tile_attribution": m.tile_attribution,
            "router": await m.router.describe(),
        }
    )


async def get_network(c: Call) -> Response:
    network = await context(c).router.network()
    if network is None:
        return ok({"type": "FeatureCollection", "features": []})
    return ok(network.geojson())


async def post_route(c: Call) -> Response:
    b = c.body
    given = b.required("waypoints")
    if not isinstance(given, list) or not 2 <= len(given) <= MAX_WAYPOINTS:
        size = len(given) if isinstance(given, list) else given
        raise fail("waypoints", size, f"must be a list of 2..{MAX_WAYPOINTS} [lat, lon] points")
    waypoints = [inputs.point(f"waypoints[{i}]", p) for i, p in enumerate(given)]
    cost = inputs.cost(b, "cost") if b.get("cost") is not None else None
    b.done()
    plan = await context(c).router.route(waypoints)
    answer: Json = {
        "route": [views.point(p) for p in plan.points],
        "length_m": round(plan.length_m, 1),
        "duration_s": round(plan.duration_s, 1),
        "backend": plan.backend,
        "network": plan.network,
        "cost_minor": None if cost is None else plan.cost_minor(cost),
    }
    return ok(answer)


async def get_places(c: Call) -> Response:
    query = c.query("q")
    if query is None:
        raise fail("q", None, "is required: a place name or lat, lon")
    found = places.search(query, context(c).home)
    return ok([{"name": p.name, "area": p.area, "point": views.point(p.point)} for p in found])
