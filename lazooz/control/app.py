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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import trio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from lazooz.control import inputs, views
from lazooz.control.handle import NodeHandle
from lazooz.control.inputs import BadInput, Fields, fail
from protocol import geo
from protocol.errors import (
    ConfigError,
    IllegalTransition,
    LazoozError,
    LocalError,
    StoreError,
    describe,
)
from protocol.peer.actions import Action
from protocol.peer.errors import UnknownId
from protocol.peer.notices import Notification
from protocol.peer.peer import Peer
from protocol.ride.states import RideState
from protocol.validation import DEFAULT_POLICY

log = logging.getLogger(__name__)

#: Largest request body taken; a GPX track of 1 024 points is about 100 KB.
MAX_BODY_BYTES = 1024 * 1024
#: Shortest token ``make_app`` accepts (the daemon's are 43 characters).
MIN_TOKEN_CHARS = 16
#: A comment line on an idle event stream this often, so proxies and clients see it alive.
KEEPALIVE_S = 15.0

Json = dict[str, Any]
_DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Call:
    """What a handler gets: the node, the request, its path parameters and its body."""

    node: NodeHandle
    request: Request
    body: Fields

    def param(self, name: str) -> str:
        return str(self.request.path_params[name])

    def query(self, name: str) -> str | None:
        return self.request.query_params.get(name)


Handler = Callable[[Call], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One route of the API and its OpenAPI description (schemas in ``openapi``)."""

    method: str
    path: str
    handler: Handler
    summary: str
    #: Component schema of the request body, or None for no body.
    body: str | None = None
    #: Component schema of the success response (``text/event-stream`` for ``events``).
    response: str = "Ok"
    status: int = 200
    #: Statuses this endpoint answers with an ``Error`` besides 401, 413, 503.
    errors: tuple[int, ...] = (400,)
    query: tuple[str, ...] = ()
    tags: tuple[str, ...] = field(default=())


def ok(value: object, status: int = 200) -> JSONResponse:
    return JSONResponse(value, status_code=status)


def error(status: int, reason: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": reason, "detail": detail}, status_code=status)


# -- offers and requests


async def post_offer(c: Call) -> Response:
    b = c.body
    route = inputs.route("route", b.required("route"))
    departure = inputs.window(b, "departure")
    length_m = geo.route_length_m(route)
    default_s = max(1, round(length_m / (inputs.DEFAULT_SPEED_KMH / 3.6)))
    duration_s = b.integer("duration_s", default_s, 1, DEFAULT_POLICY.max_window_ms // 1000)
    seats = b.integer("seats", None, 1, DEFAULT_POLICY.max_seats)
    max_detour_m = b.integer("max_detour_m", 1_000, 0, DEFAULT_POLICY.max_detour_m)
    max_detour_s = b.integer("max_detour_s", 600, 0, DEFAULT_POLICY.max_detour_s)
    cost = inputs.cost(b, "cost")
    expires_ms = b.optional_integer("expires_ms", 0)
    b.done()

    def offer(peer: Peer, now_ms: int) -> tuple[Json, list[Action]]:
        inputs.not_past("departure.end_ms", departure.end_ms, now_ms)
        expires = departure.end_ms + duration_s * 1000 if expires_ms is None else expires_ms
        _check_expiry(expires, now_ms, given=expires_ms is not None)
        offer_id, actions = peer.offer(
            route=route,
            departure=departure,
            duration_s=duration_s,
            seats=seats,
            max_detour_m=max_detour_m,
            max_detour_s=max_detour_s,
            cost=cost,
            expires_ms=expires,
            now_ms=now_ms,
        )
        own = next(o for o in peer.own_offers() if o.offer_id == offer_id)
        return views.offer(own), actions

    return ok(await c.node.call(offer), 201)


async def post_request(c: Call) -> Response:
    b = c.body
    pickup = inputs.point("pickup", b.required("pickup"))
    dropoff = inputs.point("dropoff", b.required("dropoff"))
    window = inputs.window(b, "window")
    seats = b.integer("seats", 1, 1, DEFAULT_POLICY.max_seats)
    max_walk_m = b.integer("max_walk_m", 500, 0, DEFAULT_POLICY.max_walk_m)
    expires_ms = b.optional_integer("expires_ms", 0)
    b.done()

    def request(peer: Peer, now_ms: int) -> tuple[Json, list[Action]]:
        inputs.not_past("window.end_ms", window.end_ms, now_ms)
        expires = window.end_ms if expires_ms is None else expires_ms
        _check_expiry(expires, now_ms, given=expires_ms is not None)
        request_id, actions = peer.request(
            pickup=pickup,
            dropoff=dropoff,
            window=window,
            seats=seats,
            max_walk_m=max_walk_m,
            expires_ms=expires,
            now_ms=now_ms,
        )
        own = next(r for r in peer.own_requests() if r.request_id == request_id)
        return views.request(own), actions

    return ok(await c.node.call(request), 201)


def _check_expiry(expires_ms: int, now_ms: int, *, given: bool) -> None:
    name = "expires_ms" if given else "expires_ms (from the window's end)"
    if expires_ms <= now_ms:
        raise fail(name, expires_ms, f"is in the past (now is {now_ms})")
    limit = DEFAULT_POLICY.max_lifetime_ms
    if expires_ms - now_ms > limit:
        raise fail(name, expires_ms, f"is more than {limit // _DAY_MS} days away: give it sooner")


async def get_offers(c: Call) -> Response:
    return ok(await c.node.call(lambda p, _: ([views.offer(o) for o in p.own_offers()], [])))


async def get_requests(c: Call) -> Response:
    return ok(await c.node.call(lambda p, _: ([views.request(r) for r in p.own_requests()], [])))


async def withdraw_offer(c: Call) -> Response:
    return await _withdraw(c, "offer")


async def withdraw_request(c: Call) -> Response:
    return await _withdraw(c, "request")


async def _withdraw(c: Call, kind: str) -> Response:
    own_id = inputs.hex_id(f"{kind}_id", c.param(f"{kind}_id"))
    c.body.done()

    def withdraw(peer: Peer, now_ms: int) -> tuple[Json, list[Action]]:
        if kind == "offer":
            if not any(o.offer_id == own_id for o in peer.own_offers()):
                raise _unknown(kind, own_id)
            actions = peer.withdraw(own_id, now_ms)
            return views.offer(next(o for o in peer.own_offers() if o.offer_id == own_id)), actions
        if not any(r.request_id == own_id for r in peer.own_requests()):
            raise _unknown(kind, own_id)
        actions = peer.withdraw(own_id, now_ms)
        own = next(r for r in peer.own_requests() if r.request_id == own_id)
        return views.request(own), actions

    return ok(await c.node.call(withdraw))


def _unknown(kind: str, own_id: bytes) -> UnknownId:
    return UnknownId(describe(f"{kind}_id", own_id.hex(), f"not one of your {kind}s"))


async def get_candidates(c: Call) -> Response:
    own_id = inputs.hex_id("own_id", c.param("own_id"))

    def candidates(peer: Peer, _: int) -> tuple[list[Json], list[Action]]:
        mine = {o.offer_id for o in peer.own_offers()} | {r.request_id for r in peer.own_requests()}
        if own_id not in mine:
            raise UnknownId(describe("own_id", own_id.hex(), "not one of your offers or requests"))
        return [views.match(m) for m in peer.candidates(own_id)], []

    return ok(await c.node.call(candidates))


# -- rides


async def get_rides(c: Call) -> Response:
    return ok(await c.node.call(lambda p, _: ([views.ride(r) for r in p.rides()], [])))


async def get_ride(c: Call) -> Response:
    ride_id = inputs.hex_id("ride_id", c.param("ride_id"))
    return ok(await c.node.call(lambda p, _: (_ride_view(p, ride_id), [])))


async def post_ride(c: Call) -> Response:
    b = c.body
    request_id = inputs.hex_id("request_id", b.string("request_id"))
    offer_id = inputs.hex_id("offer_id", b.string("offer_id"))
    driver_hex = b.get("driver")
    driver = None
    if driver_hex is not None:
        if not isinstance(driver_hex, str):
            raise fail("driver", driver_hex, "must be the driver's public key, 64 hex digits")
        driver = inputs.public_key("driver", driver_hex)
    b.done()

    def propose(peer: Peer, now_ms: int) -> tuple[Json, list[Action]]:
        ride_id, actions = peer.propose(request_id, offer_id, now_ms, driver=driver)
        return _ride_view(peer, ride_id), actions

    return ok(await c.node.call(propose), 201)


def _ride_view(peer: Peer, ride_id: bytes) -> Json:
    for r in peer.rides():
        if r.ride_id == ride_id:
            return views.ride(r)
    raise UnknownId(describe("ride_id", ride_id.hex(), "not one of your rides"))


RideCommand = Callable[[Peer, bytes, int], list[Action]]


def _ride_command(read: Callable[[Fields], RideCommand]) -> Handler:
    """A handler for ``POST /v1/rides/{ride_id}/<command>``: ``read`` takes the body."""

    async def handler(c: Call) -> Response:
        ride_id = inputs.hex_id("ride_id", c.param("ride_id"))
        command = read(c.body)
        c.body.done()

        def run(peer: Peer, now_ms: int) -> tuple[Json, list[Action]]:
            _ride_view(peer, ride_id)  # an unknown ride is a 404, whatever the command
            actions = command(peer, ride_id, now_ms)
            return _ride_view(peer, ride_id), actions

        return ok(await c.node.call(run))

    return handler


def _accept(_: Fields) -> RideCommand:
    return lambda p, ride_id, now: p.accept(ride_id, now)


def _decline(b: Fields) -> RideCommand:
    reason = inputs.decline_reason(b)
    return lambda p, ride_id, now: p.decline(ride_id, reason, now)


def _cancel(b: Fields) -> RideCommand:
    reason = inputs.cancel_reason(b)
    return lambda p, ride_id, now: p.cancel(ride_id, reason, now)


def _confirm(b: Fields) -> RideCommand:
    pickup_ms = b.optional_integer("pickup_ms", 0)
    return lambda p, ride_id, now: p.confirm(ride_id, now, pickup_ms)


def _pickup(b: Fields) -> RideCommand:
    pin = b.string("pin")
    return lambda p, ride_id, now: p.pickup(ride_id, pin, now)


def _finish(b: Fields) -> RideCommand:
    distance_m = b.optional_integer("distance_m", 0)
    return lambda p, ride_id, now: p.finish(ride_id, now, distance_m)


def _sign(_: Fields) -> RideCommand:
    return lambda p, ride_id, now: p.sign_receipt(ride_id, now)


# -- ledger, peers, status


async def get_receipts(c: Call) -> Response:
    def receipts(peer: Peer, _: int) -> tuple[list[Json], list[Action]]:
        me = peer.public_key
        return views.receipts(peer.ledger, me, peer.explain(me)), []

    return ok(await c.node.call(receipts))


async def get_balance(c: Call) -> Response:
    given = c.query("member")
    who = None if given is None else inputs.public_key("member", given)

    def balance(peer: Peer, _: int) -> tuple[Json, list[Action]]:
        key = who or peer.public_key
        lines = peer.explain(key)
        return {
            **views.member(key),
            "balance_milli": peer.balances().get(key, 0),
            "lines": [views.credit_line(line) for line in lines],
        }, []

    return ok(await c.node.call(balance))


async def get_peers(c: Call) -> Response:
    return ok([views.member(key) for key in c.node.status().connected])


async def get_status(c: Call) -> Response:
    s = c.node.status()

    def counts(peer: Peer, _: int) -> tuple[Json, list[Action]]:
        rides: dict[str, int] = {state.value: 0 for state in RideState}
        for r in peer.rides():
            rides[r.state.value] += 1
        book = peer.book()
        return {
            "balance_milli": peer.balances().get(peer.public_key, 0),
            "offers": _by_status(o.status for o in peer.own_offers()),
            "requests": _by_status(r.status for r in peer.own_requests()),
            "rides": {k: v for k, v in rides.items() if v},
            "book": {"offers": len(book.offers), "requests": len(book.requests)},
            "rejected": {
                f"{ch}/{reason}": n for (ch, reason), n in sorted(peer.rejected().items())
            },
        }, []

    return ok(
        {
            **views.member(s.public_key),
            "peer_id": s.peer_id,
            "listen_addrs": list(s.listen_addrs),
            "connected": len(s.connected),
            "started_ms": s.started_ms,
            "uptime_s": s.uptime_s,
            "store_path": s.store_path,
            **(await c.node.call(counts)),
        }
    )


def _by_status(statuses: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in statuses:
        out[s] = out.get(s, 0) + 1
    return out


# -- events


async def get_events(c: Call) -> Response:
    return EventStream(c.node)


class EventStream(Response):
    """``text/event-stream`` of the node's notifications until the client goes away.

    Each event is ``event: <type>`` and ``data: <JSON>`` (``views.notification``);
    the stream opens with a ``: subscribed`` comment, sent once the subscription
    is live, and a ``: keepalive`` comment follows every ``KEEPALIVE_S`` of quiet.
    """

    media_type = "text/event-stream"

    def __init__(self, node: NodeHandle) -> None:
        super().__init__(headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
        self.node = node

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._until_disconnect, receive, nursery.cancel_scope)
            await self._stream(send)
            nursery.cancel_scope.cancel()

    @staticmethod
    async def _until_disconnect(receive: Receive, scope: trio.CancelScope) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        scope.cancel()

    async def _stream(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        async with self.node.subscribe() as events:
            await _chunk(send, b": subscribed\n\n")
            seq = 0
            while True:
                with trio.move_on_after(KEEPALIVE_S):
                    try:
                        event = await events.receive()
                    except trio.EndOfChannel:
                        break
                    seq += 1
                    await _chunk(send, sse(seq, event))
                    continue
                await _chunk(send, b": keepalive\n\n")
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def sse(seq: int, event: Notification) -> bytes:
    data = json.dumps(views.notification(event), separators=(",", ":"))
    return f"id: {seq}\nevent: {type(event).__name__}\ndata: {data}\n\n".encode()


async def _chunk(send: Send, data: bytes) -> None:
    await send({"type": "http.response.body", "body": data, "more_body": True})


async def get_openapi(c: Call) -> Response:
    from lazooz.control import openapi

    return ok(openapi.describe(ENDPOINTS))


# -- the table

_RIDE = "/v1/rides/{ride_id}"
_RIDE_ERRORS = (400, 404, 409)

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "GET", "/v1/status", get_status, "This node: identity, addresses, counts", response="Status"
    ),
    Endpoint("GET", "/v1/peers", get_peers, "Members connected now", response="Members"),
    Endpoint(
        "POST",
        "/v1/offers",
        post_offer,
        "Offer seats along a route (driver)",
        body="NewOffer",
        response="Offer",
        status=201,
    ),
    Endpoint("GET", "/v1/offers", get_offers, "Your offers", response="Offers", errors=()),
    Endpoint(
        "POST",
        "/v1/offers/{offer_id}/withdraw",
        withdraw_offer,
        "Stop publishing an offer",
        response="Offer",
        errors=(400, 404),
    ),
    Endpoint(
        "POST",
        "/v1/requests",
        post_request,
        "Ask for a seat (rider)",
        body="NewRequest",
        response="Request",
        status=201,
    ),
    Endpoint("GET", "/v1/requests", get_requests, "Your requests", response="Requests", errors=()),
    Endpoint(
        "POST",
        "/v1/requests/{request_id}/withdraw",
        withdraw_request,
        "Stop publishing a request",
        response="Request",
        errors=(400, 404),
    ),
    Endpoint(
        "GET",
        "/v1/candidates/{own_id}",
        get_candidates,
        "Ranked matches of your offer or request",
        response="Matches",
        errors=(400, 404),
    ),
    Endpoint(
        "GET",
        "/v1/rides",
        get_rides,
        "Your rides, as rider and driver",
        response="Rides",
        errors=(),
    ),
    Endpoint(
        "POST",
        "/v1/rides",
        post_ride,
        "Propose a ride on a candidate offer (rider)",
        body="NewRide",
        response="Ride",
        status=201,
        errors=(400, 404),
    ),
    Endpoint("GET", _RIDE, get_ride, "One ride", response="Ride", errors=(400, 404)),
    Endpoint(
        "POST",
        f"{_RIDE}/accept",
        _ride_command(_accept),
        "Accept a proposal (driver)",
        response="Ride",
        errors=_RIDE_ERRORS,
    ),
    Endpoint(
        "POST",
        f"{_RIDE}/decline",
        _ride_command(_decline),
        "Decline a proposal or revealed points (driver)",
        body="Decline",
        response="Ride",
        errors=_RIDE_ERRORS,
    ),
    Endpoint(
        "POST",
        f"{_RIDE}/confirm",
        _ride_command(_confirm),
        "Confirm after the exact check passed (driver)",
        body="Confirm",
        response="Ride",
        errors=_RIDE_ERRORS,
    ),
    Endpoint(
        "POST",
        f"{_RIDE}/cancel",
        _ride_command(_cancel),
        "Cancel, signed, with a reason (either)",
        body="Cancel",
        response="Ride",
        errors=_RIDE_ERRORS,
    ),
    Endpoint(
        "POST",
        f"{_RIDE}/pickup",
        _ride_command(_pickup),
        "The rider is aboard and said the PIN (driver)",
        body="Pickup",
        response="Ride",
        errors=_RIDE_ERRORS,
    ),
    Endpoint(
        "POST",
        f"{_RIDE}/finish",
        _ride_command(_finish),
        "Drop-off (driver)",
        body="Finish",
        response="Ride",
        errors=_RIDE_ERRORS,
    ),
    Endpoint(
        "POST",
        f"{_RIDE}/sign",
        _ride_command(_sign),
        "Sign the receipt half you owe",
        response="Ride",
        errors=_RIDE_ERRORS,
    ),
    Endpoint(
        "GET",
        "/v1/receipts",
        get_receipts,
        "Receipt halves in your log, with their credit",
        response="Receipts",
        errors=(),
    ),
    Endpoint(
        "GET",
        "/v1/balance",
        get_balance,
        "A balance and every credit line behind it",
        response="Balance",
        query=("member",),
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


def make_app(node: NodeHandle, token: str) -> ASGIApp:
    """The control API over ``node``, for requests bearing ``token``."""
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
    return TokenGuard(app, token)


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

    return endpoint


def _status(exc: LocalError) -> int:
    if isinstance(exc, UnknownId):
        return 404
    if isinstance(exc, IllegalTransition):
        return 409
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
    """Refuse every HTTP request without ``Authorization: Bearer <token>`` (401)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
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
