"""Request-to-confirmed-match latency between two real daemons on loopback.

A driver node posts one offer (Dana's route, 8 seats); once the rider node's
book holds it, each of ``SAMPLES`` rounds times, on the bench's clock, what
a rider and a driver do in the demo (``lazooz.demo.script``) with the
default ride policy (the driver accepts and confirms by hand):

1. the rider posts a request (Noa's trip) — ``t0``;
2. the rider's event stream shows the candidate (``CandidatesFound``), and
   the rider proposes a ride on it (``POST /v1/rides``);
3. the driver's stream shows the proposal; the driver accepts;
4. the driver's stream shows the revealed points (the exact check passed);
   the driver confirms;
5. both streams show the ride ``confirmed`` — ``t1``.

Every step reacts to an event-stream line, not a poll, so the bench adds
milliseconds. The rider then cancels, freeing the seat for the next round.
Reported: p50/p90/max of ``t1 - t0``, and p50 of each step, against the
control API's own round trip (``GET /v1/status``) measured on the same two
nodes; the daemons' CPU over the rounds; the load average. Target (issue 5):
p50 < 2 s.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.node_gossip import offer_body, request_body
from bench.node_swarm import Daemon, Event, EventTap, NodeSwarm, SwarmError, machine, percentile
from bench.report import Result, compare

SAMPLES = int(os.environ.get("BENCH_MATCH_SAMPLES", "25"))
#: Seconds one step may take before the round is counted as failed.
STEP_TIMEOUT_S = 30.0
STEPS = ("candidate", "proposed", "revealed", "confirmed")


@dataclass(slots=True)
class Inbox:
    """Every event of every node, in arrival order; ``wait`` finds one matching a predicate."""

    events: list[Event] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def put(self, e: Event) -> None:
        with self.cond:
            self.events.append(e)
            self.cond.notify_all()

    def mark(self) -> int:
        with self.cond:
            return len(self.events)

    def wait(self, what: str, since: int, match: Callable[[Event], bool]) -> Event:
        deadline = time.monotonic() + STEP_TIMEOUT_S
        with self.cond:
            while True:
                for e in self.events[since:]:
                    if match(e):
                        return e
                since = len(self.events)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SwarmError(f"no event for {what} in {STEP_TIMEOUT_S:.0f} s")
                self.cond.wait(left)


def _ride_event(node: str, ride_id: str, state: str) -> Callable[[Event], bool]:
    def match(e: Event) -> bool:
        return (
            e.node == node
            and e.type == "RideUpdated"
            and e.data["ride_id"] == ride_id
            and e.data["state"] == state
        )

    return match


def one_round(driver: Daemon, rider: Daemon, inbox: Inbox) -> dict[str, float]:
    """One request to a ride confirmed on both; seconds from the request to each step."""
    since = inbox.mark()
    t0 = time.time()
    request_id = rider.api.post("/v1/requests", request_body(int(t0 * 1000)))["request_id"]
    found = inbox.wait(
        "the candidate",
        since,
        lambda e: (
            e.node == rider.name and e.type == "CandidatesFound" and e.data["own_id"] == request_id
        ),
    )
    offer_id = found.data["matches"][0]["offer_id"]
    ride_id = rider.api.post("/v1/rides", {"request_id": request_id, "offer_id": offer_id})[
        "ride_id"
    ]
    proposed = inbox.wait("the proposal", since, _ride_event(driver.name, ride_id, "proposed"))
    driver.api.post(f"/v1/rides/{ride_id}/accept")
    revealed = inbox.wait("the reveal", since, _ride_event(driver.name, ride_id, "revealed"))
    driver.api.post(f"/v1/rides/{ride_id}/confirm")
    both = [
        inbox.wait(f"{who.name} confirmed", since, _ride_event(who.name, ride_id, "confirmed"))
        for who in (driver, rider)
    ]
    steps = {
        "candidate": found.at - t0,
        "proposed": proposed.at - t0,
        "revealed": revealed.at - t0,
        "confirmed": max(e.at for e in both) - t0,
    }
    rider.api.post(f"/v1/rides/{ride_id}/cancel", {"reason": "changed_mind"})
    inbox.wait("the cancel", since, _ride_event(driver.name, ride_id, "cancelled"))
    return steps


def _api_rtt(daemons: list[Daemon], rounds: int = 20) -> list[float]:
    out = []
    for i in range(rounds):
        t0 = time.perf_counter()
        daemons[i % len(daemons)].api.get("/v1/status")
        out.append(time.perf_counter() - t0)
    return out


def _offers_booked(d: Daemon) -> bool:
    n: int = d.api.get("/v1/status")["book"]["offers"]
    return n >= 1


def run() -> list[Result]:
    inbox = Inbox()
    tap = EventTap(inbox.put)
    with NodeSwarm(2) as swarm:
        try:
            return _measure(swarm, inbox, tap)
        finally:
            tap.close()


def _measure(swarm: NodeSwarm, inbox: Inbox, tap: EventTap) -> list[Result]:
    swarm.start()
    driver, rider = swarm.daemons
    tap.open(swarm.daemons)
    body: dict[str, Any] = {**offer_body(int(time.time() * 1000)), "seats": 8}
    driver.api.post("/v1/offers", body)
    swarm.wait("the offer in the rider's book", lambda: _offers_booked(rider), 120.0)
    rtt = _api_rtt(swarm.daemons)
    cpu0, w0 = swarm.cpu_seconds(), time.monotonic()
    rounds = [one_round(driver, rider, inbox) for _ in range(SAMPLES)]
    cpu_s, wall_s = swarm.cpu_seconds() - cpu0, time.monotonic() - w0
    rtt += _api_rtt(swarm.daemons)
    env = machine()
    total = [r["confirmed"] for r in rounds]
    rtt50 = percentile(rtt, 0.5)
    results = [
        compare("match_p50_vs_api_rtt", percentile(total, 0.5), rtt50, "s"),
        compare("match_p90_vs_api_rtt", percentile(total, 0.9), rtt50, "s"),
        compare("match_max_vs_api_rtt", max(total), rtt50, "s"),
    ]
    results += [
        compare(f"step_{s}_p50_vs_api_rtt", percentile([r[s] for r in rounds], 0.5), rtt50, "s")
        for s in STEPS[:-1]
    ]
    results += [
        compare("samples_vs_planned", len(rounds), SAMPLES, "rides"),
        compare("daemon_cpu_vs_machine", cpu_s / wall_s, env["cpus"], "cpu-s/s"),
        compare("loadavg_1m_vs_cpus", env["loadavg_1m"], env["cpus"], "load"),
    ]
    return results
