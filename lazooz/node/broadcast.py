"""Notifications fanned out in-process: every subscriber gets each one, or loses it if slow.

The Node publishes each ``Notify`` here (and logs it); the control API's
event stream will subscribe. A subscriber that falls ``buffer`` behind loses
the newest notifications rather than slowing the Peer (``dropped`` counts
them): a user interface can always re-read the state.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import trio

from protocol.peer.notices import Notification


class Broadcast:
    """A fan-out of notifications to any number of subscribers."""

    def __init__(self) -> None:
        self._subscribers: set[trio.MemorySendChannel[Notification]] = set()
        #: Notifications a slow subscriber did not get.
        self.dropped = 0

    @contextmanager
    def subscribe(self, buffer: int = 256) -> Iterator[trio.MemoryReceiveChannel[Notification]]:
        """Receive every notification from now until the block ends."""
        send, receive = trio.open_memory_channel[Notification](buffer)
        self._subscribers.add(send)
        try:
            yield receive
        finally:
            self._subscribers.discard(send)
            send.close()

    def publish(self, item: Notification) -> None:
        for send in list(self._subscribers):
            try:
                send.send_nowait(item)
            except trio.WouldBlock:
                self.dropped += 1
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self._subscribers.discard(send)

    def close(self) -> None:
        """End every subscription: their receivers see ``EndOfChannel``."""
        for send in self._subscribers:
            send.close()
        self._subscribers.clear()
