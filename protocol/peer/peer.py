"""The Peer: one member's protocol core, events in and actions out (SPEC §11, docs/peer.md).

The node (lazooz/) and the simulator (sim/) drive the same ``Peer``: they
call its inputs with bytes, keys and ``now_ms``, and execute the actions
returned, in order. Remote input never raises out of a ``Peer``; a user
command that cannot be honoured raises a ``LocalError`` and changes nothing.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import final

from protocol.errors import describe
from protocol.fields import CostShare, GeoPoint, Polyline, PublicKey, TimeWindow
from protocol.identity import Identity
from protocol.ledger.book import Ledger
from protocol.ledger.credit import CreditLine, explain
from protocol.ledger.reputation import Reputation
from protocol.messages import RideOffer, RideRequest
from protocol.peer import durable, gossip, listening, publishing, ratings, rides
from protocol.peer import sync as peer_sync
from protocol.peer.actions import Action, Channel, Persist, Subscribe, TimerKey
from protocol.peer.core import Core
from protocol.peer.durable import Record
from protocol.peer.errors import BadCommand
from protocol.peer.events import Event, GossipReceived, PeerConnected, StreamReceived, TimerFired
from protocol.peer.gossip import Verdict
from protocol.peer.notices import Match
from protocol.peer.own import OwnOffer, OwnRequest
from protocol.peer.params import PeerParams
from protocol.peer.ride import RideView
from protocol.ride.messages import CancelReason, DeclineReason
from protocol.shared import SharedOpening

SWEEP_TIMER = ("sweep",)


@dataclass(frozen=True, slots=True)
class BookView:
    """What ``Peer.book()`` shows: others' offers and requests held, by author."""

    offers: tuple[tuple[PublicKey, RideOffer], ...]
    requests: tuple[tuple[PublicKey, RideRequest], ...]


@final
class Peer:
    """One member's Peer. Build it, call ``start``, then feed it inputs."""

    def __init__(
        self,
        identity: Identity,
        home: GeoPoint,
        rng: random.Random,
        params: PeerParams | None = None,
        stored: Iterable[Record] = (),
        shared: SharedOpening | None = None,
    ) -> None:
        """``stored``: the records a store kept of this member's earlier Peer (its
        ``Persist`` actions, or ``export()``); ``start`` resumes from them.
        ``shared``: opening work to share with the other Peers of one process
        (protocol.shared; a simulator's), changing nothing but the CPU spent."""
        self._core = Core(identity, home, rng, params or PeerParams(), shared)
        durable.restore(self._core, stored)
        self._validated = gossip.Validated(self._core.params.max_validated)
        self._sync = peer_sync.SyncState()

    # -- what it is

    @property
    def public_key(self) -> PublicKey:
        return self._core.me

    @property
    def member_id(self) -> str:
        return self._core.identity.member_id

    @property
    def ledger(self) -> Ledger:
        """Every log this Peer holds (read it; only the Peer writes it)."""
        return self._core.ledger

    # -- inputs from the network and the clock

    def start(self, now_ms: int) -> list[Action]:
        """Join the topics the Peer needs (``listening``: with ``listen="all"`` both
        sides of every home cell, and those its stored open items need), and the
        ledger topic; start the periodic timers."""
        core = self._core
        if core.started:
            raise BadCommand(describe("Peer", core.identity.member_id, "already started"))
        listening.update(core)
        core.started = True
        out: list[Action] = [Subscribe(topic) for topic in sorted(core.topics)]
        out.append(core.set_timer(SWEEP_TIMER, now_ms + core.params.sweep_ms))
        jitter = core.rng.randint(0, core.params.heads_ms)
        out.append(core.set_timer(peer_sync.HEADS_TIMER, now_ms + jitter))
        return [*out, *durable.resume(core, now_ms)]

    def validate_gossip(self, topic: str, data: bytes, now_ms: int) -> Verdict:
        """The verdict for a libp2p topic validator; never raises.

        An accepted message is kept, so the ``gossip_received`` call that
        delivers the same bytes does not verify them again.
        """
        return gossip.validate(self._core, self._validated, topic, data, now_ms)

    def gossip_received(self, topic: str, data: bytes, now_ms: int) -> list[Action]:
        """A gossip message on ``topic`` (validated first unless ``validate_gossip`` was)."""
        out = gossip.received(self._core, self._validated, self._sync, topic, data, now_ms)
        return self._fetching(out, now_ms)

    def stream_received(
        self, from_key: PublicKey, channel: Channel, data: bytes, now_ms: int
    ) -> list[Action]:
        """One frame from a direct stream with ``from_key`` (the transport-authenticated peer)."""
        self._sync.seen(from_key, now_ms)
        if channel == "ride":
            out = rides.stream_received(self._core, from_key, data, now_ms)
            return self._fetching(out, now_ms)
        out = peer_sync.stream_received(self._core, self._sync, from_key, data, now_ms)
        return self._fetching(out, now_ms)

    def peer_connected(self, key: PublicKey, now_ms: int) -> list[Action]:
        """A connection to ``key`` opened (either side dialled): start a ledger sync,
        and resend what unfinished rides with ``key`` have said (it may have been lost)."""
        return [
            *peer_sync.connected(self._core, self._sync, key, now_ms),
            *durable.reconnected(self._core, key),
        ]

    def timer_fired(self, key: TimerKey, now_ms: int) -> list[Action]:
        """A timer set by ``SetTimer`` is due; stale, early or unknown keys do nothing."""
        core = self._core
        if not core.due(key, now_ms):
            return []
        name, *rest = key
        if name == "ride" and rest and isinstance(rest[0], bytes):
            return rides.timer_fired(core, rest[0], now_ms)
        if name in ("offer", "request") and rest and isinstance(rest[0], bytes):
            kind: publishing.Kind = "offer" if name == "offer" else "request"
            return publishing.timer_fired(core, kind, rest[0], now_ms)
        if key == peer_sync.HEADS_TIMER:
            return peer_sync.heads_round(core, self._sync, now_ms)
        if key == SWEEP_TIMER:
            gossip.expire(core, now_ms)
            return [
                *rides.sweep(core, now_ms),
                core.set_timer(SWEEP_TIMER, now_ms + core.params.sweep_ms),
            ]
        return []

    def handle(self, event: Event) -> list[Action]:
        """Any network or clock input given as data (``protocol.peer.events``)."""
        if isinstance(event, GossipReceived):
            return self.gossip_received(event.topic, event.data, event.now_ms)
        if isinstance(event, StreamReceived):
            return self.stream_received(event.from_key, event.channel, event.data, event.now_ms)
        if isinstance(event, PeerConnected):
            return self.peer_connected(event.key, event.now_ms)
        assert isinstance(event, TimerFired)
        return self.timer_fired(event.key, event.now_ms)

    # -- user commands: own offers and requests

    def offer(
        self,
        *,
        route: Polyline,
        departure: TimeWindow,
        duration_s: int,
        seats: int,
        max_detour_m: int,
        max_detour_s: int,
        cost: CostShare,
        expires_ms: int,
        now_ms: int,
    ) -> tuple[bytes, list[Action]]:
        """Offer seats along the user's full ``route``; returns the offer id.

        The Peer cuts the privacy zone, signs, publishes on every area the
        cut route crosses, and republishes until ``expires_ms``.
        """
        return publishing.add_offer(
            self._core,
            now_ms,
            route=route,
            departure=departure,
            duration_s=duration_s,
            seats=seats,
            max_detour_m=max_detour_m,
            max_detour_s=max_detour_s,
            cost=cost,
            expires_ms=expires_ms,
        )

    def request(
        self,
        *,
        pickup: GeoPoint,
        dropoff: GeoPoint,
        window: TimeWindow,
        seats: int,
        max_walk_m: int,
        expires_ms: int,
        now_ms: int,
    ) -> tuple[bytes, list[Action]]:
        """Ask for a seat; only the points' cells are published. Returns the request id."""
        return publishing.add_request(
            self._core,
            now_ms,
            pickup=pickup,
            dropoff=dropoff,
            window=window,
            seats=seats,
            max_walk_m=max_walk_m,
            expires_ms=expires_ms,
        )

    def withdraw(self, own_id: bytes, now_ms: int) -> list[Action]:
        """Stop publishing an own offer or request; rides in progress go on."""
        kind: publishing.Kind = "offer" if own_id in self._core.offers else "request"
        return publishing.close(self._core, kind, own_id, "withdrawn")

    def candidates(self, own_id: bytes) -> list[Match]:
        """Ranked matches of an own request (offers that fit) or own offer (requests)."""
        return self._core.matcher.candidates(own_id)

    # -- user commands: rides

    def propose(
        self, request_id: bytes, offer_id: bytes, now_ms: int, *, driver: PublicKey | None = None
    ) -> tuple[bytes, list[Action]]:
        """Rider: ask the driver of a candidate offer for a seat; returns the ride id."""
        return rides.propose(self._core, request_id, offer_id, now_ms, driver)

    def accept(self, ride_id: bytes, now_ms: int) -> list[Action]:
        return self._fetching(rides.command(self._core, ride_id, now_ms, "accept"), now_ms)

    def decline(self, ride_id: bytes, reason: DeclineReason, now_ms: int) -> list[Action]:
        return rides.command(self._core, ride_id, now_ms, "decline", reason)

    def confirm(self, ride_id: bytes, now_ms: int, pickup_ms: int | None = None) -> list[Action]:
        """Driver: the revealed points fit; pick up at ``pickup_ms`` (default: the
        time the Peer's exact check planned)."""
        return self._fetching(rides.confirm(self._core, ride_id, now_ms, pickup_ms), now_ms)

    def cancel(self, ride_id: bytes, reason: CancelReason, now_ms: int) -> list[Action]:
        return rides.command(self._core, ride_id, now_ms, "cancel", reason)

    def pickup(self, ride_id: bytes, pin: str, now_ms: int) -> list[Action]:
        """Driver: the rider is aboard and said ``pin``."""
        return rides.command(self._core, ride_id, now_ms, "picked_up", pin)

    def finish(self, ride_id: bytes, now_ms: int, distance_m: int | None = None) -> list[Action]:
        """Driver: drop-off after ``distance_m`` (default: the planned shared distance)."""
        return rides.finish(self._core, ride_id, now_ms, distance_m)

    def sign_receipt(self, ride_id: bytes, now_ms: int) -> list[Action]:
        """Sign the receipt half this party owes (when the policy does not sign by itself)."""
        return rides.sign_receipt(self._core, ride_id, now_ms)

    def rate(self, ride_id: bytes, stars: int, now_ms: int) -> list[Action]:
        """Rate the other party of a done ride ``stars`` (1..5), once (SPEC §11.15)."""
        return ratings.rate(self._core, ride_id, stars, now_ms)

    # -- queries

    def balances(self) -> dict[PublicKey, int]:
        """Every member's balance in milli-tokens, by the logs this Peer holds.

        A light Peer's own balance is what this device knows: it can differ from a
        full holder's when a receipt it does not hold takes a ride id first (SPEC §10.6).
        """
        return dict(self._core.balances())

    def explain(self, member: PublicKey | None = None) -> list[CreditLine]:
        return explain(self._core.ledger, self._core.params.credit, member)

    def reputation(self, member: PublicKey) -> Reputation:
        """How others rated ``member`` for rides whose receipts count (SPEC §8.8)."""
        return self._core.reputations().get(member, Reputation())

    def rating_given(self, ride_id: bytes) -> int | None:
        """The stars this member gave the other party of ``ride_id``, if it rated it."""
        return ratings.rating_given(self._core, ride_id)

    def rides(self) -> list[RideView]:
        return [RideView.of(r) for r in self._core.rides.values()]

    def book(self) -> BookView:
        b = self._core.book
        return BookView(
            tuple((x.author, x.message) for x in b.offers),
            tuple((x.author, x.message) for x in b.requests),
        )

    def own_offers(self) -> list[OwnOffer]:
        return list(self._core.offers.values())

    def own_requests(self) -> list[OwnRequest]:
        return list(self._core.requests.values())

    def export(self) -> list[Persist]:
        """Everything durable, as ``Persist`` actions: a store rebuilt from them restores
        this Peer (``Peer(..., stored=...)``)."""
        return durable.export(self._core)

    def sync_behind(self) -> dict[PublicKey, int]:
        """Per log: entries peers' last heads show beyond what this Peer holds (``sync.behind``);
        for a light Peer, of the logs it follows only."""
        core = self._core
        behind = peer_sync.behind(core.ledger.heads, self._sync)
        return {a: n for a, n in behind.items() if core.follows_author(a)}

    def follows(self) -> frozenset[PublicKey] | None:
        """The authors whose logs a light Peer holds and asks for (itself, and those it
        rode with or a receipt names it beside); ``None`` for a full Peer: every log."""
        follows = self._core.follows
        return None if follows is None else frozenset(follows)

    def _fetching(self, out: list[Action], now_ms: int) -> list[Action]:
        """``out``, then asks for the logs of authors the input made a light Peer follow."""
        if self._core.unfetched:
            out += peer_sync.fetch_followed(self._core, self._sync, now_ms)
        return out

    def rejected(self) -> dict[tuple[str, str], int]:
        """Remote input dropped so far, by ``(channel, reason)``."""
        return dict(self._core.rejected)
