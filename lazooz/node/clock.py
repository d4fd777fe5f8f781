"""The node's clock: Unix milliseconds for the Peer, laid over trio's monotonic clock.

The wall clock is read once, when the ``WallClock`` is made; from then on
``now_ms`` advances with ``trio.current_time()``, so the times the Peer sees
never go backwards, and a timer's ``at_ms`` converts to a trio deadline
exactly (``deadline``). Under ``trio.testing.MockClock`` the node therefore
runs in virtual time. A long-running node drifts from the wall clock only as
far as the monotonic clock does from it (NTP slews both; a step of the wall
clock is not followed), well inside the protocol's skew allowance (SPEC §5).
"""

from __future__ import annotations

import time

import trio


class WallClock:
    """``now_ms()``: Unix ms that advance with trio's clock. Make it inside ``trio.run``."""

    def __init__(self, epoch_ms: int | None = None) -> None:
        """``epoch_ms``: what ``now_ms()`` says now (default: the wall clock)."""
        wall_ms = time.time() * 1000 if epoch_ms is None else float(epoch_ms)
        self._offset_ms = wall_ms - trio.current_time() * 1000

    def now_ms(self) -> int:
        return int(trio.current_time() * 1000 + self._offset_ms)

    def deadline(self, at_ms: int) -> float:
        """The trio time at which ``now_ms()`` will have reached ``at_ms``."""
        # One millisecond late rather than a float rounding early.
        return (at_ms + 1 - self._offset_ms) / 1000
