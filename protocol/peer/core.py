"""The state one Peer holds, shared by the modules that drive its parts.

``Peer`` (peer.py) is the public face; gossip.py, rides.py, sync.py and
publishing.py each work on this one ``Core``. Nothing here does I/O.
"""

from __future__ import annotations

import random
import struct
from collections import Counter
from collections.abc import Sequence
from typing import Literal

from protocol import geo
from protocol.envelope import Signed
from protocol.errors import RemoteError
from protocol.fields import GeoPoint, PublicKey
from protocol.identity import Identity
from protocol.ledger.book import Ledger
from protocol.ledger.credit import balances
from protocol.ledger.reputation import Reputation, reputations
from protocol.ledger.wire import LogEntry, ReceiptHalf
from protocol.peer.actions import (
    Action,
    Notify,
    Persist,
    Publish,
    SetTimer,
    TimerKey,
)
from protocol.peer.book import Book
from protocol.peer.matches import Matcher
from protocol.peer.notices import BalanceChanged, InputRejected
from protocol.peer.own import OwnOffer, OwnRequest
from protocol.peer.params import PeerParams
from protocol.peer.ride import Ride
from protocol.shared import SharedOpening
from protocol.validation import ReplayWindow

#: Gossip topic of new log entries and fork proofs (and heads) (SPEC §4.3, §11.11).
LEDGER_TOPIC = "lazooz/1/ledger"

InputChannel = Literal["gossip", "ride", "sync"]


class Core:
    """Everything one member's Peer knows; see ``Peer`` for what may change it."""

    def __init__(
        self,
        identity: Identity,
        home: GeoPoint,
        rng: random.Random,
        params: PeerParams,
        shared: SharedOpening | None = None,
    ) -> None:
        self.identity = identity
        self.me = identity.public_key
        self.home = home
        self.rng = rng
        self.params = params
        #: Opening work shared with other Peers of one process (a simulator's), or none.
        self.shared = shared
        self.projection = geo.LocalProjection.around(home)
        self.ledger = Ledger()
        self.book = Book(params.max_book_offers, params.max_book_requests)
        self.offers: dict[bytes, OwnOffer] = {}
        self.requests: dict[bytes, OwnRequest] = {}
        self.matcher = Matcher(self.me, self.projection, params.matching, shared)
        self.rides: dict[bytes, Ride] = {}
        self.replay = ReplayWindow(
            capacity=params.replay_capacity, skew_ms=params.validation.max_skew_ms
        )
        #: Remote input dropped, by channel and reason.
        self.rejected: Counter[tuple[str, str]] = Counter()
        #: The area cells around home (SPEC §4.3), and the topics subscribed to
        #: (``listening.update`` keeps them to what the Peer needs now).
        self.home_cells = geo.area_cells_around(home, params.area_rings)
        self.topics: set[str] = set()
        #: When each timer the Peer set is due; a firing of another time is stale.
        self.timers: dict[TimerKey, int] = {}
        self.started = False
        self.balance_milli = 0
        #: ``balances`` as of (ledger, its version, credit params): recomputed only when one moved.
        self._balances: tuple[Ledger, int, object, dict[PublicKey, int]] | None = None
        #: Ride ids of the receipt halves in the member's own log, read up to ``_own_read``.
        self._own_rides: set[bytes] = set()
        self._own_read = 0
        #: ``reputations`` as of (ledger, its version), as for balances.
        self._reputations: tuple[Ledger, int, dict[PublicKey, Reputation]] | None = None
        #: The authors whose logs a light member holds (``PeerParams.ledger == "own"``):
        #: itself, and every member it agreed a ride with or a receipt half names it
        #: beside. ``None`` for a full member, which holds every log it hears of.
        self.follows: set[PublicKey] | None = {self.me} if params.ledger == "own" else None
        #: Authors followed since this Peer last asked them for their logs (``fetch_followed``).
        self.unfetched: list[PublicKey] = []

    # -- which logs it holds (a light member's follow set, SPEC §10.6)

    def follows_author(self, author: PublicKey) -> bool:
        """Does this Peer hold, apply and ask for ``author``'s log?"""
        return self.follows is None or author in self.follows

    def follow(self, author: PublicKey, *, fetch: bool = True) -> list[Action]:
        """A light member starts holding ``author``'s log: kept durably, and (``fetch``)
        asked of its author at the next chance; nothing for a full member or an author
        followed already."""
        if self.follows is None or author in self.follows:
            return []
        self.follows.add(author)
        if fetch:
            self.unfetched.append(author)
        return [Persist("follow", author, b"")]

    # -- remote input that is dropped

    def reject(self, channel: InputChannel, error: RemoteError) -> Notify:
        key = (channel, error.reason)
        self.rejected[key] += 1
        return Notify(InputRejected(channel, error.reason, str(error), self.rejected[key]))

    # -- timers

    def set_timer(self, key: TimerKey, at_ms: int) -> SetTimer:
        self.timers[key] = at_ms
        return SetTimer(key, at_ms)

    def due(self, key: TimerKey, now_ms: int) -> bool:
        """Is the timer ``key`` set and due? If so it is consumed."""
        at = self.timers.get(key)
        if at is None or now_ms < at:
            return False
        del self.timers[key]
        return True

    # -- the ledger

    def persist_entries(self, entries: Sequence[Signed[LogEntry]]) -> list[Action]:
        return [Persist("entry", entry_key(e.author, e.message.seq), e.raw) for e in entries]

    def wrote(self, entry: Signed[LogEntry]) -> list[Action]:
        """The member appended ``entry`` to its own log: store it, then gossip it to
        everyone (SPEC §11.11), so every peer hears it as it is written."""
        return [*self.persist_entries([entry]), Publish(LEDGER_TOPIC, entry.raw)]

    def balances(self) -> dict[PublicKey, int]:
        """Every member's balance by this Peer's ledger; do not mutate the result.

        Computed from scratch (credit v1 takes every receipt in order), but
        only when the ledger changed since the last call: most sync batches
        and fork proofs a Peer handles bring nothing new.
        """
        ledger, credit = self.ledger, self.params.credit
        cached = self._balances
        if (
            cached is not None
            and cached[0] is ledger
            and cached[1] == ledger.version
            and cached[2] is credit
        ):
            return cached[3]
        out = balances(ledger, credit)
        self._balances = (ledger, ledger.version, credit, out)
        return out

    def reputations(self) -> dict[PublicKey, Reputation]:
        """Every rated member's reputation by this Peer's ledger; do not mutate the result."""
        cached = self._reputations
        if cached is not None and cached[0] is self.ledger and cached[1] == self.ledger.version:
            return cached[2]
        out = reputations(self.ledger)
        self._reputations = (self.ledger, self.ledger.version, out)
        return out

    def balance_actions(self, applied: Sequence[Signed[LogEntry]] | None = None) -> list[Action]:
        """``BalanceChanged`` if the user's own balance moved since it was last told.

        With ``applied`` (the entries that just chained), nothing is recomputed
        unless one of them can move the member's balance (``_concerns``): most
        entries a peer syncs are other members' rides.
        """
        if applied is not None and not any(self._concerns(e) for e in applied):
            return []
        now = self.balances().get(self.me, 0)
        if now == self.balance_milli:
            return []
        before, self.balance_milli = self.balance_milli, now
        return [Notify(BalanceChanged(self.me, now, before))]

    def _concerns(self, entry: Signed[LogEntry]) -> bool:
        """Can ``entry`` change this member's credit (SPEC §10.1)?

        Only a receipt naming the member (its own rides, and pair counts of
        rides with the same partner in either seat), or one with the ride id
        of one of its receipts (a ride id earns once). Every receipt that can
        count for the member has a half in its own log, so those ids are read
        from there; fork proofs go through ``balance_actions()`` in full.
        """
        half = entry.message.payload
        if not isinstance(half, ReceiptHalf):
            return False
        r = half.receipt
        if self.me in (r.driver, r.rider):
            return True
        own = self.ledger.log(self.me)
        if own is not None and len(own) > self._own_read:
            for mine in own.since(self._own_read + 1):
                payload = mine.message.payload
                if isinstance(payload, ReceiptHalf):
                    self._own_rides.add(payload.receipt.ride_id)
            self._own_read = len(own)
        return r.ride_id in self._own_rides


def names(entry: LogEntry, member: PublicKey) -> bool:
    """Is ``entry`` a receipt half of a ride ``member`` drove or rode in?"""
    half = entry.payload
    return isinstance(half, ReceiptHalf) and member in (half.receipt.driver, half.receipt.rider)


def entry_key(author: PublicKey, seq: int) -> bytes:
    """The ``Persist`` key of a log entry: author key, then ``seq`` as 8 big-endian bytes."""
    return author + struct.pack(">Q", seq)
