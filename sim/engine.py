"""The discrete-event loop: virtual time on a binary heap, deterministic for a seed.

Events are ``(at_ms, seq, fn, arg)``: ``seq`` is a running counter, so two
events due at the same millisecond run in the order they were scheduled —
the tie-break that makes a run repeatable. Nothing here reads a clock or
draws randomness; the network model and the agents own seeded
``random.Random`` instances (``rngs``).

A plain ``heapq`` loop was measured against simpy on this workload (see
``sim/engine_bench.py`` and docs/simulator.md §Engine): the heap is kept.
"""

from __future__ import annotations

import hashlib
import heapq
import random
from collections.abc import Callable
from typing import Any

Handler = Callable[[Any], object]


class Engine:
    """A heap of timed callbacks and the virtual clock they advance."""

    __slots__ = ("_heap", "_seq", "events", "now_ms", "start_ms")

    def __init__(self, start_ms: int) -> None:
        self.start_ms = start_ms
        self.now_ms = start_ms
        self._heap: list[tuple[int, int, Handler, Any]] = []
        self._seq = 0
        #: Events executed so far.
        self.events = 0

    def at(self, at_ms: int, fn: Handler, arg: Any = None) -> None:
        """Run ``fn(arg)`` at ``at_ms`` (now, if that is in the past)."""
        self._seq += 1
        heapq.heappush(self._heap, (max(at_ms, self.now_ms), self._seq, fn, arg))

    def after(self, delay_ms: int, fn: Handler, arg: Any = None) -> None:
        """Run ``fn(arg)`` ``delay_ms`` from now."""
        self.at(self.now_ms + delay_ms, fn, arg)

    def pending(self) -> int:
        return len(self._heap)

    def run_until(
        self, end_ms: int, tick: Callable[[int], None] | None = None, tick_ms: int = 60_000
    ) -> None:
        """Execute every event due up to ``end_ms`` in (time, seq) order.

        ``tick(now_ms)`` is called whenever virtual time crosses a multiple
        of ``tick_ms`` (a progress bar's hook); it must not schedule events.
        """
        heap = self._heap
        pop = heapq.heappop
        next_tick = self.now_ms + tick_ms
        done = 0
        while heap and heap[0][0] <= end_ms:
            when, _, fn, arg = pop(heap)
            self.now_ms = when
            fn(arg)
            done += 1
            if tick is not None and when >= next_tick:
                tick(when)
                next_tick = when - (when - self.start_ms) % tick_ms + tick_ms
        self.events += done
        self.now_ms = max(self.now_ms, end_ms)
        if tick is not None:
            tick(self.now_ms)


def derive_rng(seed: int, *purpose: str | int) -> random.Random:
    """A ``random.Random`` for one purpose (an agent, the network, a demand draw).

    Seeded from a hash of the scenario seed and the purpose, so adding an
    agent or a draw somewhere does not shift every other stream of numbers.
    """
    text = "/".join(str(p) for p in (seed, *purpose)).encode()
    return random.Random(int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big"))
