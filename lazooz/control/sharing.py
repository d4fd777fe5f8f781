"""Share-trip links: a read-only live view of one ride, for a contact, by its own token.

``POST /v1/rides/{ride_id}/share`` makes a link ``/share/<token>``: 24 random
bytes (URL-safe base64), unguessable, and unrelated to the control token. Who
has it sees, without the control token, the ride's state, the sharer's role,
the other party's member id, the planned pickup time and how the ride ended,
refreshed every few seconds; never the PIN, the points or anything else of
the node. ``POST /v1/rides/{ride_id}/unshare`` ends every link of the ride.
Links live in the control server's memory: they end when the node stops.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from lazooz.control import inputs, views
from lazooz.control.endpoint import Call, Json, ok
from lazooz.control.handle import NodeHandle
from protocol.errors import describe
from protocol.peer.actions import Action
from protocol.peer.errors import UnknownId
from protocol.peer.peer import Peer

SHARE_PREFIX = "/share/"
#: Links one node keeps at once; the oldest goes first.
MAX_SHARES = 256


@dataclass
class Shares:
    """Share tokens and the ride each shows."""

    rides: dict[str, bytes] = field(default_factory=dict)

    def add(self, ride_id: bytes) -> str:
        token = secrets.token_urlsafe(24)
        self.rides[token] = ride_id
        while len(self.rides) > MAX_SHARES:
            del self.rides[next(iter(self.rides))]
        return token

    def revoke(self, ride_id: bytes) -> int:
        gone = [t for t, r in self.rides.items() if r == ride_id]
        for t in gone:
            del self.rides[t]
        return len(gone)


def _shares(c: Call) -> Shares:
    found: Shares = c.request.app.state.shares
    return found


def _own_ride(peer: Peer, ride_id: bytes) -> Json:
    for r in peer.rides():
        if r.ride_id == ride_id:
            return views.ride(r)
    raise UnknownId(describe("ride_id", ride_id.hex(), "not one of your rides"))


async def share_ride(c: Call) -> Response:
    ride_id = inputs.hex_id("ride_id", c.param("ride_id"))
    c.body.done()
    await c.node.call(lambda p, _: (_own_ride(p, ride_id), []))
    token = _shares(c).add(ride_id)
    return ok({"ride_id": ride_id.hex(), "token": token, "path": f"{SHARE_PREFIX}{token}"}, 201)


async def unshare_ride(c: Call) -> Response:
    ride_id = inputs.hex_id("ride_id", c.param("ride_id"))
    c.body.done()
    await c.node.call(lambda p, _: (_own_ride(p, ride_id), []))
    return ok({"ride_id": ride_id.hex(), "revoked": _shares(c).revoke(ride_id)})


def public_view(ride: Json, now_ms: int) -> Json:
    """What a share link shows of ``ride``: no PIN, no ids beyond the ride's own."""
    return {
        "ride": ride["ride_id"][:8],
        "state": ride["state"],
        "sharer_role": ride["role"],
        "other_party": ride["counterparty"]["member_id"],
        "seats": ride["seats"],
        "pickup_ms": ride["pickup_ms"],
        "endings": ride["endings"],
        "as_of_ms": now_ms,
    }


class SharePages:
    """The public side of share links: ``/share/<token>`` (the page) and
    ``/share/<token>/ride`` (its JSON). An unknown token is a 404, like any path."""

    def __init__(self, node: NodeHandle, shares: Shares, page: bytes, policy: bytes) -> None:
        self.node = node
        self.shares = shares
        self.page = page
        self.policy = policy

    @staticmethod
    def serves(scope: Scope) -> bool:
        return str(scope["path"]).startswith(SHARE_PREFIX)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rest = str(scope["path"]).removeprefix(SHARE_PREFIX)
        token, _, what = rest.partition("/")
        ride_id = self.shares.rides.get(token)
        if scope["method"] != "GET" or ride_id is None or what not in ("", "ride"):
            await self._answer(send, 404, b'{"error":"not_found","detail":"no such link"}')
            return
        if what == "":
            await self._answer(send, 200, self.page, "text/html; charset=utf-8")
            return

        def look(peer: Peer, now_ms: int) -> tuple[Json | None, list[Action]]:
            for r in peer.rides():
                if r.ride_id == ride_id:
                    return public_view(views.ride(r), now_ms), []
            return None, []

        shown = await self.node.call(look)
        if shown is None:
            await self._answer(send, 404, b'{"error":"not_found","detail":"no such link"}')
            return
        await self._answer(send, 200, json.dumps(shown).encode())

    async def _answer(
        self, send: Send, status: int, body: bytes, kind: str = "application/json"
    ) -> None:
        headers = [
            (b"content-type", kind.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"content-security-policy", self.policy),
            (b"referrer-policy", b"no-referrer"),
            (b"cache-control", b"no-store"),
            (b"x-content-type-options", b"nosniff"),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
