"""The Python face of the simulator, in the spirit of mesa: ``Model(scenario, seed).run()``.

A ``Model`` builds the city, the trips, one Peer-backed agent per member and
the network between them, then runs the engine to the scenario's end.
``run`` returns ``Results``: the metrics (``sim.metrics``) and pandas
DataFrames of riders, drivers and peers, ready for a notebook::

    from sim.model import Model
    from sim.scenario import load

    results = Model(load("sim/scenarios/small.toml"), seed=3).run()
    results.riders.groupby("outcome").size()
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

import pandas as pd

from protocol.fields import GeoPoint
from protocol.identity import Identity
from sim import metrics
from sim.agents.adversaries import Ring, RingDriver, RingRider, Spammer
from sim.agents.base import World
from sim.agents.policy import Driver, DriverLog, Member, Rider, RiderLog
from sim.city import City, CitySpec, load_city
from sim.engine import Engine, derive_rng
from sim.network import Network
from sim.scenario import Scenario
from sim.sharing import shared_signature_checks


class TripLike(Protocol):
    """One person's trip (``sim.demand.Trip``); ``depart_ms`` from the run's start."""

    @property
    def id(self) -> int: ...
    @property
    def depart_ms(self) -> int: ...
    @property
    def origin(self) -> GeoPoint: ...
    @property
    def destination(self) -> GeoPoint: ...
    @property
    def role(self) -> Literal["driver", "rider"]: ...
    @property
    def window_ms(self) -> int: ...
    @property
    def seats(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Results:
    """What a run produced: ``metrics`` (canonical JSON via ``sim.metrics.dumps``),
    and one DataFrame row per rider, per driver and per network host."""

    metrics: dict[str, Any]
    riders: pd.DataFrame
    drivers: pd.DataFrame
    peers: pd.DataFrame
    #: Not part of the metrics (they depend on the machine): wall seconds, events/s.
    timing: dict[str, float]

    def to_dataframe(self) -> pd.DataFrame:
        """The riders' table, the one most analyses start from."""
        return self.riders


def member_identity(seed: int, name: str) -> Identity:
    """The key of member ``name`` in a run of ``seed``: fixed by both, nothing else."""
    return Identity.from_seed(
        hashlib.blake2b(f"{seed}/member/{name}".encode(), digest_size=32).digest()
    )


def member_seed(seed: int, name: str) -> int:
    return int.from_bytes(
        hashlib.blake2b(f"{seed}/rng/{name}".encode(), digest_size=8).digest(), "big"
    )


class Model:
    """One run of a scenario: build with a seed, then ``run()``."""

    def __init__(
        self,
        scenario: Scenario,
        seed: int | None = None,
        *,
        city: City | None = None,
        trips: Sequence[TripLike] | None = None,
        engine: Engine | None = None,
    ) -> None:
        """``city`` and ``trips`` replace what the scenario's tables would build;
        ``engine`` another event loop (``sim.engine_bench`` measures simpy's)."""
        self.scenario = s = scenario if seed is None else scenario.with_seed(seed)
        self.seed = s.seed
        self.engine = engine if engine is not None else Engine(s.start_ms)
        self.net = Network(self.engine, s.network, s.seed, share_opening=s.shared_signature_checks)
        self.city = city if city is not None else load_city(CitySpec.from_toml(s.city))
        self.world = World(self.engine, self.net, self.city.router)
        self.trips = list(trips) if trips is not None else _demand(s, self.city)
        self.riders: list[Rider] = []
        self.drivers: list[Driver] = []
        self.spammers: list[Spammer] = []
        self.rings: list[Ring] = []
        self.observer: Member | None = None
        self._build()

    # -- building the city's members

    def _member(self, name: str) -> tuple[Identity, int]:
        return member_identity(self.seed, name), member_seed(self.seed, name)

    def _build(self) -> None:
        s, w, engine = self.scenario, self.world, self.engine
        churn = derive_rng(self.seed, "churn")
        for trip in sorted(self.trips, key=lambda t: (t.depart_ms, t.id)):
            churns = churn.random() < s.network.churn.share
            if trip.role == "rider":
                name = f"rider-{trip.id}"
                identity, seed = self._member(name)
                route = self.city.router.route(trip.origin, trip.destination)
                rlog = RiderLog(
                    name=name,
                    trip_id=trip.id,
                    seats=trip.seats,
                    window_start_ms=trip.depart_ms,
                    window_end_ms=trip.depart_ms + trip.window_ms,
                    origin=trip.origin,
                    destination=trip.destination,
                    solo_m=None if route is None else route.length_m,
                    will_not_show=derive_rng(seed, "no-show").random() < s.rider.no_show,
                )
                rider = Rider(w, name, identity, s.peer, seed, s.rider, rlog, churns)
                self.riders.append(rider)
                engine.at(s.start_ms + max(0, trip.depart_ms - s.rider.lead_ms), rider.begin)
            else:
                name = f"driver-{trip.id}"
                identity, seed = self._member(name)
                dlog = DriverLog(
                    name=name,
                    trip_id=trip.id,
                    seats=trip.seats,
                    departure_ms=trip.depart_ms,
                    origin=trip.origin,
                    destination=trip.destination,
                )
                driver = Driver(w, name, identity, s.peer, seed, s.driver, dlog, churns)
                self.drivers.append(driver)
                engine.at(s.start_ms + max(0, trip.depart_ms - s.driver.lead_ms), driver.begin)
        if s.observer:
            identity, seed = self._member("observer")
            # The reference for every balance holds every log, whatever the phones do.
            full = replace(s.peer, ledger="full")
            self.observer = observer = Member(w, "observer", identity, self.city.centre, full, seed)
            engine.at(s.start_ms, lambda _: observer.join())
        self._adversaries()

    def _adversaries(self) -> None:
        s, w = self.scenario, self.world
        adv = s.adversaries
        if not (adv.spammers or adv.rings or adv.equivocators):
            return
        rng = derive_rng(self.seed, "adversaries")
        graph = self.city.graph
        places = [graph.point(i) for i in rng.sample(range(len(graph)), min(len(graph), 400))]
        end = s.start_ms + s.duration_ms
        for i in range(adv.spammers):
            name = f"spammer-{i}"
            identity, seed = self._member(name)
            spammer = Spammer(
                w, name, identity, rng.choice(places), s.peer, seed, adv.spam, places, end
            )
            self.spammers.append(spammer)
            self.engine.at(s.start_ms + rng.randrange(0, 5 * 60_000), spammer.begin)
        for i in range(adv.rings):
            self._ring(f"ring-{i}", places, rng.choice(places), end, adv.collusion.riders)
        for i in range(adv.equivocators):
            identity, seed = self._member(f"equivocator-{i}")
            home = rng.choice(places)
            # Both devices start together, so each signs its first receipt before
            # hearing of the other's: two entries at one seq.
            start = s.start_ms + 60_000 * (1 + len(self.rings))
            for j, device in enumerate("ab"):
                name = f"equivocator-{i}{device}"
                self._ring(name, places, home, end, 1, identity, seed + j, start)

    def _ring(
        self,
        name: str,
        places: list[GeoPoint],
        home: GeoPoint,
        end: int,
        riders: int,
        identity: Identity | None = None,
        seed: int | None = None,
        start: int | None = None,
    ) -> None:
        s, w = self.scenario, self.world
        if identity is None or seed is None:
            identity, seed = self._member(f"{name}-driver")
        driver = RingDriver(w, f"{name}-driver", identity, home, s.peer, seed)
        accomplices = []
        for j in range(riders):
            rid, rseed = self._member(f"{name}-rider-{j}")
            accomplices.append(RingRider(w, f"{name}-rider-{j}", rid, home, s.peer, rseed))
        if start is None:
            start = s.start_ms + 60_000 * (1 + len(self.rings))
        self.rings.append(
            Ring(
                w,
                name,
                driver,
                accomplices,
                s.adversaries.collusion,
                places,
                start,
                end,
                self.seed,
                equivocator=name.startswith("equivocator"),
            )
        )

    # -- running

    def run(self, progress: Callable[[int, int], None] | None = None) -> Results:
        """Run to the scenario's end; ``progress(done_ms, total_ms)`` as virtual time passes."""
        s = self.scenario
        total = s.end_ms - s.start_ms

        def tick(now_ms: int) -> None:
            if progress is not None:
                progress(now_ms - s.start_ms, total)

        checks = shared_signature_checks() if s.shared_signature_checks else nullcontext()
        t0, c0 = time.perf_counter(), time.process_time()
        with checks:
            self.engine.run_until(s.end_ms, tick if progress else None)
            self.net.finish()
            found = metrics.collect(self)
        wall = time.perf_counter() - t0
        cpu = time.process_time() - c0
        timing = {
            "wall_s": wall,
            # CPU seconds of this process: what the run cost on a busy machine.
            "cpu_s": cpu,
            "speedup_cpu": total / 1000 / cpu if cpu else 0.0,
            "sim_s": total / 1000,
            "speedup": total / 1000 / wall if wall else 0.0,
            "events": float(self.engine.events),
            "events_per_s": self.engine.events / wall if wall else 0.0,
        }
        return Results(
            metrics=found.metrics,
            riders=found.riders,
            drivers=found.drivers,
            peers=found.peers,
            timing=timing,
        )


def _demand(s: Scenario, city: City) -> list[TripLike]:
    from sim import demand

    spec = demand.DemandSpec.from_toml(dict(s.demand))
    return list(demand.generate(spec, city, derive_rng(s.seed, "demand")))
