"""Test doubles for the network layer, in the spirit of ``trio.testing``.

``Recorder`` is a ``Handlers`` implementation that keeps everything a host
reports and lets a test wait, without sleeping, until a condition on it holds.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import TypeVar

import trio

from lazooz.net.host import Handlers
from protocol.fields import PublicKey
from protocol.peer.actions import Channel

T = TypeVar("T")


class Recorder:
    """Records what a host delivers; ``wait_until`` blocks until a predicate holds."""

    def __init__(self, validate: Callable[[str, bytes], bool] | None = None) -> None:
        self._validate = validate
        #: ``(topic, data, verdict)`` for every validator call, own messages included.
        self.validated: list[tuple[str, bytes, bool]] = []
        self.gossip: list[tuple[str, bytes]] = []
        self.frames: list[tuple[PublicKey, Channel, bytes]] = []
        self.connected: list[PublicKey] = []
        self.disconnected: list[PublicKey] = []
        #: ``NetHost.counters``, as the ``count`` handler saw them go up.
        self.counts: collections.Counter[tuple[str, str]] = collections.Counter()
        self._changed = trio.Event()

    def handlers(self) -> Handlers:
        return Handlers(
            validate=self._on_validate,
            gossip=lambda topic, data: self._record(self.gossip, (topic, data)),
            frame=lambda key, channel, data: self._record(self.frames, (key, channel, data)),
            connected=lambda key: self._record(self.connected, key),
            disconnected=lambda key: self._record(self.disconnected, key),
            count=self._on_count,
        )

    async def wait_until(self, predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
        """Return once ``predicate()`` is true; ``trio.TooSlowError`` after ``timeout_s``."""
        with trio.fail_after(timeout_s):
            while not predicate():
                changed = self._changed
                await changed.wait()

    def _on_validate(self, topic: str, data: bytes) -> bool:
        verdict = True if self._validate is None else self._validate(topic, data)
        self._record(self.validated, (topic, data, verdict))
        return verdict

    def _on_count(self, area: str, what: str) -> None:
        self.counts[area, what] += 1
        self._changed.set()
        self._changed = trio.Event()

    def _record(self, into: list[T], item: T) -> None:
        into.append(item)
        self._changed.set()
        self._changed = trio.Event()
