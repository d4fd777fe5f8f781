"""Gossip propagation in swarms of real daemons on loopback: latency, delivery, CPU.

For each swarm size (``BENCH_GOSSIP_NODES``, default ``20,50``) the bench
starts that many ``lazooz daemon`` processes (``bench.node_swarm``;
bootstrap ``BENCH_GOSSIP_TOPOLOGY``, default ``full``, or ``random:K``), opens every node's
``/v1/events`` stream, and has every node post one ride request along the
demo's Dana route (Noa's trip). Once every node's book holds every other
node's request, gossip reaches everyone: that is the mesh being ready (the
node publishes only once a topic has mesh peers). Then ``PUBLISHERS`` nodes
post offers on that route through the control API, ``RATE_PER_S`` in all
(``BENCH_GOSSIP_RATE``, default 2/s), for ``DURATION_S``
(``BENCH_GOSSIP_DURATION_S``, default 30). Each offer matches every other node's request, so the
node tells its event stream ``CandidatesFound`` the moment it delivers the
offer (``protocol.peer.gossip._offer``); the latency of one delivery is that
event's arrival at the bench minus the moment the bench sent the POST (one
clock: all processes are on this machine). Offers are withdrawn
``WITHDRAW_AFTER_S`` after posting, so republishing adds no traffic.

Reported per run (prefix ``n<nodes>.<topology>.r<rate>.``): p50/p99/max latency against the control
API's own round trip (``GET /v1/status``, sampled through the same window,
a measure of how loaded the daemons are); deliveries against those expected
(ratio = delivery ratio); the daemons' CPU (``/proc``) in the window against
the idle swarm's, and against the machine's cores; the 1-minute load
average; mean daemon RSS. Targets (issue 5): 50 nodes p99 < 1.5 s, 100 %.
With ``BENCH_GOSSIP_DAEMON=tuned`` the daemons run ``bench.node_tuned`` (an
experiment: py-libp2p with the fixes docs/bench.md proposes, metric prefix
``...tuned.``). With ``BENCH_PYSPY`` set, a publisher and an observer are sampled by py-spy
through the window (``bench.node_profile``).
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from bench.node_profile import Recording
from bench.node_swarm import Daemon, Event, EventTap, NodeSwarm, machine, percentile
from bench.report import Result, compare
from lazooz.control.client import ApiError, NodeUnreachable
from lazooz.walkthrough import DRIVERS, RIDERS, densify

MINUTE_MS = 60_000
#: Nodes that post offers, and the offers per second all of them post together.
PUBLISHERS = 5
RATE_PER_S = float(os.environ.get("BENCH_GOSSIP_RATE", "2.0"))
DURATION_S = float(os.environ.get("BENCH_GOSSIP_DURATION_S", "30"))
#: After the last offer, how long deliveries may still arrive.
DRAIN_S = 30.0
#: An offer is withdrawn this long after it was posted (before any republish).
WITHDRAW_AFTER_S = 10.0
#: Own requests are republished this often (+0-30 s jitter): rarely, during the window.
REPUBLISH_S = 120
IDLE_WINDOW_S = 10.0
#: ``lazooz`` (the CLI's daemon) or ``tuned`` (``bench.node_tuned``: py-libp2p's costs cut).
DAEMON = os.environ.get("BENCH_GOSSIP_DAEMON", "lazooz")
MESH_TIMEOUT_S = 300.0


def offer_body(now_ms: int) -> dict[str, Any]:
    plan = DRIVERS[0]
    depart = now_ms + 10 * MINUTE_MS
    return {
        "route": [[p.lat, p.lon] for p in densify(plan.waypoints).points()],
        "departure": {"start_ms": depart, "end_ms": depart + 10 * MINUTE_MS},
        "seats": 3,
        "max_detour_m": 2_500,
        "max_detour_s": 480,
        "cost": {"currency": "ILS", "base_minor": 500, "per_km_minor": 60},
    }


def request_body(now_ms: int) -> dict[str, Any]:
    plan = RIDERS[0]
    start, end = plan.window_in_min
    return {
        "pickup": list(plan.pickup),
        "dropoff": list(plan.dropoff),
        "window": {"start_ms": now_ms + start * MINUTE_MS, "end_ms": now_ms + end * MINUTE_MS},
        "max_walk_m": 300,
    }


@dataclass(slots=True)
class Ledger:
    """Offers posted (by id: publisher, POST time) and first deliveries (offer, node) -> time."""

    posted: dict[str, tuple[str, float]] = field(default_factory=dict)
    seen: dict[tuple[str, str], float] = field(default_factory=dict)
    post_errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_event(self, e: Event) -> None:
        if e.type != "CandidatesFound" or e.data.get("role") != "rider":
            return
        with self.lock:
            for m in e.data["matches"]:
                self.seen.setdefault((m["offer_id"], e.node), e.at)

    def latencies(self) -> list[float]:
        with self.lock:
            return [
                at - self.posted[offer][1]
                for (offer, node), at in self.seen.items()
                if offer in self.posted and node != self.posted[offer][0]
            ]

    def delivered(self) -> int:
        return len(self.latencies())


def _publish(d: Daemon, ledger: Ledger, times: list[float], stop_at: float) -> None:
    """Post an offer at each of ``times`` (monotonic), withdrawing each one later."""
    to_withdraw: list[tuple[float, str]] = []
    for at in times:
        while to_withdraw and to_withdraw[0][0] <= time.monotonic():
            _withdraw(d, to_withdraw.pop(0)[1], ledger)
        time.sleep(max(0.0, at - time.monotonic()))
        sent = time.time()
        try:
            offer = d.api.post("/v1/offers", offer_body(int(sent * 1000)))
        except (ApiError, NodeUnreachable) as exc:
            ledger.post_errors.append(f"{d.name}: {exc}")
            continue
        with ledger.lock:
            ledger.posted[offer["offer_id"]] = (d.name, sent)
        to_withdraw.append((time.monotonic() + WITHDRAW_AFTER_S, offer["offer_id"]))
    for due, offer_id in to_withdraw:
        time.sleep(max(0.0, min(due, stop_at) - time.monotonic()))
        _withdraw(d, offer_id, ledger)


def _withdraw(d: Daemon, offer_id: str, ledger: Ledger) -> None:
    try:
        d.api.post(f"/v1/offers/{offer_id}/withdraw")
    except (ApiError, NodeUnreachable) as exc:
        ledger.post_errors.append(f"{d.name} withdraw: {exc}")


def _sample_rtt(daemons: list[Daemon], out: list[float], stop: threading.Event) -> None:
    i = 0
    while not stop.wait(0.25):
        d = daemons[i % len(daemons)]
        i += 1
        t0 = time.perf_counter()
        try:
            d.api.get("/v1/status")
        except (ApiError, NodeUnreachable):
            continue
        out.append(time.perf_counter() - t0)


def _book_requests(d: Daemon) -> int:
    try:
        n: int = d.api.get("/v1/status")["book"]["requests"]
    except (ApiError, NodeUnreachable):
        return -1
    return n


def _connected(d: Daemon) -> int:
    try:
        n: int = d.api.get("/v1/status")["connected"]
    except (ApiError, NodeUnreachable):
        return -1
    return n


def measure(n: int, topology: str) -> list[Result]:
    """One swarm of ``n`` daemons, start to close; its results (prefix: the module doc)."""
    ledger = Ledger()
    tap = EventTap(ledger.on_event)
    argv = None
    if DAEMON == "tuned":
        argv = lambda d: [  # noqa: E731
            sys.executable,
            "-m",
            "bench.node_tuned",
            "daemon",
            "--data-dir",
            str(d.data_dir),
        ]
    with NodeSwarm(n, topology, republish_s=REPUBLISH_S, argv=argv) as swarm:
        try:
            return _measure(swarm, n, topology, ledger, tap)
        finally:
            tap.close()


def _measure(
    swarm: NodeSwarm, n: int, topology: str, ledger: Ledger, tap: EventTap
) -> list[Result]:
    up_s = swarm.start()
    daemons = swarm.daemons
    want_peers = n - 1 if topology == "full" else 1
    swarm.wait(
        "every node connected",
        lambda: all(_connected(d) >= want_peers for d in daemons),
        MESH_TIMEOUT_S,
    )
    tap.open(daemons)
    t0 = time.monotonic()
    for d in daemons:
        d.api.post("/v1/requests", request_body(int(time.time() * 1000)))
    swarm.wait(
        "every request in every node's book",
        lambda: all(_book_requests(d) >= n - 1 for d in daemons),
        MESH_TIMEOUT_S,
    )
    mesh_s = time.monotonic() - t0
    rss_before = statistics.mean(swarm.rss_bytes())

    # The idle swarm (connected, requests booked) as the CPU baseline.
    recording = Recording.from_env()
    tag = f"n{n}.{topology.replace(':', '')}"
    if recording is not None:
        recording.start({f"{tag}.idle.observer": daemons[-1].pid}, IDLE_WINDOW_S)
    cpu0, w0 = swarm.cpu_seconds(), time.monotonic()
    time.sleep(IDLE_WINDOW_S)
    idle_cpu_per_s = (swarm.cpu_seconds() - cpu0) / (time.monotonic() - w0)
    if recording is not None:
        recording.stop()

    rtts: list[float] = []
    stop = threading.Event()
    sampler = threading.Thread(target=_sample_rtt, args=(daemons, rtts, stop), daemon=True)
    publishers = daemons[:PUBLISHERS]
    period = len(publishers) / RATE_PER_S
    start = time.monotonic() + 1.0
    end = start + DURATION_S
    threads = []
    for k, d in enumerate(publishers):
        first = start + k * period / len(publishers)
        times = [first + i * period for i in range(int(DURATION_S / period))]
        threads.append(
            threading.Thread(target=_publish, args=(d, ledger, times, end + DRAIN_S), daemon=True)
        )
    if recording is not None:
        pids = {f"{tag}.publisher": daemons[0].pid, f"{tag}.observer": daemons[-1].pid}
        recording.start(pids, DURATION_S + WITHDRAW_AFTER_S)
    cpu0, w0 = swarm.cpu_seconds(), time.monotonic()
    sampler.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expected = len(ledger.posted) * (n - 1)
    drain_end = time.monotonic() + DRAIN_S
    while ledger.delivered() < expected and time.monotonic() < drain_end:
        swarm.check_alive()
        time.sleep(0.2)
    cpu_s, wall_s = swarm.cpu_seconds() - cpu0, time.monotonic() - w0
    stop.set()
    sampler.join()
    if recording is not None:
        recording.stop()
    env = machine()
    rss_after = statistics.mean(swarm.rss_bytes())

    lat = ledger.latencies()
    p = f"n{n}.{topology.replace(':', '')}.r{RATE_PER_S:g}." + (
        "tuned." if DAEMON == "tuned" else ""
    )
    rtt50, rtt99 = percentile(rtts, 0.5), percentile(rtts, 0.99)
    if ledger.post_errors:
        print(f"{p} {len(ledger.post_errors)} API errors, first: {ledger.post_errors[0]}")
    return [
        compare(p + "gossip_p50_vs_api_rtt", percentile(lat, 0.5), rtt50, "s"),
        compare(p + "gossip_p99_vs_api_rtt_p99", percentile(lat, 0.99), rtt99, "s"),
        compare(p + "gossip_max_vs_api_rtt_p99", max(lat, default=float("nan")), rtt99, "s"),
        compare(p + "delivered_vs_expected", len(lat), expected, "deliveries"),
        compare(
            p + "offers_posted_vs_planned", len(ledger.posted), RATE_PER_S * DURATION_S, "offers"
        ),
        compare(p + "daemon_cpu_vs_idle_swarm", cpu_s / wall_s, idle_cpu_per_s, "cpu-s/s"),
        compare(p + "daemon_cpu_vs_machine", cpu_s / wall_s, env["cpus"], "cpu-s/s"),
        compare(p + "loadavg_1m_vs_cpus", env["loadavg_1m"], env["cpus"], "load"),
        compare(p + "daemon_rss_mean_vs_before", rss_after / 2**20, rss_before / 2**20, "MiB"),
        compare(p + "startup_s_vs_daemons", up_s, n, "s"),
        compare(p + "mesh_ready_s_vs_startup", mesh_s, up_s, "s"),
    ]


def run() -> list[Result]:
    sizes = [int(s) for s in os.environ.get("BENCH_GOSSIP_NODES", "20,50").split(",") if s]
    topology = os.environ.get("BENCH_GOSSIP_TOPOLOGY", "full")
    results: list[Result] = []
    for n in sizes:
        results.extend(measure(n, topology))
    return results
