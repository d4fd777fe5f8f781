"""Requests as columns for the vectorised index, and two helpers for bulk work on them."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from protocol.matching.geometry import IntArray
from protocol.matching.places import OpenRequest

#: Compute once per distinct key only if at most this share of keys is distinct: sorting
#: a key costs a fraction of the per-segment work it saves.
ONCE_WORTH = 0.8


class RequestColumns:
    """The requests' fields as arrays, one row per request."""

    def __init__(self, requests: Sequence[OpenRequest]) -> None:
        self.requests = requests
        self.px = np.array([r.pickup.x_m for r in requests], dtype=np.float64)
        self.py = np.array([r.pickup.y_m for r in requests], dtype=np.float64)
        self.pr = np.array([r.pickup.radius_m for r in requests], dtype=np.float64)
        self.qx = np.array([r.dropoff.x_m for r in requests], dtype=np.float64)
        self.qy = np.array([r.dropoff.y_m for r in requests], dtype=np.float64)
        self.qr = np.array([r.dropoff.radius_m for r in requests], dtype=np.float64)
        self.walk = np.array([r.max_walk_m for r in requests], dtype=np.int64).astype(np.float64)
        self.start_ms = np.array([r.window.start_ms for r in requests], dtype=np.int64)
        self.end_ms = np.array([r.window.end_ms for r in requests], dtype=np.int64)
        self.seats = np.array([r.seats for r in requests], dtype=np.int64)
        # Sharing pays only when places repeat: coarse cells do, revealed points do not.
        self.places_repeat = False
        self.p_place = self.q_place = self.p_reach_key = self.q_reach_key = np.zeros(0, np.int64)
        if (self.pr > 0).any() or (self.qr > 0).any():
            self._key_places(requests)

    def _key_places(self, requests: Sequence[OpenRequest]) -> None:
        """Number equal places, and equal (place, walk), so repeated ones are computed once."""
        places: dict[tuple[float, float, float], int] = {}
        reaches: dict[tuple[float, float, float, int], int] = {}
        keys = []
        for r in requests:
            for place in (r.pickup, r.dropoff):
                at = (place.x_m, place.y_m, place.radius_m)
                keys.append(
                    (
                        places.setdefault(at, len(places)),
                        reaches.setdefault((*at, r.max_walk_m), len(reaches)),
                    )
                )
        ids = np.array(keys, dtype=np.int64).reshape(-1, 2, 2)
        self.p_place, self.q_place = ids[:, 0, 0], ids[:, 1, 0]
        self.p_reach_key, self.q_reach_key = ids[:, 0, 1], ids[:, 1, 1]
        self.places_repeat = len(places) <= ONCE_WORTH * 2 * len(requests)


@contextlib.contextmanager
def collection_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many result objects.

    A million candidates set off full collections again and again, each
    walking every object built so far and finding nothing: candidates hold
    no cycles. Pausing saved about a third of the time of a large query.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass(frozen=True, slots=True)
class Once:
    """Equal keys found once: ``first`` indexes one row per key, ``inverse`` maps rows back.

    Coarse places repeat (every request from one H3 cell has the same disc),
    so geometry per distinct (place, route) is much less work. Sort and a
    neighbour mask, not ``np.unique``: much faster on numpy 2 (DESIGN.md).
    """

    first: IntArray
    inverse: IntArray

    @classmethod
    def of(cls, keys: IntArray) -> Once | None:
        """``None`` when too few keys repeat to pay for the sort."""
        if len(keys) == 0:
            return None
        order = np.argsort(keys, kind="stable")
        ordered = keys[order]
        new = np.empty(len(keys), dtype=np.bool_)
        new[0] = True
        np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
        group = np.cumsum(new) - 1
        if group[-1] + 1 > len(keys) * ONCE_WORTH:
            return None
        inverse = np.empty(len(keys), dtype=np.int64)
        inverse[order] = group
        return cls(order[new], inverse)
