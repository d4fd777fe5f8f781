"""The simulated network: the shell that executes every Peer action in virtual time.

Each member's device is a ``Host`` holding one ``protocol.peer.Peer`` (the
code the node ships), its store (a dict of ``Persist`` records), its topics
and its timers. ``Network`` implements docs/peer.md §11.14 over the
``Engine``:

- ``Publish`` reaches every other current subscriber of the topic after a
  latency drawn from the model, unless lost or cut off by a partition; the
  receiver runs ``validate_gossip`` and, when accepted, ``gossip_received``,
  as the node's libp2p validator does.
- ``Send`` reaches every online device of the recipient's key, in order per
  direction (a stream); the first frame between two hosts opens a connection,
  and ``peer_connected`` runs on both ends.
- ``SetTimer`` fires once at its time unless replaced or cancelled.
- ``Persist`` writes the host's store; ``Notify`` goes to the host's agent.

Churn takes hosts off the network for a while (frames to them are dropped;
on return every connection they had reopens with ``peer_connected`` on both
ends) and, with the ``restart`` share, rebuilds their Peer from the store.
A partition cuts a group of hosts off from the rest for a window; when it
heals, the connections it cut reopen.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import Any

from protocol.fields import GeoPoint, PublicKey
from protocol.identity import Identity
from protocol.peer.actions import (
    Action,
    CancelTimer,
    Notify,
    Persist,
    Publish,
    Send,
    SetTimer,
    Subscribe,
    TimerKey,
    Unsubscribe,
)
from protocol.peer.gossip import Accepted
from protocol.peer.params import PeerParams
from protocol.peer.peer import Peer
from protocol.shared import SharedOpening
from sim.engine import Engine, derive_rng
from sim.hosts import Host, Listener, NetParams, Totals

#: The normal quantile of 0.99: a lognormal's p99 is ``median * exp(Z99 * sigma)``.
Z99 = 2.3263478740408408


class Network:
    """Hosts joined by gossip topics and streams, in the engine's virtual time."""

    def __init__(
        self, engine: Engine, params: NetParams, seed: int, *, share_opening: bool = False
    ) -> None:
        self.engine = engine
        self.params = params
        #: One ``SharedOpening`` for every Peer (``share_opening``), made with the first.
        self._share_opening = share_opening
        self._shared: SharedOpening | None = None
        self.rng = derive_rng(seed, "network")
        self._mu = math.log(params.latency_median_ms)
        self._sigma = max(0.0, (math.log(params.latency_p99_ms) - self._mu) / Z99)
        self.hosts: list[Host] = []
        self.by_key: dict[PublicKey, list[Host]] = {}
        self._subs: dict[str, dict[int, Host]] = {}
        self._connected: set[tuple[int, int]] = set()
        #: Connections a host had when it went offline, or a partition cut.
        self._dropped: dict[tuple[int, int], None] = {}
        self._last_frame: dict[tuple[int, int], int] = {}
        self.totals = Totals()
        self._seed = seed
        for i, p in enumerate(params.partitions):
            engine.at(p.start_ms, self._partition_starts, i)
            engine.at(p.end_ms, self._partition_heals, i)
        self._active_partitions: set[int] = set()

    # -- membership

    def join(
        self,
        name: str,
        identity: Identity,
        home: GeoPoint,
        params: PeerParams,
        seed: int,
        listener: Listener | None = None,
        churns: bool = False,
    ) -> Host:
        """A new device starts its Peer now; ``churns`` puts it under the churn model."""
        now = self.engine.now_ms
        peer = Peer(identity, home, random.Random(seed), params, shared=self._opening(params))
        groups = frozenset(
            i for i, p in enumerate(self.params.partitions) if self.rng.random() < p.share
        )
        host = Host(
            index=len(self.hosts),
            name=name,
            identity=identity,
            home=home,
            params=params,
            seed=seed,
            peer=peer,
            listener=listener,
            joined_ms=now,
            groups=groups,
        )
        host._online_since = now
        self.hosts.append(host)
        self.by_key.setdefault(identity.public_key, []).append(host)
        self.execute(host, peer.start(now))
        self._bootstrap(host)
        if churns:
            self._schedule_leave(host)
        return host

    def _bootstrap(self, host: Host) -> None:
        """Connect ``host`` to up to ``bootstrap`` online hosts drawn at random (a few
        draws each: offline hosts, itself and repeats are skipped, not redrawn forever)."""
        chosen: list[Host] = []
        for _ in range(3 * self.params.bootstrap):
            if len(chosen) >= self.params.bootstrap:
                break
            other = self.hosts[self.rng.randrange(len(self.hosts))]
            if other.key == host.key or other in chosen or not self._reachable(host, other):
                continue
            chosen.append(other)
        for other in chosen:
            if _pair(host, other) not in self._connected:
                self._open(host, other)

    def _opening(self, params: PeerParams) -> SharedOpening | None:
        """The opening work all Peers share: gossip bytes are opened once, not per receiver
        (protocol.shared; a Peer under another validation policy opens its own)."""
        if not self._share_opening:
            return None
        if self._shared is None:
            self._shared = SharedOpening(params.validation)
        return self._shared

    def leave(self, host: Host) -> None:
        """The member closes the app for good: off the network, timers stop."""
        if host.left_ms is not None:
            return
        self._go_offline(host)
        host.left_ms = self.engine.now_ms
        host.timers.clear()
        for topic in list(host.topics):
            self._unsubscribe(host, topic)

    def command(self, host: Host, run: Callable[[Peer], list[Action]]) -> None:
        """Run a user command on ``host``'s Peer and execute its actions."""
        self.execute(host, run(host.peer))

    # -- churn and partitions

    def _schedule_leave(self, host: Host) -> None:
        c = self.params.churn
        self.engine.after(
            max(1, round(self.rng.expovariate(1 / c.mean_online_ms))), self._churn_off, host
        )

    def _churn_off(self, host: Host) -> None:
        if host.left_ms is not None or not host.online:
            return
        self._go_offline(host)
        c = self.params.churn
        back = max(1, round(self.rng.expovariate(1 / c.mean_offline_ms)))
        self.engine.after(back, self._churn_on, host)

    def _churn_on(self, host: Host) -> None:
        if host.left_ms is not None:
            return
        if self.rng.random() < self.params.churn.restart:
            self.restart(host)
        self._go_online(host)
        self._schedule_leave(host)

    def restart(self, host: Host) -> None:
        """The app was killed: a new Peer from what the store kept, started now."""
        stored = [(kind, key, data) for (kind, key), data in sorted(host.store.items())]
        host.peer = Peer(
            host.identity,
            host.home,
            random.Random(host.seed + host.restarts + 1),
            host.params,
            stored,
            shared=self._opening(host.params),
        )
        host.restarts += 1
        host.epoch += 1
        host.timers.clear()
        for topic in list(host.topics):
            self._unsubscribe(host, topic)
        self.execute(host, host.peer.start(self.engine.now_ms))

    def _go_offline(self, host: Host) -> None:
        if not host.online:
            return
        host.online = False
        host.online_ms += self.engine.now_ms - host._online_since
        for pair in [p for p in self._connected if host.index in p]:
            self._connected.discard(pair)
            self._dropped[pair] = None

    def _go_online(self, host: Host) -> None:
        host.online = True
        host._online_since = self.engine.now_ms
        self._reopen(lambda pair: host.index in pair)

    def _partition_starts(self, index: int) -> None:
        self._active_partitions.add(index)
        for pair in sorted(self._connected):
            if self._cut(self.hosts[pair[0]], self.hosts[pair[1]]):
                self._connected.discard(pair)
                self._dropped[pair] = None

    def _partition_heals(self, index: int) -> None:
        self._active_partitions.discard(index)
        self._reopen(lambda pair: True)

    def _reopen(
        self,
        which: Callable[
            [
                tuple[int, int],
            ],
            bool,
        ],
    ) -> None:
        """Reconnect dropped connections whose ends are both reachable again."""
        for pair in [p for p in self._dropped if which(p)]:
            a, b = self.hosts[pair[0]], self.hosts[pair[1]]
            if not (a.online and b.online) or self._cut(a, b):
                continue
            del self._dropped[pair]
            self.totals.reconnections += 1
            self._open(a, b)

    def _cut(self, a: Host, b: Host) -> bool:
        return any((i in a.groups) != (i in b.groups) for i in self._active_partitions)

    def _reachable(self, a: Host, b: Host) -> bool:
        return (
            b.online
            and a.online
            and b.left_ms is None
            and not (self._active_partitions and self._cut(a, b))
        )

    # -- executing actions

    def execute(self, host: Host, actions: Sequence[Action]) -> None:
        """Execute a Peer's actions in order (docs/peer.md §11.4)."""
        for action in actions:
            kind = type(action)
            if kind is Publish:
                assert isinstance(action, Publish)
                self.publish(host, action.topic, action.data)
            elif kind is Send:
                assert isinstance(action, Send)
                self._send(host, action)
            elif kind is SetTimer:
                assert isinstance(action, SetTimer)
                if host.left_ms is None:
                    host.timers[action.key] = action.at_ms
                    self.engine.at(
                        action.at_ms, self._fire, (host, action.key, action.at_ms, host.epoch)
                    )
            elif kind is CancelTimer:
                assert isinstance(action, CancelTimer)
                host.timers.pop(action.key, None)
            elif kind is Persist:
                assert isinstance(action, Persist)
                if action.data is None:
                    host.store.pop((action.kind, action.key), None)
                else:
                    host.store[(action.kind, action.key)] = action.data
            elif kind is Notify:
                assert isinstance(action, Notify)
                if host.listener is not None:
                    host.listener.notice(host, action.event)
            elif kind is Subscribe:
                assert isinstance(action, Subscribe)
                host.topics.add(action.topic)
                self._subs.setdefault(action.topic, {})[host.index] = host
            else:
                assert isinstance(action, Unsubscribe)
                self._unsubscribe(host, action.topic)

    def _unsubscribe(self, host: Host, topic: str) -> None:
        host.topics.discard(topic)
        subs = self._subs.get(topic)
        if subs is not None:
            subs.pop(host.index, None)

    def latency_ms(self) -> int:
        return max(1, round(math.exp(self._mu + self._sigma * self.rng.gauss(0.0, 1.0))))

    def publish(self, host: Host, topic: str, data: bytes) -> None:
        """Gossip ``data`` on ``topic`` from ``host`` (also the adversaries' raw path)."""
        self.totals.published += 1
        host.sent_msgs += 1
        host.sent_bytes += len(data)
        if not host.online:
            return
        subs = self._subs.get(topic)
        if not subs:
            return
        rng = self.rng
        loss = self.params.loss
        at = self.engine.at
        now = self.engine.now_ms
        mu, sigma = self._mu, self._sigma
        cut = bool(self._active_partitions)
        for other in list(subs.values()):
            if other is host or not other.online:
                continue
            if cut and self._cut(host, other):
                self.totals.cut += 1
                continue
            if loss and rng.random() < loss:
                self.totals.lost += 1
                continue
            delay = max(1, round(math.exp(mu + sigma * rng.gauss(0.0, 1.0))))
            at(now + delay, self._deliver_gossip, (other, topic, data))

    def _deliver_gossip(self, arg: tuple[Host, str, bytes]) -> None:
        host, topic, data = arg
        if not host.online or topic not in host.topics:
            return
        self.totals.gossip_deliveries += 1
        host.recv_msgs += 1
        host.recv_bytes += len(data)
        now = self.engine.now_ms
        peer = host.peer
        if isinstance(peer.validate_gossip(topic, data, now), Accepted):
            self.execute(host, peer.gossip_received(topic, data, now))

    def _send(self, host: Host, action: Send) -> None:
        host.sent_msgs += 1
        host.sent_bytes += len(action.data)
        targets = self.by_key.get(action.to)
        if not targets:
            self.totals.unknown_key += 1
            return
        for to in targets:
            if to is host:
                continue
            if not self._reachable(host, to):
                self.totals.to_offline += 1
                if to.left_ms is None:
                    self._dropped[_pair(host, to)] = None
                continue
            if _pair(host, to) not in self._connected:
                self._open(host, to)
            self._frame(host, to, action.channel, action.data)

    def _open(self, a: Host, b: Host) -> None:
        """A connection opens: ``peer_connected`` on both ends (a at once, b on arrival)."""
        self._connected.add(_pair(a, b))
        self.totals.connections += 1
        self.execute(a, a.peer.peer_connected(b.key, self.engine.now_ms))
        self._schedule_frame(a, b, self._connect, (b, a))

    def _frame(self, host: Host, to: Host, channel: str, data: bytes) -> None:
        if self.params.loss and self.rng.random() < self.params.loss:
            self.totals.lost += 1
            return
        self._schedule_frame(host, to, self._deliver_frame, (host, to, channel, data))

    def _schedule_frame(
        self, host: Host, to: Host, fn: Callable[[Any], object], arg: object
    ) -> None:
        # A stream is ordered: never deliver before an earlier frame on it.
        lane = (host.index, to.index)
        when = max(self.engine.now_ms + self.latency_ms(), self._last_frame.get(lane, 0))
        self._last_frame[lane] = when
        self.engine.at(when, fn, arg)

    def _connect(self, arg: tuple[Host, Host]) -> None:
        host, other = arg
        if _pair(host, other) in self._connected and host.online:
            self.execute(host, host.peer.peer_connected(other.key, self.engine.now_ms))

    def _deliver_frame(self, arg: tuple[Host, Host, str, bytes]) -> None:
        sender, host, channel, data = arg
        if _pair(sender, host) not in self._connected or not host.online:
            self.totals.to_offline += 1
            return
        self.totals.frames += 1
        host.recv_msgs += 1
        host.recv_bytes += len(data)
        assert channel in ("ride", "sync")
        self.execute(
            host,
            host.peer.stream_received(
                sender.key, "ride" if channel == "ride" else "sync", data, self.engine.now_ms
            ),
        )

    def _fire(self, arg: tuple[Host, TimerKey, int, int]) -> None:
        host, key, at_ms, epoch = arg
        if host.epoch != epoch or host.timers.get(key) != at_ms:
            return  # replaced, cancelled, or set by an earlier Peer of this host
        del host.timers[key]
        self.execute(host, host.peer.timer_fired(key, self.engine.now_ms))

    def finish(self) -> None:
        """Close the books at the end of a run: online time of hosts still up."""
        now = self.engine.now_ms
        for host in self.hosts:
            if host.online:
                host.online_ms += now - host._online_since
                host._online_since = now


def _pair(a: Host, b: Host) -> tuple[int, int]:
    return (a.index, b.index) if a.index < b.index else (b.index, a.index)
