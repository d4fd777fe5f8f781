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
from protocol.ledger.wire import LogEntry
from protocol.peer.actions import (
    Action,
    Notify,
    Persist,
    SetTimer,
    Subscribe,
    TimerKey,
    Unsubscribe,
)
from protocol.peer.book import Book
from protocol.peer.matches import Matcher
from protocol.peer.notices import BalanceChanged, InputRejected
from protocol.peer.own import OwnOffer, OwnRequest
from protocol.peer.params import PeerParams
from protocol.peer.ride import Ride
from protocol.validation import ReplayWindow

#: Gossip topic of ledger heads and fork proofs (SPEC §4.3, §11.11).
LEDGER_TOPIC = "lazooz/1/ledger"

InputChannel = Literal["gossip", "ride", "sync"]


class Core:
    """Everything one member's Peer knows; see ``Peer`` for what may change it."""

    def __init__(
        self, identity: Identity, home: GeoPoint, rng: random.Random, params: PeerParams
    ) -> None:
        self.identity = identity
        self.me = identity.public_key
        self.home = home
        self.rng = rng
        self.params = params
        self.projection = geo.LocalProjection.around(home)
        self.ledger = Ledger()
        self.book = Book(params.max_book_offers, params.max_book_requests)
        self.offers: dict[bytes, OwnOffer] = {}
        self.requests: dict[bytes, OwnRequest] = {}
        self.matcher = Matcher(self.me, self.projection, params.matching)
        self.rides: dict[bytes, Ride] = {}
        self.replay = ReplayWindow(
            capacity=params.replay_capacity, skew_ms=params.validation.max_skew_ms
        )
        #: Remote input dropped, by channel and reason.
        self.rejected: Counter[tuple[str, str]] = Counter()
        #: How many of the Peer's parts need each topic (home area, own offers, ...).
        self.topics: Counter[str] = Counter()
        #: When each timer the Peer set is due; a firing of another time is stale.
        self.timers: dict[TimerKey, int] = {}
        self.started = False
        self.balance_milli = 0
        #: ``balances`` as of (ledger, its version, credit params): recomputed only when one moved.
        self._balances: tuple[Ledger, int, object, dict[PublicKey, int]] | None = None
        #: ``reputations`` as of (ledger, its version), as for balances.
        self._reputations: tuple[Ledger, int, dict[PublicKey, Reputation]] | None = None

    # -- remote input that is dropped

    def reject(self, channel: InputChannel, error: RemoteError) -> Notify:
        key = (channel, error.reason)
        self.rejected[key] += 1
        return Notify(InputRejected(channel, error.reason, str(error), self.rejected[key]))

    # -- timers and topics

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

    def subscribe(self, topics: tuple[str, ...] | list[str]) -> list[Action]:
        out: list[Action] = []
        for topic in topics:
            self.topics[topic] += 1
            if self.topics[topic] == 1 and self.started:
                out.append(Subscribe(topic))
        return out

    def unsubscribe(self, topics: tuple[str, ...] | list[str]) -> list[Action]:
        out: list[Action] = []
        for topic in topics:
            self.topics[topic] -= 1
            if self.topics[topic] <= 0:
                del self.topics[topic]
                if self.started:
                    out.append(Unsubscribe(topic))
        return out

    # -- the ledger

    def persist_entries(self, entries: Sequence[Signed[LogEntry]]) -> list[Action]:
        return [Persist("entry", entry_key(e.author, e.message.seq), e.raw) for e in entries]

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

    def balance_actions(self) -> list[Action]:
        """``BalanceChanged`` if the user's own balance moved since it was last told."""
        now = self.balances().get(self.me, 0)
        if now == self.balance_milli:
            return []
        before, self.balance_milli = self.balance_milli, now
        return [Notify(BalanceChanged(self.me, now, before))]


def entry_key(author: PublicKey, seq: int) -> bytes:
    """The ``Persist`` key of a log entry: author key, then ``seq`` as 8 big-endian bytes."""
    return author + struct.pack(">Q", seq)
