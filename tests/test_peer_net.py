"""An in-memory network of Peers in virtual time, shared by the Peer tests.

``Net`` is the smallest shell that executes every Peer action: a heap of
``(time, seq, delivery)``; ``Publish`` reaches every other subscriber of the
topic after ``latency_ms`` (through ``validate_gossip`` first, as a libp2p
validator would), ``Send`` reaches its one recipient (a first stream between
two peers calls ``peer_connected`` on both ends), ``SetTimer`` fires once at
its time unless replaced or cancelled (streams, connections and timers
arrive through ``Peer.handle`` as events), ``Persist`` writes a dict, and
``Notify`` is recorded. No real network, no clock: runs are deterministic.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from protocol.fields import CostShare, GeoPoint, Polyline, PublicKey, TimeWindow
from protocol.identity import Identity
from protocol.ledger.chain import open_entry
from protocol.peer.actions import (
    Action,
    CancelTimer,
    Notify,
    Persist,
    PersistKind,
    Publish,
    Send,
    SetTimer,
    Subscribe,
    TimerKey,
    Unsubscribe,
)
from protocol.peer.core import entry_key
from protocol.peer.events import PeerConnected, StreamReceived, TimerFired
from protocol.peer.gossip import Accepted
from protocol.peer.notices import Notification
from protocol.peer.params import HOUR_MS, MINUTE_MS, PeerParams
from protocol.peer.peer import Peer
from protocol.ride.messages import ReceiptEntry
from protocol.ride.validation import open_ride_message
from tests.strategies import NOW_MS

#: Home of every test peer: central Tel Aviv.
TEL_AVIV = GeoPoint.from_degrees(32.0853, 34.7818)

#: A driver's full route south along Ibn Gabirol, ~4.6 km: enough to survive
#: the privacy cut of up to 600 m at each end and still pass every pickup below.
DRIVE = Polyline.from_degrees(
    [
        (32.105000, 34.785600),
        (32.100500, 34.784900),
        (32.096330, 34.784120),
        (32.091870, 34.783380),
        (32.087240, 34.782050),
        (32.082590, 34.781210),
        (32.077890, 34.781530),
        (32.073210, 34.781720),
        (32.068800, 34.781900),
        (32.064500, 34.782100),
    ]
)


@dataclass(slots=True)
class Node:
    """One peer of the network and everything its shell recorded."""

    name: str
    peer: Peer
    identity: Identity
    params: PeerParams | None
    home: GeoPoint
    notes: list[tuple[int, Notification]] = field(default_factory=list)
    store: dict[tuple[PersistKind, bytes], bytes] = field(default_factory=dict)
    topics: set[str] = field(default_factory=set)
    timers: dict[TimerKey, int] = field(default_factory=dict)


class Net:
    """Peers joined by an in-memory gossip and stream layer, in virtual time."""

    def __init__(self, latency_ms: int = 40, now_ms: int = NOW_MS) -> None:
        self.now_ms = now_ms
        self.latency_ms = latency_ms
        self.nodes: dict[str, Node] = {}
        self.by_key: dict[PublicKey, Node] = {}
        self._heap: list[tuple[int, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._connected: set[frozenset[PublicKey]] = set()
        #: Every action executed, in order, by node name.
        self.trace: list[tuple[int, str, Action]] = []
        #: Sends to keys that are not in the network.
        self.outbox: list[Send] = []

    def add(
        self, name: str, seed: int, params: PeerParams | None = None, home: GeoPoint = TEL_AVIV
    ) -> Node:
        identity = Identity.from_seed(bytes([seed]) * 32)
        peer = Peer(identity, home, random.Random(seed), params)
        node = Node(name, peer, identity, params, home)
        self.nodes[name] = node
        self.by_key[peer.public_key] = node
        self.execute(node, peer.start(self.now_ms))
        for other in list(self.nodes.values()):
            if other is not node:
                self.connect(node, other)
        return node

    def connect(self, a: Node, b: Node) -> None:
        """``a`` dials ``b`` (as a node dials its bootstrap peers): both ends hear of it."""
        pair = frozenset({a.peer.public_key, b.peer.public_key})
        if pair in self._connected:
            return
        self._connected.add(pair)
        self.execute(a, a.peer.peer_connected(b.peer.public_key, self.now_ms))
        self.at(self.now_ms + self.latency_ms, self._connect(b, a))

    def restart(self, name: str, seed: int) -> Node:
        """Stop ``name``'s Peer and start a new one from what its store kept."""
        node = self.nodes[name]
        stored = [(kind, key, data) for (kind, key), data in sorted(node.store.items())]
        node.peer = Peer(node.identity, node.home, random.Random(seed), node.params, stored)
        node.timers.clear()
        node.topics.clear()
        self.execute(node, node.peer.start(self.now_ms))
        return node

    def __getitem__(self, name: str) -> Node:
        return self.nodes[name]

    # -- time

    def at(self, when_ms: int, what: Callable[[], None]) -> None:
        heapq.heappush(self._heap, (when_ms, next(self._seq), what))

    def run_until(self, end_ms: int) -> None:
        while self._heap and self._heap[0][0] <= end_ms:
            when, _, what = heapq.heappop(self._heap)
            self.now_ms = max(self.now_ms, when)
            what()
        self.now_ms = max(self.now_ms, end_ms)

    def run_for(self, ms: int) -> None:
        self.run_until(self.now_ms + ms)

    def run_until_true(self, check: Callable[[], bool], limit_ms: int = 3_600_000) -> None:
        """Advance event by event until ``check()`` holds; fail after ``limit_ms``."""
        end = self.now_ms + limit_ms
        while not check():
            assert self._heap and self._heap[0][0] <= end, "condition never held"
            when, _, what = heapq.heappop(self._heap)
            self.now_ms = max(self.now_ms, when)
            what()

    # -- executing actions

    def peer(self, name: str) -> Peer:
        return self.nodes[name].peer

    def run(self, name: str, actions: list[Action]) -> None:
        """Execute the actions of a user command just given to ``name``'s Peer."""
        self.execute(self.nodes[name], actions)

    def execute(self, node: Node, actions: list[Action]) -> None:
        for action in actions:
            self.trace.append((self.now_ms, node.name, action))
            if isinstance(action, Publish):
                self._publish(node, action)
            elif isinstance(action, Send):
                self._send(node, action)
            elif isinstance(action, SetTimer):
                node.timers[action.key] = action.at_ms
                self.at(action.at_ms, self._fire(node, action.key, action.at_ms))
            elif isinstance(action, CancelTimer):
                node.timers.pop(action.key, None)
            elif isinstance(action, Subscribe):
                node.topics.add(action.topic)
            elif isinstance(action, Unsubscribe):
                node.topics.discard(action.topic)
            elif isinstance(action, Persist):
                self._persist(node, action)
            else:
                assert isinstance(action, Notify)
                node.notes.append((self.now_ms, action.event))

    def _publish(self, sender: Node, action: Publish) -> None:
        for node in sorted(self.nodes.values(), key=lambda n: n.name):
            if node is sender or action.topic not in node.topics:
                continue
            self.at(self.now_ms + self.latency_ms, self._gossip(node, action.topic, action.data))

    def _gossip(self, node: Node, topic: str, data: bytes) -> Callable[[], None]:
        def deliver() -> None:
            if topic not in node.topics:
                return
            verdict = node.peer.validate_gossip(topic, data, self.now_ms)
            if isinstance(verdict, Accepted):
                self.execute(node, node.peer.gossip_received(topic, data, self.now_ms))

        return deliver

    def _send(self, sender: Node, action: Send) -> None:
        if action.channel == "ride":
            # SPEC §11.4: a receipt half goes out only once its entry is stored.
            m = open_ride_message(action.data).message
            if isinstance(m, ReceiptEntry):
                entry = open_entry(m.entry)
                assert ("entry", entry_key(entry.author, entry.message.seq)) in sender.store
        to = self.by_key.get(action.to)
        if to is None:
            self.outbox.append(action)  # to a party outside the network (a test's own)
            return
        self.connect(sender, to)
        key, channel, data = sender.peer.public_key, action.channel, action.data

        def deliver() -> None:
            self.execute(to, to.peer.handle(StreamReceived(self.now_ms, key, channel, data)))

        self.at(self.now_ms + self.latency_ms, deliver)

    def _connect(self, node: Node, other: Node) -> Callable[[], None]:
        def connect() -> None:
            self.execute(node, node.peer.handle(PeerConnected(self.now_ms, other.peer.public_key)))

        return connect

    def _fire(self, node: Node, key: TimerKey, at_ms: int) -> Callable[[], None]:
        def fire() -> None:
            if node.timers.get(key) != at_ms:
                return  # replaced or cancelled
            del node.timers[key]
            self.execute(node, node.peer.handle(TimerFired(self.now_ms, key)))

        return fire

    def _persist(self, node: Node, action: Persist) -> None:
        if action.data is None:
            node.store.pop((action.kind, action.key), None)
        else:
            node.store[(action.kind, action.key)] = action.data


def notes_of(node: Node, kind: type[Notification]) -> list[Notification]:
    return [n for _, n in node.notes if isinstance(n, kind)]


#: When ``offer_drive``'s driver leaves, and the pickup window ``request_ride`` asks for.
DEPARTURE = TimeWindow(NOW_MS + 10 * MINUTE_MS, NOW_MS + 25 * MINUTE_MS)
RIDE_WINDOW = TimeWindow(NOW_MS + 5 * MINUTE_MS, NOW_MS + 40 * MINUTE_MS)
COST = CostShare("ILS", 500, 80)


def offer_drive(
    net: Net, name: str = "driver", *, seats: int = 2, max_detour_m: int = 1_500
) -> bytes:
    """``name`` offers ``seats`` along ``DRIVE``, leaving at ``DEPARTURE``; the offer id."""
    offer_id, actions = net.peer(name).offer(
        route=DRIVE,
        departure=DEPARTURE,
        duration_s=660,
        seats=seats,
        max_detour_m=max_detour_m,
        max_detour_s=300,
        cost=COST,
        expires_ms=NOW_MS + 2 * HOUR_MS,
        now_ms=net.now_ms,
    )
    net.run(name, actions)
    return offer_id


def request_ride(net: Net, name: str, pickup: GeoPoint, dropoff: GeoPoint) -> bytes:
    """``name`` asks for one seat in ``RIDE_WINDOW``, walking up to 400 m; the request id."""
    request_id, actions = new_request(net, name, pickup, dropoff)
    net.run(name, actions)
    return request_id


def new_request(
    net: Net, name: str, pickup: GeoPoint, dropoff: GeoPoint
) -> tuple[bytes, list[Action]]:
    """``request_ride``'s command, its actions not yet run (nothing published)."""
    return net.peer(name).request(
        pickup=pickup,
        dropoff=dropoff,
        window=RIDE_WINDOW,
        seats=1,
        max_walk_m=400,
        expires_ms=NOW_MS + HOUR_MS,
        now_ms=net.now_ms,
    )


def test_net_runs_events_in_time_order_and_honours_timers() -> None:
    net = Net()
    node = net.add("solo", 1)
    assert node.topics and "lazooz/1/ledger" in node.topics
    fired: list[int] = []
    net.at(net.now_ms + 5, lambda: fired.append(2))
    net.at(net.now_ms + 1, lambda: fired.append(1))
    net.run_for(10)
    assert fired == [1, 2]
