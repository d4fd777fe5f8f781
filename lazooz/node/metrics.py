"""The node's Prometheus metrics, in a registry of its own (two nodes in one process do not mix).

Counters move as the Node sees things happen. Two families are read from
snapshots the Peer's task keeps instead: ``lazooz_rejected_total`` is exactly
``Peer.rejected()`` and ``lazooz_rides`` counts ``Peer.rides()`` by state.
Snapshots are plain dicts replaced whole, so the scraping thread never reads
the Peer itself. ``serve`` runs prometheus-client's HTTP server in a thread;
the control server may take the endpoint over later (docs/node.md).
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from threading import Thread
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from protocol.errors import ConfigError, describe
from protocol.peer.ride import RideView
from protocol.ride.states import RideState


class _Snapshots(Collector):
    def __init__(self) -> None:
        self.rejected: Mapping[tuple[str, str], int] = {}
        self.rides: Mapping[str, int] = {s.value: 0 for s in RideState}

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


class NodeMetrics:
    """Every metric of one node."""

    def __init__(self) -> None:
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
            "What the node dropped: publish/send not sent or queue full, input queue full.",
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
        self.net = Counter(
            "lazooz_net_events", "What the network layer counted.", ["area", "what"], registry=r
        )
        self._snapshots = _Snapshots()
        r.register(self._snapshots)

    def set_rejected(self, rejected: Mapping[tuple[str, str], int]) -> None:
        self._snapshots.rejected = dict(rejected)

    def set_rides(self, rides: Iterable[RideView]) -> None:
        by_state: collections.Counter[str] = collections.Counter({s.value: 0 for s in RideState})
        by_state.update(view.state.value for view in rides)
        self._snapshots.rides = dict(by_state)

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
