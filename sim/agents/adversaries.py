"""Members who cheat, each through a real Peer or the raw network an attacker has.

- ``Spammer``: floods its area with offers and requests its Peer signs (valid,
  and never honoured), and publishes what an attacker can without a Peer's
  help: garbage bytes, captured messages with a damaged signature, and
  verbatim replays. Honest Peers must refuse the last three and count them.
- ``Ring``: a colluding driver and its accomplice riders mint receipts of
  rides that never happened — offer, request, propose, accept, PIN, pickup,
  finish with an inflated distance, countersign: every step through their
  own Peers, so the receipts are as well signed as honest ones. The credit
  rule's anti-abuse terms (the same pair halves, the daily cap, the speed
  limit) are what keeps them in check.
- An **equivocating author** is two rings whose drivers share one key (two
  devices, one identity): each device signs its own first log entry, so the
  log forks at seq 1 and honest Peers that hear both branches find the fork.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from protocol import geo
from protocol.fields import CostShare, GeoPoint, Polyline, TimeWindow
from protocol.identity import Identity
from protocol.peer.actions import Action, Publish
from protocol.peer.notices import CandidatesFound, Notification, RideUpdated
from protocol.peer.params import MINUTE_MS, SECOND_MS, PeerParams
from protocol.ride.actions import Notice
from protocol.ride.states import Role
from sim.agents.base import World
from sim.agents.policy import Member
from sim.engine import derive_rng
from sim.hosts import Host

SPAM_KINDS = ("flood", "garbage", "forged", "replay")


@dataclass(frozen=True, slots=True)
class SpamPolicy:
    """How much a spammer sends, and what."""

    per_min: float = 6.0
    kinds: tuple[str, ...] = SPAM_KINDS


@dataclass(frozen=True, slots=True)
class CollusionPolicy:
    """How a colluding ring mints its fake rides."""

    riders: int = 3
    #: A fake ride is started this often (riders take turns).
    every_ms: int = 10 * MINUTE_MS
    #: The distance every fake receipt claims.
    claimed_m: int = 30_000
    #: How long the fake ride lasts between pickup and drop-off.
    ride_ms: int = 15 * MINUTE_MS


@dataclass(slots=True)
class SpamLog:
    name: str
    sent: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class RingLog:
    """A ring's fake rides: started, completed (both halves signed), distance claimed."""

    name: str
    driver: str
    riders: list[str]
    equivocator: bool = False
    started: int = 0
    done: int = 0
    claimed_m: int = 0


class Spammer(Member):
    """A member flooding its area, and an attacker publishing junk beside it."""

    def __init__(
        self,
        world: World,
        name: str,
        identity: Identity,
        home: GeoPoint,
        params: PeerParams,
        seed: int,
        policy: SpamPolicy,
        places: list[GeoPoint],
        end_ms: int,
    ) -> None:
        super().__init__(world, name, identity, home, params, seed)
        self.policy = policy
        self.places = places
        self.end_ms = end_ms
        self.rng = derive_rng(seed, "spam")
        self.log = SpamLog(name, {k: 0 for k in policy.kinds})
        self.captured: list[tuple[str, bytes]] = []
        # Garbage goes to both sides of the home area in turn: offers reach
        # riders, requests reach drivers, and both must drop it.
        self.topics = tuple(geo.area_topic(geo.topic_cell(home), side) for side in geo.SIDES)
        self._turn = 0
        self._garbage = 0

    def begin(self, _: Any = None) -> None:
        self.join()
        self._next()

    def _next(self) -> None:
        gap = self.rng.expovariate(self.policy.per_min / MINUTE_MS)
        if self.world.now + gap < self.end_ms:
            self.later(max(1, round(gap)), self._spam)

    def _spam(self, _: Any = None) -> None:
        kinds = self.policy.kinds
        kind = kinds[self._turn % len(kinds)]
        self._turn += 1
        if kind != "flood" and not self.captured:
            kind = "flood"  # nothing to damage or replay yet
        net, host = self.world.net, self.host
        assert host is not None
        if kind == "flood":
            self._flood()
        elif kind == "garbage":
            topic = self.topics[self._garbage % len(self.topics)]
            self._garbage += 1
            net.publish(host, topic, self.rng.randbytes(self.rng.randint(16, 400)))
        elif kind == "forged":
            topic, data = self.rng.choice(self.captured)
            at = len(data) - 1 - self.rng.randrange(64)  # inside the trailing signature
            net.publish(host, topic, data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :])
        else:
            topic, data = self.rng.choice(self.captured)
            net.publish(host, topic, data)
        self.log.sent[kind] = self.log.sent.get(kind, 0) + 1
        self._next()

    def _flood(self) -> None:
        """One more offer or request the spammer's Peer signs and will never honour."""
        now, rng = self.world.now, self.rng
        a, b = rng.sample(self.places, 2)
        host = self.host
        assert host is not None
        try:
            if rng.random() < 0.5:
                route = self.world.router.route(a, b)
                if route is None:
                    return
                _, actions = host.peer.offer(
                    route=Polyline.from_points(route.points[:1000]),
                    departure=TimeWindow(now + 5 * MINUTE_MS, now + 15 * MINUTE_MS),
                    duration_s=max(1, round(route.duration_s)),
                    seats=4,
                    max_detour_m=3_000,
                    max_detour_s=600,
                    cost=CostShare("ILS", 100, 10),
                    expires_ms=now + 30 * MINUTE_MS,
                    now_ms=now,
                )
            else:
                _, actions = host.peer.request(
                    pickup=a,
                    dropoff=b,
                    window=TimeWindow(now, now + 30 * MINUTE_MS),
                    seats=1,
                    max_walk_m=400,
                    expires_ms=now + 30 * MINUTE_MS,
                    now_ms=now,
                )
        except Exception as e:  # a LocalError: this pair of places was refused
            self.world.refused[("spam", type(e).__name__)] += 1
            return
        self._capture(actions)
        self.world.net.execute(host, actions)

    def _capture(self, actions: list[Action]) -> None:
        for a in actions:
            if isinstance(a, Publish):
                self.captured.append((a.topic, a.data))
        del self.captured[:-50]


class Ring:
    """A colluding driver and its accomplices; it knows all their PINs."""

    def __init__(
        self,
        world: World,
        name: str,
        driver: RingDriver,
        riders: list[RingRider],
        policy: CollusionPolicy,
        places: list[GeoPoint],
        start_ms: int,
        end_ms: int,
        seed: int,
        equivocator: bool = False,
    ) -> None:
        self.world = world
        self.driver = driver
        self.riders = riders
        self.policy = policy
        self.places = places
        self.end_ms = end_ms
        self.rng = derive_rng(seed, "ring", name)
        self.log = RingLog(name, driver.name, [r.name for r in riders], equivocator)
        driver.ring = self
        for rider in riders:
            rider.ring = self
        self._turn = 0
        world.engine.at(start_ms, self._begin)

    def _begin(self, _: Any = None) -> None:
        for member in (self.driver, *self.riders):
            member.join()
        self.world.engine.after(5 * SECOND_MS, self._fake_ride)

    def _fake_ride(self, _: Any = None) -> None:
        """Offer a real route, and have the next accomplice ask for a seat along it."""
        w, now = self.world, self.world.now
        if now >= self.end_ms:
            return
        w.engine.after(self.policy.every_ms, self._fake_ride)
        rider = self.riders[self._turn % len(self.riders)]
        self._turn += 1
        for _ in range(50):
            a, b = self.rng.sample(self.places, 2)
            route = w.router.route(a, b)
            if route is not None and route.length_m > 4_000 and len(route.points) >= 10:
                points = route.points[:1000]
                # The accomplice's ends: well inside the route (past the privacy cut
                # of up to 600 m at each end) and in different cells.
                n = len(points)
                pickup, dropoff = points[n // 5], points[n * 4 // 5]
                if geo.cell_of(pickup) != geo.cell_of(dropoff):
                    break
        else:
            return
        offer_id = self.driver.create(
            "ring_offer",
            lambda p: p.offer(
                route=Polyline.from_points(points),
                departure=TimeWindow(now + 2 * MINUTE_MS, now + 12 * MINUTE_MS),
                duration_s=max(1, round(route.duration_s)),
                seats=1,
                max_detour_m=1_000,
                max_detour_s=300,
                cost=CostShare("ILS", 100, 10),
                expires_ms=now + 40 * MINUTE_MS,
                now_ms=now,
            ),
        )
        if offer_id is None:
            return
        self.log.started += 1
        rider.want(offer_id, pickup, dropoff)


class RingDriver(Member):
    """The ring's driver: accepts, confirms and picks up its accomplices at once."""

    ring: Ring

    def react(self, host: Host, event: Notification) -> None:
        if not isinstance(event, RideUpdated) or event.role is not Role.DRIVER:
            return
        ride_id, notice, w = event.ride_id, event.notice, self.world
        if notice is Notice.PROPOSED:
            self.later(SECOND_MS, lambda _: self.run("accept", lambda p: p.accept(ride_id, w.now)))
        elif notice is Notice.REVEALED and event.check is not None:
            self.later(
                SECOND_MS, lambda _: self.run("confirm", lambda p: p.confirm(ride_id, w.now))
            )
        elif notice is Notice.CONFIRMED:
            self.later(MINUTE_MS, self._pickup, ride_id)
        elif notice is Notice.PICKED_UP:
            claimed = self.ring.policy.claimed_m
            self.ring.log.claimed_m += claimed
            self.later(
                self.ring.policy.ride_ms,
                lambda _: self.run("finish", lambda p: p.finish(ride_id, w.now, claimed)),
            )
        elif notice is Notice.DONE:
            self.ring.log.done += 1

    def _pickup(self, ride_id: bytes) -> None:
        pin = next((r.pins.get(ride_id) for r in self.ring.riders if ride_id in r.pins), None)
        if pin is not None:
            self.run("pickup", lambda p: p.pickup(ride_id, pin, self.world.now))


class RingRider(Member):
    """An accomplice: asks for a seat on the ring's offer and countersigns what it is told."""

    ring: Ring

    def __init__(
        self,
        world: World,
        name: str,
        identity: Identity,
        home: GeoPoint,
        params: PeerParams,
        seed: int,
    ) -> None:
        super().__init__(world, name, identity, home, params, seed)
        self.pins: dict[bytes, str] = {}
        self._wanted: dict[bytes, bytes] = {}  # request id -> the ring's offer id

    def want(self, offer_id: bytes, pickup: GeoPoint, dropoff: GeoPoint) -> None:
        now = self.world.now
        request_id = self.create(
            "ring_request",
            lambda p: p.request(
                pickup=pickup,
                dropoff=dropoff,
                window=TimeWindow(now, now + 30 * MINUTE_MS),
                seats=1,
                max_walk_m=400,
                expires_ms=now + 30 * MINUTE_MS,
                now_ms=now,
            ),
        )
        if request_id is not None:
            self._wanted[request_id] = offer_id

    def react(self, host: Host, event: Notification) -> None:
        w = self.world
        if isinstance(event, CandidatesFound) and event.role is Role.RIDER:
            offer_id = self._wanted.pop(event.own_id, None)
            ours = [m for m in event.matches if m.offer_id == offer_id]
            if offer_id is None:
                return
            if not ours:
                self._wanted[event.own_id] = offer_id  # not heard yet
                return
            request_id, driver = event.own_id, ours[0].driver
            self.later(
                SECOND_MS,
                lambda _: self.create(
                    "ring_propose",
                    lambda p: p.propose(request_id, offer_id, w.now, driver=driver),
                ),
            )
        elif isinstance(event, RideUpdated):
            if event.notice is Notice.PIN_SHOWN and event.pin is not None:
                self.pins[event.ride_id] = event.pin
            elif event.notice is Notice.RECEIPT_NEEDED:
                ride_id = event.ride_id
                self.later(
                    SECOND_MS,
                    lambda _: self.run("sign_receipt", lambda p: p.sign_receipt(ride_id, w.now)),
                )
