"""The control API as a starlette application: ``make_app(node, token)``.

Every endpoint is one row of ``ENDPOINTS``; the routes and the OpenAPI
description (``openapi.describe``) are both made from it, so neither can
list an endpoint the other lacks. Every request needs ``Authorization:
Bearer <token>`` (compared in constant time), else 401. A request the API
cannot honour is answered ``{"error": reason, "detail": message}``: 400 for
bad input (the detail names the field and the value), 404 for an id the node
does not hold, 409 for a ride whose state does not allow the command, 413
for a body over ``MAX_BODY_BYTES``, 503 while the node stops. Nothing a user
sends is a 500.

The app runs only under trio (the node's event loop): the event stream
waits on trio channels.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Sequence

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from lazooz.app.pages import Pages
from lazooz.control import handlers as h
from lazooz.control import mapping, openapi, schedules, sharing
from lazooz.control.endpoint import Call, Endpoint, error, ok
from lazooz.control.events import get_events
from lazooz.control.handle import NodeHandle
from lazooz.control.inputs import BadInput, Fields
from lazooz.control.mapping import MapContext
from lazooz.routing.errors import RouterUnavailable
from protocol.errors import (
    ConfigError,
    IllegalTransition,
    LazoozError,
    LocalError,
    StoreError,
    describe,
)
from protocol.peer.errors import AlreadyRatedRide, RideNotDone, UnknownId

log = logging.getLogger(__name__)

#: Largest request body taken; a GPX track of 1 024 points is about 100 KB.
MAX_BODY_BYTES = 1024 * 1024
#: Shortest token ``make_app`` accepts (the daemon's are 43 characters).
MIN_TOKEN_CHARS = 16


async def get_openapi(c: Call) -> Response:
    return ok(openapi.describe(ENDPOINTS))


# -- the table

_RIDE = "/v1/rides/{ride_id}"
_RIDE_ERRORS = (400, 404, 409)

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "GET",
        "/v1/status",
        h.get_status,
        "This node: identity, addresses, counts",
        response="Status",
    ),
    Endpoint("GET", "/v1/peers", h.get_peers, "Members connected now", response="Members"),
    Endpoint(
        "POST",
        "/v1/offers",
        h.post_offer,
        "Offer seats along a route (driver)",
        body="NewOffer",
        response="Offer",
        status=201,
    ),
    Endpoint("GET", "/v1/offers", h.get_offers, "Your offers", response="Offers", errors=()),
    Endpoint(
        "POST",
        "/v1/offers/{offer_id}/withdraw",
        h.withdraw_offer,
        "Stop publishing an offer",
        response="Offer",
        errors=(400, 404),
    ),
    Endpoint(
        "POST",
        "/v1/requests",
        h.post_request,
        "Ask for a seat (rider)",
        body="NewRequest",
        response="Request",
        status=201,
    ),
    Endpoint(
        "GET", "/v1/requests", h.get_requests, "Your requests", response="Requests", errors=()
    ),
    Endpoint(
        "POST",
        "/v1/requests/{request_id}/withdraw",
        h.withdraw_request,
        "Stop publishing a request",
        response="Request",
        errors=(400, 404),
    ),
    Endpoint(
        "GET",
        "/v1/candidates/{own_id}",
        h.get_candidates,
        "Ranked matches of your offer or request",
        response="Matches",
        errors=(400, 404),
    ),
    Endpoint(
        "GET",
        "/v1/rides",
        h.get_rides,
        "Your rides, as rider and driver",
        response="Rides",
        errors=(),
    ),
    Endpoint(
        "POST",
        "/v1/rides",
        h.post_ride,
        "Propose a ride on a candidate offer (rider)",
        body="NewRide",
        response="Ride",
        status=201,
        errors=(400, 404),
    ),
    Endpoint("GET", _RIDE, h.get_ride, "One ride", response="Ride", errors=(400, 404)),
    Endpoint(
        "POST",
        f"{_RIDE}/accept",
        h.accept_ride,
        "Accept a proposal (driver)",
        response="Ride",
        errors=_RIDE_ERRORS,
    ),
    Endpoint(
        "POST",
        f"{_RIDE}/decline",
        h.decline_ride,
        "Decline a proposal or revealed points (driver)",
        body="Decline",
        response="Ride",
        errors=_RIDE_ERRORS,
    ),
    Endpoint(
        "POST",
        f"{_RIDE}/confirm",
        h.confirm_ride,
        "Confirm after the exact check passed (driver)",
        body="Confirm",
        response="Ride",
        errors=_RIDE_ERRORS,
    ),
    Endpoint(
        "POST",
        f"{_RIDE}/cancel",
        h.cancel_ride,
        "Cancel, signed, with a reason (either)",
        body="Cancel",
        response="Ride",
        errors=_RIDE_ERRORS,
    ),
    Endpoint(
        "POST",
        f"{_RIDE}/pickup",
        h.pickup_ride,
        "The rider is aboard and said the PIN (driver)",
        body="Pickup",
        response="Ride",
        errors=_RIDE_ERRORS,
    ),
    Endpoint(
        "POST",
        f"{_RIDE}/finish",
        h.finish_ride,
        "Drop-off (driver)",
        body="Finish",
        response="Ride",
        errors=_RIDE_ERRORS,
    ),
    Endpoint(
        "POST",
        f"{_RIDE}/sign",
        h.sign_ride,
        "Sign the receipt half you owe",
        response="Ride",
        errors=_RIDE_ERRORS,
    ),
    Endpoint(
        "POST",
        f"{_RIDE}/rating",
        h.rate_ride,
        "Rate the other party of a done ride, 1..5 stars, once (either)",
        body="Rating",
        response="Ride",
        errors=_RIDE_ERRORS,
    ),
    Endpoint(
        "POST",
        f"{_RIDE}/share",
        sharing.share_ride,
        "A read-only live link to this ride, for a contact",
        response="Share",
        status=201,
        errors=(400, 404),
    ),
    Endpoint(
        "POST",
        f"{_RIDE}/unshare",
        sharing.unshare_ride,
        "End every share link of this ride",
        response="Unshared",
        errors=(400, 404),
    ),
    Endpoint(
        "POST",
        "/v1/schedules",
        schedules.post_schedule,
        "Offer the same ride on set weekdays, published by itself (driver)",
        body="NewSchedule",
        response="Schedule",
        status=201,
    ),
    Endpoint(
        "GET",
        "/v1/schedules",
        schedules.get_schedules,
        "Your scheduled offers",
        response="Schedules",
        errors=(),
    ),
    Endpoint(
        "POST",
        "/v1/schedules/{schedule_id}/delete",
        schedules.delete_schedule,
        "Stop a scheduled offer (offers already published stay)",
        response="Schedule",
        errors=(404,),
    ),
    Endpoint(
        "GET",
        "/v1/receipts",
        h.get_receipts,
        "Receipt halves in your log, with their credit",
        response="Receipts",
        errors=(),
    ),
    Endpoint(
        "GET",
        "/v1/balance",
        h.get_balance,
        "A balance and every credit line behind it",
        response="Balance",
        query=("member",),
    ),
    Endpoint(
        "GET",
        "/v1/app",
        mapping.get_app,
        "What the web UI needs: home, tile server, router",
        response="AppInfo",
        errors=(),
    ),
    Endpoint(
        "GET",
        "/v1/network",
        mapping.get_network,
        "The embedded road network around home, as GeoJSON",
        response="Network",
        errors=(),
    ),
    Endpoint(
        "POST",
        "/v1/route",
        mapping.post_route,
        "A drivable route through waypoints, its length, time and cost",
        body="RouteQuery",
        response="RoutePlan",
        errors=(400, 502),
    ),
    Endpoint(
        "GET",
        "/v1/places",
        mapping.get_places,
        "Places whose name matches q, or q itself as lat, lon",
        response="Places",
        query=("q",),
    ),
    Endpoint(
        "GET",
        "/v1/events",
        get_events,
        "Notifications as server-sent events",
        response="text/event-stream",
        errors=(),
    ),
    Endpoint(
        "GET", "/v1/openapi.json", get_openapi, "This description", response="OpenApi", errors=()
    ),
)


# -- the application


def make_app(
    node: NodeHandle,
    token: str,
    map_context: MapContext | None = None,
    scheduled: schedules.Schedules | None = None,
) -> ASGIApp:
    """The control API over ``node``, for requests bearing ``token``, and the web UI's pages.

    The pages (``/app``, ``lazooz.app``) are static files holding no data, so
    a browser loads them without the token; the page then calls the API with
    the token it was given in the URL's fragment, which no request carries.
    """
    if len(token) < MIN_TOKEN_CHARS:
        raise ValueError(f"token: must be at least {MIN_TOKEN_CHARS} characters")
    routes = [
        Route(e.path, _endpoint(node, e), methods=[e.method], name=f"{e.method} {e.path}")
        for e in ENDPOINTS
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={404: _not_found, 405: _not_allowed},
    )
    context = map_context or MapContext()
    app.state.map = context
    app.state.shares = shares = sharing.Shares()
    # Kept in memory unless the caller gives a file-backed one (the daemon's service does).
    app.state.schedules = scheduled if scheduled is not None else schedules.Schedules()
    pages = Pages(tile_origin=context.tile_origin())
    share_pages = sharing.SharePages(node, shares, pages.files["share.html"], pages.policy)
    return TokenGuard(app, token, public=(pages, share_pages))


def _endpoint(node: NodeHandle, e: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            body = await _body(request)
            return await e.handler(Call(node, request, body))
        except _TooLarge as exc:
            return error(413, "too_large", str(exc))
        except LocalError as exc:
            status = _status(exc)
            if status >= 500:
                log.error("control %s %s: %s", e.method, e.path, exc)
            return error(status, exc.reason, str(exc))
        except LazoozError as exc:
            # Remote errors do not come out of the Peer's commands; if one does, it is a bug.
            log.error("control %s %s: %s", e.method, e.path, exc)
            return error(500, exc.reason, str(exc))
        except Exception:
            # A bug in the node or here, never the request's fault: said so, in JSON, and logged.
            log.exception("control %s %s failed", e.method, e.path)
            return error(500, "internal", "the node failed on this request; see its log")

    return endpoint


def _status(exc: LocalError) -> int:
    if isinstance(exc, UnknownId):
        return 404
    if isinstance(exc, IllegalTransition | RideNotDone | AlreadyRatedRide):
        return 409
    if isinstance(exc, RouterUnavailable):
        return 502  # the routing service's trouble, not the request's
    if exc.reason == "node_stopped":  # lazooz.node.NodeStopped, named so as not to import it
        return 503
    if isinstance(exc, StoreError | ConfigError):
        return 500  # the node's trouble, not the request's
    return 400


class _TooLarge(Exception):
    pass


async def _body(request: Request) -> Fields:
    """The request's JSON object (``{}`` when it has no body)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _TooLarge(f"body={declared} bytes: must be at most {MAX_BODY_BYTES}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _TooLarge(f"body=<over {MAX_BODY_BYTES} bytes>: must be at most {MAX_BODY_BYTES}")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return Fields({})
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadInput(describe("body", f"<{len(raw)} bytes>", f"is not JSON: {exc}")) from None
    return Fields(data)


async def _not_found(request: Request, exc: Exception) -> Response:
    return error(
        404,
        "not_found",
        describe("path", request.url.path, "no such endpoint; see /v1/openapi.json"),
    )


async def _not_allowed(request: Request, exc: Exception) -> Response:
    return error(
        405,
        "method_not_allowed",
        describe("method", request.method, f"not allowed on {request.url.path}"),
    )


class TokenGuard:
    """Refuse every HTTP request without ``Authorization: Bearer <token>`` (401).

    ``public`` answers the paths each of them ``serves`` without the token:
    the web UI's static files, the same for everyone, and share-trip links,
    which carry their own token in the path.
    """

    def __init__(
        self, app: ASGIApp, token: str, public: Sequence[Pages | sharing.SharePages] = ()
    ) -> None:
        self.app = app
        self.public = public
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for public in self.public:
                if public.serves(scope):
                    await public(scope, receive, send)
                    return
        if scope["type"] == "http":
            given = b""
            for name, value in scope["headers"]:
                if name == b"authorization":
                    given = value
            if not hmac.compare_digest(given, self._expected):
                reason = "missing" if not given else "wrong"
                detail = (
                    f"Authorization: {reason} bearer token; send `Authorization: Bearer <token>` "
                    "with the token in the node's data directory (control.token)"
                )
                response = error(401, "unauthorized", detail)
                response.headers["WWW-Authenticate"] = 'Bearer realm="lazooz"'
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
