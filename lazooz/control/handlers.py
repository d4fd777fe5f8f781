"""The control API's handlers: read the request, run one Peer call in the node, show the answer.

Every check that needs the Peer's clock (a window in the past) runs inside
the call, so it sees the same ``now_ms`` as the Peer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from starlette.responses import Response

from lazooz.control import inputs, views
from lazooz.control.endpoint import Call, Handler, Json, ok
from lazooz.control.inputs import Fields, fail
from protocol import geo
from protocol.errors import describe
from protocol.ledger.rating import MAX_STARS, MIN_STARS
from protocol.peer.actions import Action
from protocol.peer.errors import UnknownId
from protocol.peer.peer import Peer
from protocol.peer.ride import RideView
from protocol.ride.states import RideState
from protocol.validation import DEFAULT_POLICY

_DAY_MS = 86_400_000


# -- offers and requests


async def post_offer(c: Call) -> Response:
    return ok(await c.node.call(offer_command(c.body)), 201)


def offer_command(b: Fields) -> Callable[[Peer, int], tuple[Json, list[Action]]]:
    """The Peer call that offers what the ``NewOffer`` body ``b`` says (read and checked now;
    the clock-bound checks run in the call). Scheduled offers go through it too."""
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

    return offer


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
        return [
            views.match(m, peer.reputation(m.rider if m.driver == peer.public_key else m.driver))
            for m in peer.candidates(own_id)
        ], []

    return ok(await c.node.call(candidates))


# -- rides


async def get_rides(c: Call) -> Response:
    return ok(await c.node.call(lambda p, _: ([_rated(p, r) for r in p.rides()], [])))


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
            return _rated(peer, r)
    raise UnknownId(describe("ride_id", ride_id.hex(), "not one of your rides"))


def _rated(peer: Peer, r: RideView) -> Json:
    return views.rated_ride(r, peer.rating_given(r.ride_id), peer.reputation(r.counterparty))


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


def _rate(b: Fields) -> RideCommand:
    stars = b.integer("stars", None, MIN_STARS, MAX_STARS)
    return lambda p, ride_id, now: p.rate(ride_id, stars, now)


accept_ride = _ride_command(_accept)
decline_ride = _ride_command(_decline)
confirm_ride = _ride_command(_confirm)
cancel_ride = _ride_command(_cancel)
pickup_ride = _ride_command(_pickup)
finish_ride = _ride_command(_finish)
sign_ride = _ride_command(_sign)
rate_ride = _ride_command(_rate)


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
            "reputation": views.stars(peer.reputation(key)),
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


def _by_status(statuses: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in statuses:
        out[s] = out.get(s, 0) + 1
    return out
