"""The node's Prometheus metrics, in a registry of its own (two nodes in one process do not mix).

Counters move as the Node sees things happen. Some families are read from
snapshots the Peer's task keeps instead: ``lazooz_rejected_total`` is exactly
``Peer.rejected()``, ``lazooz_rides`` counts ``Peer.rides()`` by state, and
the ``lazooz_sync_*`` gauges come from ``Peer.sync_behind()`` (docs/node.md,
"Sync lag").
Snapshots are plain dicts replaced whole, so the scraping thread never reads
the Peer itself. ``serve`` runs prometheus-client's HTTP server in a thread;
the control server may take the endpoint over later (docs/node.md).
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from threading import Thread
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from protocol.errors import ConfigError, describe
from protocol.fields import PublicKey
from protocol.peer.ride import RideView
from protocol.ride.states import RideState


class _Snapshots(Collector):
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.rejected: Mapping[tuple[str, str], int] = {}
        self.rides: Mapping[str, int] = {s.value: 0 for s in RideState}
        #: Entries and logs behind (``Peer.sync_behind()``), and since when (``clock``).
        self.sync_entries = 0
        self.sync_logs = 0
        self.behind_since: float | None = None

    def collect(self) -> Iterable[Metric]:
        rejected = CounterMetricFamily(
            "lazooz_rejected",
            "Remote input the Peer dropped, by channel and reason (Peer.rejected()).",
            labels=["channel", "reason"],
        )
        for (channel, reason), n in sorted(self.rejected.items()):
            rejected.add_metric([channel, reason], n)
        yield rejected
        rides = GaugeMetricFamily(
            "lazooz_rides", "Rides the Peer holds, by state.", labels=["state"]
        )
        for state, n in sorted(self.rides.items()):
            rides.add_metric([state], n)
        yield rides
        yield GaugeMetricFamily(
            "lazooz_sync_behind_entries",
            "Ledger entries peers' last heads show and this node does not hold yet.",
            value=self.sync_entries,
        )
        yield GaugeMetricFamily(
            "lazooz_sync_behind_logs",
            "Member logs of which peers' last heads show entries this node does not hold.",
            value=self.sync_logs,
        )
        since = self.behind_since
        yield GaugeMetricFamily(
            "lazooz_sync_lag_seconds",
            "Seconds since this node last held everything peers' heads show (0: caught up).",
            value=0.0 if since is None else max(0.0, self.clock() - since),
        )


class NodeMetrics:
    """Every metric of one node; ``clock`` (monotonic seconds) times the sync lag."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.registry = r = CollectorRegistry()
        self.messages_in = Counter(
            "lazooz_messages_in",
            "Messages handed to the Peer: gossip delivered, frames received.",
            ["channel"],
            registry=r,
        )
        self.messages_out = Counter(
            "lazooz_messages_out",
            "Messages that went out: gossip published, frames written.",
            ["channel"],
            registry=r,
        )
        self.dropped = Counter(
            "lazooz_dropped",
            "What the node dropped: publish/send not sent or queue full, input queue full, "
            "notification commands queued too long (notify).",
            ["what", "reason"],
            registry=r,
        )
        self.matches = Counter("lazooz_matches", "New candidate matches found.", registry=r)
        self.receipts = Counter("lazooz_receipts", "Rides with both receipt halves.", registry=r)
        self.notifications = Counter(
            "lazooz_notifications", "Notifications by kind.", ["kind"], registry=r
        )
        self.peers = Gauge("lazooz_peers", "Members connected now.", registry=r)
        self.input_queue = Gauge("lazooz_input_queue", "Inputs waiting for the Peer.", registry=r)
        self.timers = Gauge("lazooz_timers", "Peer timers set.", registry=r)
        self.store_batch_seconds = Histogram(
            "lazooz_store_batch_seconds",
            "Time to make one batch of Persist actions durable.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0),
            registry=r,
        )
        self.notify_commands = Counter(
            "lazooz_notify_commands",
            "Desktop-notification commands run (notify.command), by outcome: "
            "ok, missing, exit_status, timeout, os_error.",
            ["outcome"],
            registry=r,
        )
        self.net = Counter(
            "lazooz_net_events", "What the network layer counted.", ["area", "what"], registry=r
        )
        self._snapshots = _Snapshots(clock)
        r.register(self._snapshots)

    def set_rejected(self, rejected: Mapping[tuple[str, str], int]) -> None:
        self._snapshots.rejected = dict(rejected)

    def set_rides(self, rides: Iterable[RideView]) -> None:
        by_state: collections.Counter[str] = collections.Counter({s.value: 0 for s in RideState})
        by_state.update(view.state.value for view in rides)
        self._snapshots.rides = dict(by_state)

    def set_sync(self, behind: Mapping[PublicKey, int]) -> None:
        """What sync has yet to fetch, per log (``Peer.sync_behind()``); starts or stops the lag."""
        snap = self._snapshots
        snap.sync_entries = sum(behind.values())
        snap.sync_logs = len(behind)
        if not behind:
            snap.behind_since = None
        elif snap.behind_since is None:
            snap.behind_since = snap.clock()

    def rides_by_state(self) -> Mapping[str, int]:
        return self._snapshots.rides

    def value(self, name: str, labels: Mapping[str, str] | None = None) -> float:
        """One sample's value (0 if absent): for tests and the status endpoint."""
        found = self.registry.get_sample_value(name, dict(labels or {}))
        return 0.0 if found is None else found


@dataclass
class MetricsServer:
    """prometheus-client's HTTP server, serving one registry from a thread."""

    server: WSGIServer
    thread: Thread

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve(metrics: NodeMetrics, host: str, port: int) -> MetricsServer:
    """Serve ``/metrics`` on ``host:port`` (0: a free port) until ``close``.

    A port that cannot be had is a ``ConfigError`` naming ``metrics.port``.
    """
    try:
        server, thread = start_http_server(port, addr=host, registry=metrics.registry)
    except OSError as exc:
        rule = f"cannot serve metrics on {host}:{port}: {exc.strerror}; pick another port, or 0"
        raise ConfigError(describe("metrics.port", port, rule)) from None
    return MetricsServer(server, thread)
