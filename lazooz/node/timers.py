"""The Peer's timers: one table of ``key -> at_ms`` and one task that fires them.

``SetTimer`` replaces the timer of its key and ``CancelTimer`` forgets it
(docs/peer.md §11.3). A heap orders the deadlines; entries made stale by a
later ``set`` or ``cancel`` stay in it and are skipped when they come up. The
task sleeps until the earliest deadline, or until a ``set`` wakes it to look
again. A timer fires at most once, late rather than early; the Peer checks
every firing against what it set, so a late or repeated one is harmless.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Awaitable, Callable

import trio

from lazooz.node.clock import WallClock
from protocol.peer.actions import TimerKey

Fire = Callable[[TimerKey, int], Awaitable[None]]


class Timers:
    """The timer table of one Peer; ``run`` fires due timers through ``fire``."""

    def __init__(self, clock: WallClock) -> None:
        self._clock = clock
        self._at: dict[TimerKey, tuple[int, int]] = {}  # key -> (at_ms, generation)
        self._heap: list[tuple[int, int, TimerKey]] = []
        self._generation = itertools.count()
        self._wake = trio.Event()

    def __len__(self) -> int:
        return len(self._at)

    def __contains__(self, key: TimerKey) -> bool:
        return key in self._at

    def at_ms(self, key: TimerKey) -> int | None:
        """When ``key`` fires, or ``None`` if it is not set."""
        entry = self._at.get(key)
        return None if entry is None else entry[0]

    def set(self, key: TimerKey, at_ms: int) -> None:
        generation = next(self._generation)
        self._at[key] = (at_ms, generation)
        heapq.heappush(self._heap, (at_ms, generation, key))
        if len(self._heap) > 2 * len(self._at) + 64:
            # Replaced and cancelled timers pile up behind far deadlines: rebuild.
            self._heap = [(at, gen, k) for k, (at, gen) in self._at.items()]
            heapq.heapify(self._heap)
        if self._heap[0][1] == generation:
            self._wake.set()  # a new earliest deadline

    def cancel(self, key: TimerKey) -> None:
        self._at.pop(key, None)

    async def run(self, fire: Fire) -> None:
        """Fire each timer once it is due, in deadline order; runs until cancelled."""
        while True:
            self._drop_stale()
            self._wake = trio.Event()
            if not self._heap:
                await self._wake.wait()
                continue
            at_ms = self._heap[0][0]
            if self._clock.now_ms() < at_ms:
                with trio.move_on_at(self._clock.deadline(at_ms)):
                    await self._wake.wait()
                continue
            _, generation, key = heapq.heappop(self._heap)
            if self._at.get(key) == (at_ms, generation):
                del self._at[key]
                await fire(key, self._clock.now_ms())

    def _drop_stale(self) -> None:
        heap = self._heap
        while heap and self._at.get(heap[0][2]) != (heap[0][0], heap[0][1]):
            heapq.heappop(heap)
