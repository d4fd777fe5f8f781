"""Counts of what the network layer saw and did, by ``(area, what)``, for metrics.

Areas are ``gossip``, ``ride``, ``sync`` and ``dial``. A count is never an
error the caller must handle: it is the record of something dropped,
refused or timed out (and logged) while the host kept going.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Mapping

CountHandler = Callable[[str, str], None]


class Counters:
    """Running totals, with a hook called on every increment (the node's metrics)."""

    def __init__(self, on_count: CountHandler) -> None:
        self._totals: collections.Counter[tuple[str, str]] = collections.Counter()
        self._on_count = on_count

    def add(self, area: str, what: str) -> None:
        self._totals[area, what] += 1
        self._on_count(area, what)

    def __getitem__(self, key: tuple[str, str]) -> int:
        return self._totals[key]

    def snapshot(self) -> Mapping[tuple[str, str], int]:
        return dict(self._totals)
