"""``GET /v1/events``: the node's notifications as server-sent events."""

from __future__ import annotations

import json

import trio
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from lazooz.control import views
from lazooz.control.endpoint import Call
from lazooz.control.handle import NodeHandle
from protocol.peer.notices import Notification

#: A comment line on an idle event stream this often, so proxies and clients see it alive.
KEEPALIVE_S = 15.0


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
        # Not Response.__init__: that declares a Content-Length, and a stream has none.
        self.node = node
        self.status_code = 200
        self.background = None
        self.raw_headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-store"),
            (b"x-accel-buffering", b"no"),
        ]

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
