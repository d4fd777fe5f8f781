"""Others' offers and requests heard on gossip, held until they expire (SPEC §11.7).

Keyed by author and id, so nobody can shadow another member's offer by
reusing its id. A newer ``seq`` replaces an older one; an older or equal one
is ``Stale``. Memory is bounded: when full, the entry that expires first goes.
"""

from __future__ import annotations

import enum
import heapq
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from protocol.envelope import Signed
from protocol.errors import Stale, describe
from protocol.fields import PublicKey
from protocol.geo import LocalProjection
from protocol.matching import OpenOffer, OpenRequest
from protocol.messages import RideOffer, RideRequest
from protocol.shared import SharedOpening

M = TypeVar("M", RideOffer, RideRequest)
T = TypeVar("T")
Key = tuple[PublicKey, bytes]


class Put(enum.Enum):
    """What ``Shelf.put`` did."""

    NEW = "new"
    REPLACED = "replaced"


@dataclass(slots=True)
class Booked(Generic[M]):
    """One offer or request of someone else, and its matching form (built once, lazily)."""

    signed: Signed[M]
    _open: OpenOffer | OpenRequest | None = field(default=None, repr=False)
    _reads: Hashable = field(default=None, repr=False)

    @property
    def message(self) -> M:
        return self.signed.message

    @property
    def author(self) -> PublicKey:
        return self.signed.author

    @property
    def expires_ms(self) -> int:
        return self.signed.message.expires_ms

    def matching_key(self) -> Hashable:
        """What matching reads of it (``offer_reads``, ``request_reads``), made once."""
        if self._reads is None:
            m = self.signed.message
            if isinstance(m, RideOffer):
                self._reads = offer_reads(self.author, m)
            else:
                self._reads = request_reads(self.author, m)
        return self._reads

    def open_offer(
        self, projection: LocalProjection, shared: SharedOpening | None = None
    ) -> OpenOffer:
        """The offer in ``projection``'s metres, ready to match (made once; with
        ``shared``, once for every Peer of the process that uses that projection)."""
        if self._open is None:
            m = self.signed.message
            assert isinstance(m, RideOffer)
            author = self.author
            self._open = self._shared_open(
                shared, "offer", projection, lambda: OpenOffer.from_message(m, author, projection)
            )
        assert isinstance(self._open, OpenOffer)
        return self._open

    def open_request(
        self, projection: LocalProjection, shared: SharedOpening | None = None
    ) -> OpenRequest:
        """The request's coarse places in ``projection``'s metres, as ``open_offer``."""
        if self._open is None:
            m = self.signed.message
            assert isinstance(m, RideRequest)
            author = self.author
            self._open = self._shared_open(
                shared,
                "request",
                projection,
                lambda: OpenRequest.from_message(m, author, projection),
            )
        assert isinstance(self._open, OpenRequest)
        return self._open

    def _shared_open(
        self,
        shared: SharedOpening | None,
        kind: str,
        projection: LocalProjection,
        make: Callable[[], T],
    ) -> T:
        if shared is None:
            return make()
        c = projection.centre
        return shared.remember(f"open {kind} {c.lat_e6},{c.lon_e6}", self.signed.raw, make)


def offer_reads(author: PublicKey, m: RideOffer) -> Hashable:
    """What matching reads of an offer: everything but its seq and times, which
    every republication changes."""
    return (
        author,
        m.offer_id,
        m.route.packed,
        m.departure,
        m.duration_s,
        m.seats,
        m.max_detour_m,
        m.max_detour_s,
        m.cost,
    )


def request_reads(author: PublicKey, m: RideRequest) -> Hashable:
    """What matching reads of a request heard on gossip, as ``offer_reads``."""
    return (author, m.request_id, m.pickup_cell, m.dropoff_cell, m.window, m.seats, m.max_walk_m)


def _id_of(message: RideOffer | RideRequest) -> bytes:
    return message.offer_id if isinstance(message, RideOffer) else message.request_id


class Shelf(Generic[M]):
    """Offers, or requests, of others: at most ``capacity``, each until it expires."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: dict[Key, Booked[M]] = {}
        # (expires_ms, key) of everything put; an entry is stale once its key is
        # gone or held with another expiry. Every minute's sweep then costs what
        # expires, not the whole shelf (a town's book is thousands of items).
        self._expiry: list[tuple[int, Key]] = []
        #: Entries dropped early because the shelf was full.
        self.evicted = 0

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Booked[M]]:
        return iter(self._items.values())

    def __contains__(self, key: Key) -> bool:
        return key in self._items

    def get(self, key: Key) -> Booked[M] | None:
        return self._items.get(key)

    def check(self, signed: Signed[M]) -> None:
        """Raise ``Stale`` unless ``signed`` is new or a newer ``seq`` of what is held."""
        m = signed.message
        held = self._items.get((signed.author, _id_of(m)))
        if held is not None and m.seq <= held.message.seq:
            raise Stale(
                describe(f"{type(m).__name__}.seq", m.seq, f"already hold seq {held.message.seq}")
            )

    def put(self, signed: Signed[M]) -> tuple[Put, list[Key]]:
        """Hold ``signed`` (checked first); also returns the keys evicted to make room."""
        self.check(signed)
        key = (signed.author, _id_of(signed.message))
        replaced = key in self._items
        self._items[key] = Booked(signed)
        heapq.heappush(self._expiry, (signed.message.expires_ms, key))
        evicted: list[Key] = []
        while len(self._items) > self.capacity:
            # O(n), only when full; the soonest to expire goes, this one included.
            gone = min(self._items, key=lambda k: (self._items[k].expires_ms, k))
            del self._items[gone]
            evicted.append(gone)
            self.evicted += 1
        return (Put.REPLACED if replaced else Put.NEW), evicted

    def expire(self, now_ms: int, skew_ms: int) -> list[Key]:
        """Drop everything past its expiry (allowing ``skew_ms``, as freshness does)."""
        heap, items = self._expiry, self._items
        gone: list[Key] = []
        while heap and heap[0][0] + skew_ms < now_ms:
            expires_ms, key = heapq.heappop(heap)
            held = items.get(key)
            if held is not None and held.expires_ms == expires_ms:
                del items[key]
                gone.append(key)
        if len(heap) > 2 * len(items) + 64:
            # Replaced and evicted entries left stale tuples: rebuild from what is held.
            self._expiry = [(b.expires_ms, k) for k, b in items.items()]
            heapq.heapify(self._expiry)
        return gone


class Book:
    """Every offer and request of others this Peer holds."""

    def __init__(self, max_offers: int, max_requests: int) -> None:
        self.offers: Shelf[RideOffer] = Shelf(max_offers)
        self.requests: Shelf[RideRequest] = Shelf(max_requests)
