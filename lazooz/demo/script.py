"""The demo's scripted morning, driven through each daemon's control API.

Two drivers (Dana, Yossi) offer their Tel Aviv commutes from the walk-through;
four riders request. Noa and Amir both ride with Dana (the pooled ride), Lior
rides with Yossi, Maya proposes to her best candidate and then cancels with a
reason. Every ride that goes ahead is confirmed, started with the rider's PIN,
finished, and its receipt signed by both. Then every node is asked for every
member's balance until all nodes agree.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from lazooz.control.client import ApiError, Client, NodeUnreachable
from lazooz.demo.swarm import Daemon, Swarm, SwarmError
from lazooz.walkthrough import DRIVERS, RIDERS, DriverPlan, RiderPlan, densify

MINUTE_MS = 60_000
#: Seconds any one step (gossip to arrive, a ride message to be answered) may take.
STEP_TIMEOUT_S = 60.0
#: Seconds the balances may take to agree on every node at the end.
SYNC_TIMEOUT_S = 90.0
#: The cancelling rider's reason (docs/node.md, Control API: cancel).
CANCEL_REASON = "changed_mind"
#: Seconds the picked-up riders are "driven". The demo cannot fast-forward the
#: daemons' clocks, and credit rule v1 pays nothing for a ride faster than
#: 150 km/h on average (SPEC §10.2), so each driver reports the distance covered
#: at ``DRIVE_SPEED_MPS`` in the time the ride really lasted, never more than
#: the planned shared distance.
DRIVE_S = 12.0
DRIVE_SPEED_MPS = 25.0  # 90 km/h

T = TypeVar("T")


@dataclass(slots=True)
class Cast:
    """Who plays what: names in start order, and each member's plan."""

    drivers: list[DriverPlan]
    riders: list[RiderPlan]

    @classmethod
    def of(cls, members: int) -> Cast:
        if members < 5:
            raise SwarmError(
                f"members={members}: the script needs at least 5 "
                "(2 drivers, 2 riders to pool, 1 to cancel)"
            )
        n_drivers = max(2, members // 3)
        drivers = [DRIVERS[i % len(DRIVERS)] for i in range(n_drivers)]
        riders = [RIDERS[i % len(RIDERS)] for i in range(members - n_drivers)]
        return cls(_unique(drivers), _unique(riders))

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.drivers] + [p.name for p in self.riders]


def _unique(plans: list[Any]) -> list[Any]:
    seen: dict[str, int] = {}
    out = []
    for p in plans:
        n = seen.get(p.name, 0)
        seen[p.name] = n + 1
        out.append(p if n == 0 else type(p)(**{**_fields(p), "name": f"{p.name}{n + 1}"}))
    return out


def _fields(p: Any) -> dict[str, Any]:
    return {k: getattr(p, k) for k in p.__slots__}


@dataclass(slots=True)
class RideLog:
    rider: str
    driver: str
    ride_id: str
    outcome: str = "proposed"
    shared_m: float = 0.0
    picked_up_at: float = 0.0
    distance_m: int = 0
    pooled: bool = False
    cancel_reason: str | None = None


@dataclass(slots=True)
class Progress:
    """What the script did, for the live view and the JSON summary."""

    phase: str = "starting daemons"
    matches: int = 0
    rides: list[RideLog] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    statuses: dict[str, dict[str, Any]] = field(default_factory=dict)
    balances: dict[str, dict[str, int]] = field(default_factory=dict)  # node -> member -> milli
    balances_agree: bool | None = None

    def say(self, line: str) -> None:
        self.log.append(line)


class Script:
    def __init__(self, swarm: Swarm, cast: Cast, refresh: Callable[[], None]) -> None:
        self.swarm = swarm
        self.cast = cast
        self.refresh = refresh
        self.progress = Progress()
        self.by_name = {d.name: d for d in swarm.daemons}
        self.offers: dict[str, str] = {}  # driver -> offer_id
        self.requests: dict[str, str] = {}  # rider -> request_id
        self._last_poll = 0.0

    # -- polling

    def poll_statuses(self, force: bool = False) -> None:
        if not force and time.monotonic() - self._last_poll < 0.5:
            return
        self._last_poll = time.monotonic()
        for d in self.swarm.daemons:
            with contextlib.suppress(ApiError, NodeUnreachable):
                self.progress.statuses[d.name] = d.api.get("/v1/status")
        self.refresh()

    def wait(
        self, what: str, probe: Callable[[], T | None], timeout_s: float = STEP_TIMEOUT_S
    ) -> T:
        """``probe`` once it answers something other than None, re-asked on every daemon's events.

        The live view is refreshed at each look (at most every 0.5 s).
        """

        def check() -> T | None:
            for d in self.swarm.daemons:
                if d.process is not None and d.process.poll() is not None:
                    raise SwarmError(f"the daemon of {d.name} died:\n{d.log_tail()}")
            self.poll_statuses()
            return probe()

        try:
            return self.swarm.watch.wait(what, check, timeout_s)
        except TimeoutError as exc:
            raise SwarmError(str(exc)) from None

    def api(self, name: str) -> Client:
        return self.by_name[name].api

    def ride_of(self, name: str, ride_id: str) -> dict[str, Any] | None:
        try:
            answer: dict[str, Any] = self.api(name).get(f"/v1/rides/{ride_id}")
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        return answer

    def wait_state(self, name: str, ride_id: str, *states: str) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            ride = self.ride_of(name, ride_id)
            return ride if ride is not None and ride["state"] in states else None

        return self.wait(f"{name} to see ride {ride_id[:8]} {'/'.join(states)}", probe)

    # -- the script

    def run(self) -> Progress:
        p = self.progress
        p.phase = "connecting"
        n = len(self.swarm.daemons)
        self.wait(
            "every node to connect",
            lambda: True if self._connected(n) else None,
        )
        p.say(f"{n} daemons connected on loopback, each to all {n - 1} others")
        self.offer_all()
        self.request_all()
        self.ride_all()
        self.settle_balances()
        p.phase = "done"
        self.poll_statuses(force=True)
        return p

    def _connected(self, n: int) -> bool:
        self.poll_statuses(force=True)
        s = self.progress.statuses
        return len(s) == n and all(v["connected"] >= n - 1 for v in s.values())

    def offer_all(self) -> None:
        self.progress.phase = "drivers offer"
        now = int(time.time() * 1000)
        for plan in self.cast.drivers:
            route = [[pt.lat, pt.lon] for pt in densify(plan.waypoints).points()]
            depart = now + plan.depart_in_min * MINUTE_MS
            body = {
                "route": route,
                "departure": {"start_ms": depart, "end_ms": depart + 10 * MINUTE_MS},
                "seats": plan.seats,
                "max_detour_m": 2_500,
                "max_detour_s": 480,
                "cost": {"currency": "ILS", "base_minor": 500, "per_km_minor": 60},
            }
            offer = self.api(plan.name).post("/v1/offers", body)
            self.offers[plan.name] = offer["offer_id"]
            self.progress.say(
                f"{plan.name} offers {plan.seats} seats, departing in {plan.depart_in_min} min"
            )
        want = len(self.offers)
        riders = [self.by_name[r.name] for r in self.cast.riders]
        self.wait(
            "the offers to reach every rider",
            lambda: True if all(self._book(d)["offers"] >= want for d in riders) else None,
        )
        self.progress.say(f"{want} offers gossiped to every rider")

    def _book(self, d: Daemon) -> dict[str, int]:
        status = self.progress.statuses.get(d.name) or d.api.get("/v1/status")
        book: dict[str, int] = status["book"]
        return book

    def request_all(self) -> None:
        self.progress.phase = "riders request"
        now = int(time.time() * 1000)
        for plan in self.cast.riders:
            start, end = plan.window_in_min
            body = {
                "pickup": list(plan.pickup),
                "dropoff": list(plan.dropoff),
                "window": {"start_ms": now + start * MINUTE_MS, "end_ms": now + end * MINUTE_MS},
                "max_walk_m": 300,
            }
            request = self.api(plan.name).post("/v1/requests", body)
            self.requests[plan.name] = request["request_id"]
            self.progress.say(f"{plan.name} requests a ride, window {start}-{end} min")
        want = len(self.requests)
        drivers = [self.by_name[d.name] for d in self.cast.drivers]
        self.wait(
            "the requests to reach every driver",
            lambda: True if all(self._book(d)["requests"] >= want for d in drivers) else None,
        )
        self.progress.say(f"{want} requests gossiped to every driver")

    def candidates(self, rider: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.api(rider).get(f"/v1/candidates/{self.requests[rider]}")
        return found

    def _candidates_of(self, rider: str) -> Callable[[], list[dict[str, Any]] | None]:
        return lambda: self.candidates(rider) or None

    def ride_all(self) -> None:
        p = self.progress
        p.phase = "riders propose"
        drivers_by_key = {
            self.by_name[d.name].info["public_key"]: d.name for d in self.cast.drivers
        }
        found: dict[str, list[dict[str, Any]]] = {}
        for r in self.cast.riders:
            found[r.name] = self.wait(f"candidates for {r.name}", self._candidates_of(r.name))
        p.matches = sum(len(v) for v in found.values())
        # The pool: the driver the most riders found, and two of those riders.
        by_driver: dict[str, list[str]] = {}
        for rider, matches in found.items():
            for m in matches:
                by_driver.setdefault(drivers_by_key[m["driver"]["public_key"]], []).append(rider)
        pool_driver, pool_riders = max(
            by_driver.items(), key=lambda kv: (len(kv[1]), kv[0] == self.cast.drivers[0].name)
        )
        if len(pool_riders) < 2:
            raise SwarmError(f"no driver matches two riders, so no pooled ride: {by_driver}")
        pool = pool_riders[:2]
        others = [r.name for r in self.cast.riders if r.name not in pool]
        canceller = others[-1] if others else None
        plan: list[tuple[str, dict[str, Any]]] = [
            (r, next(m for m in found[r] if m["offer_id"] == self.offers[pool_driver]))
            for r in pool
        ]
        # Nobody is proposed to a driver with no seat left (the exact check would refuse it).
        seats_left = {d.name: d.seats for d in self.cast.drivers}
        seats_left[pool_driver] -= len(pool)
        for rider in others:
            if rider == canceller:  # cancels before the driver accepts: takes no seat
                plan.append((rider, found[rider][0]))
                continue
            free = [
                m for m in found[rider] if seats_left[drivers_by_key[m["driver"]["public_key"]]] > 0
            ]
            if not free:
                p.say(f"{rider}: every matching driver is full, no ride")
                continue
            seats_left[drivers_by_key[free[0]["driver"]["public_key"]]] -= 1
            plan.append((rider, free[0]))
        rides: list[RideLog] = []
        for rider, match in plan:
            driver = drivers_by_key[match["driver"]["public_key"]]
            body = {"request_id": self.requests[rider], "offer_id": match["offer_id"]}
            ride = self.api(rider).post("/v1/rides", body)
            log = RideLog(rider, driver, ride["ride_id"], pooled=rider in pool)
            log.shared_m = float(match["shared_m"])
            rides.append(log)
            p.rides.append(log)
            p.say(f"{rider} proposes to ride with {driver}" + (" (pooled)" if log.pooled else ""))
        p.phase = "drivers accept"
        for log in rides:
            self.wait_state(log.driver, log.ride_id, "proposed")
            if log.rider == canceller:
                self.api(log.rider).post(
                    f"/v1/rides/{log.ride_id}/cancel", {"reason": CANCEL_REASON}
                )
                self.wait_state(log.driver, log.ride_id, "cancelled")
                log.outcome, log.cancel_reason = "cancelled", CANCEL_REASON
                p.say(f"{log.rider} cancels the ride with {log.driver} ({CANCEL_REASON})")
                continue
            self.api(log.driver).post(f"/v1/rides/{log.ride_id}/accept")
            log.outcome = "accepted"
            p.say(f"{log.driver} accepts {log.rider}")
        going = [r for r in rides if r.outcome == "accepted"]
        p.phase = "confirm and pick up"
        for log in going:
            self.wait_state(log.driver, log.ride_id, "revealed")
            self.api(log.driver).post(f"/v1/rides/{log.ride_id}/confirm")
            rider_view = self.wait_state(log.rider, log.ride_id, "confirmed")
            pin = rider_view["pin"]
            if not pin:
                raise SwarmError(f"{log.rider} has no PIN for ride {log.ride_id[:8]}")
            self.api(log.driver).post(f"/v1/rides/{log.ride_id}/pickup", {"pin": pin})
            log.outcome = "picked_up"
            log.picked_up_at = time.monotonic()
            p.say(f"{log.driver} picks up {log.rider} (PIN checked)")
        p.phase = f"driving ({DRIVE_S:.0f} s at {DRIVE_SPEED_MPS * 3.6:.0f} km/h)"
        end = time.monotonic() + DRIVE_S
        while time.monotonic() < end:
            # The drive itself takes DRIVE_S (the receipt's distance must be
            # plausible for the time ridden): time passing, not a wait on a
            # condition; the live view is refreshed meanwhile.
            self.poll_statuses()
            time.sleep(min(0.2, max(0.0, end - time.monotonic())))
        p.phase = "finish and sign"
        for log in going:
            driven = (time.monotonic() - log.picked_up_at) * DRIVE_SPEED_MPS
            log.distance_m = max(1, int(min(driven, log.shared_m or driven)))
            self.api(log.driver).post(
                f"/v1/rides/{log.ride_id}/finish", {"distance_m": log.distance_m}
            )
            self.wait_state(log.rider, log.ride_id, "receipt_proposed")
            self.api(log.rider).post(f"/v1/rides/{log.ride_id}/sign")
            self.wait_state(log.driver, log.ride_id, "done")
            self.wait_state(log.rider, log.ride_id, "done")
            log.outcome = "done"
            p.say(
                f"{log.driver} drops off {log.rider} after {log.distance_m} m; "
                "both sign the receipt"
            )

    def settle_balances(self) -> None:
        p = self.progress
        p.phase = "waiting for every node to agree on balances"
        members = {d.name: d.info["public_key"] for d in self.swarm.daemons}
        drivers_done = {r.driver for r in p.rides if r.outcome == "done"}

        def probe() -> bool | None:
            table: dict[str, dict[str, int]] = {}
            for d in self.swarm.daemons:
                table[d.name] = {
                    name: int(d.api.get("/v1/balance", member=key)["balance_milli"])
                    for name, key in members.items()
                }
            p.balances = table
            rows = list(table.values())
            same = all(row == rows[0] for row in rows)
            credited = all(rows[0][name] > 0 for name in drivers_done)
            p.balances_agree = same
            self.refresh()
            return True if same and credited else None

        try:
            self.wait("every node to report the same balances", probe, SYNC_TIMEOUT_S)
        except SwarmError:
            p.balances_agree = False
            raise
        p.say("every node reports the same balances")
