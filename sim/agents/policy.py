"""Honest riders and drivers: small behaviour policies over their own Peer.

A **driver** is a person making their own trip who shares free seats (the
La'Zooz model): shortly before leaving it offers its route from the city's
router, accepts proposals, confirms riders whose exact points the Peer
checked, picks them up with the PIN they say, drops them off, and lets its
Peer sign the receipt. A **rider** requests a seat for its time window,
gathers candidates for a moment, proposes to the best one it has not tried,
tries the next when declined, gives up after waiting too long, sometimes does
not show up, and countersigns the receipt. Everything protocol-side is the
Peer's own doing; this module only decides what a person would press, when.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

from protocol import geo
from protocol.fields import CostShare, GeoPoint, Polyline, TimeWindow
from protocol.identity import Identity
from protocol.peer.actions import Action
from protocol.peer.notices import CandidatesFound, Match, Notification, RideUpdated
from protocol.peer.params import MINUTE_MS, SECOND_MS, PeerParams
from protocol.peer.peer import Peer
from protocol.ride.actions import Notice
from protocol.ride.messages import CancelReason
from protocol.ride.states import RideState, Role
from sim.agents.base import Agent, RouteLike, World
from sim.hosts import Host

#: Rides in these states are over.
ENDED = frozenset({RideState.DONE, RideState.CANCELLED, RideState.UNSIGNED})
#: Most vertices an offer may carry (SPEC §5.7 allows 1,024).
MAX_VERTICES = 1_000


@dataclass(frozen=True, slots=True)
class RiderPolicy:
    """How riders behave; durations in ms."""

    #: Request this long before the pickup window opens.
    lead_ms: int = 10 * MINUTE_MS
    #: Give up when no ride is confirmed this long after requesting.
    patience_ms: int = 20 * MINUTE_MS
    #: Wait this long after the first candidates before proposing to the best.
    collect_ms: int = 15 * SECOND_MS
    #: Chance that a rider does not turn up at pickup.
    no_show: float = 0.02
    max_walk_m: int = 400
    #: Time a rider takes to look at the receipt and countersign it.
    countersign_ms: int = 30 * SECOND_MS
    #: Stay online this long after the ride ended (receipts, sync), then leave.
    linger_ms: int = 10 * MINUTE_MS


@dataclass(frozen=True, slots=True)
class DriverPolicy:
    """How drivers behave; durations in ms."""

    #: Offer this long before departure.
    lead_ms: int = 15 * MINUTE_MS
    #: The offered departure window: from the trip's departure, this long.
    departure_flex_ms: int = 5 * MINUTE_MS
    max_detour_m: int = 2_000
    max_detour_s: int = 300
    currency: str = "ILS"
    cost_base_minor: int = 500
    cost_per_km_minor: int = 80
    #: Time to look at a proposal and accept it.
    answer_ms: int = 10 * SECOND_MS
    #: Time to look at the Peer's exact check and confirm.
    confirm_ms: int = 5 * SECOND_MS
    #: How long the driver waits at the kerb for a rider who is not there.
    no_show_wait_ms: int = 5 * MINUTE_MS
    #: Stay online this long after the trip ended, then leave.
    linger_ms: int = 10 * MINUTE_MS


@dataclass(slots=True)
class RiderLog:
    """One rider's request and what became of it; times in ms from the run's start."""

    name: str
    trip_id: int
    seats: int
    window_start_ms: int
    window_end_ms: int
    origin: GeoPoint
    destination: GeoPoint
    solo_m: float | None = None
    requested_ms: int | None = None
    first_candidate_ms: int | None = None
    proposals: int = 0
    proposed_ms: int | None = None
    matched_ms: int | None = None
    picked_ms: int | None = None
    dropped_ms: int | None = None
    done_ms: int | None = None
    #: waiting, searching, proposing, confirmed, riding, done, gave_up, no_show,
    #: refused (the Peer refused the request), lost (cancelled after confirmation)
    outcome: str = "waiting"
    driver: str | None = None
    offer_id: bytes | None = None
    shared_m: float | None = None
    detour_m: float | None = None
    walk_m: float | None = None
    will_not_show: bool = False


@dataclass(slots=True)
class DriverRide:
    """One ride of a driver's offer, as the driver saw it."""

    ride_id: bytes
    rider: str | None
    seats: int
    shared_m: float = 0.0
    detour_m: float = 0.0
    confirmed_ms: int | None = None
    picked_ms: int | None = None
    dropped_ms: int | None = None
    done_ms: int | None = None
    outcome: str = "proposed"


@dataclass(slots=True)
class DriverLog:
    """One driver's trip and the rides its offer carried."""

    name: str
    trip_id: int
    seats: int
    departure_ms: int
    origin: GeoPoint
    destination: GeoPoint
    route_m: float | None = None
    duration_s: float | None = None
    offer_id: bytes | None = None
    #: waiting, offered, no_route, refused, done
    outcome: str = "waiting"
    rides: dict[bytes, DriverRide] = field(default_factory=dict)
    honest: bool = True


def area_home(point: GeoPoint) -> GeoPoint:
    """The ``home`` a member's Peer is built with: the centre of its area (the res-5
    topic cell of ``point``), not its door — the Peer needs only the area, and
    members of one area then share one map projection (built once, cached)."""
    return geo.cell_center(geo.topic_cell(point))


def rel(world: World, at_ms: int | None) -> int | None:
    return None if at_ms is None else at_ms - world.engine.start_ms


class Member(Agent):
    """An agent that joins the network as one member with a derived identity."""

    def __init__(
        self,
        world: World,
        name: str,
        identity: Identity,
        home: GeoPoint,
        params: PeerParams,
        seed: int,
        churns: bool = False,
    ) -> None:
        super().__init__(world, name)
        self.identity = identity
        self.home = home
        self.params = params
        self.seed = seed
        self.churns = churns

    def join(self) -> Host:
        self.host = self.world.net.join(
            self.name, self.identity, self.home, self.params, self.seed, self, self.churns
        )
        return self.host

    def leave(self, _: Any = None) -> None:
        if self.host is not None:
            self.world.net.leave(self.host)


class Rider(Member):
    """A member asking for a seat for one trip."""

    def __init__(
        self,
        world: World,
        name: str,
        identity: Identity,
        params: PeerParams,
        seed: int,
        policy: RiderPolicy,
        log: RiderLog,
        churns: bool = False,
    ) -> None:
        super().__init__(world, name, identity, area_home(log.origin), params, seed, churns)
        self.policy = policy
        self.log = log
        self.request_id: bytes | None = None
        self.ride_id: bytes | None = None
        self.pin: str | None = None
        self.tried: set[bytes] = set()
        self._deciding = False

    def begin(self, _: Any = None) -> None:
        """Open the app and ask for a seat."""
        w, log, p = self.world, self.log, self.policy
        self.join()
        start = w.engine.start_ms
        window = TimeWindow(start + log.window_start_ms, start + log.window_end_ms)
        self.request_id = self.create(
            "request",
            lambda peer: peer.request(
                pickup=log.origin,
                dropoff=log.destination,
                window=window,
                seats=log.seats,
                max_walk_m=p.max_walk_m,
                expires_ms=window.end_ms,
                now_ms=w.now,
            ),
        )
        if self.request_id is None:
            log.outcome = "refused"
            self.leave()
            return
        log.requested_ms = rel(w, w.now)
        log.outcome = "searching"
        give_up_at = min(w.now + p.patience_ms, window.end_ms)
        w.engine.at(give_up_at, self._give_up)

    def pin_for(self, ride_id: bytes) -> str | None:
        if ride_id != self.ride_id or self.log.will_not_show:
            return None
        return self.pin

    def react(self, host: Host, event: Notification) -> None:
        if isinstance(event, CandidatesFound):
            if event.role is Role.RIDER and event.own_id == self.request_id:
                if self.log.first_candidate_ms is None:
                    self.log.first_candidate_ms = rel(self.world, self.world.now)
                if self.log.outcome == "searching" and not self._deciding:
                    self._deciding = True
                    self.later(self.policy.collect_ms, self._decide)
        elif isinstance(event, RideUpdated) and event.ride_id == self.ride_id:
            self._ride(event)

    def _decide(self, _: Any = None) -> None:
        self._deciding = False
        if self.log.outcome != "searching" or self.request_id is None:
            return
        request_id = self.request_id
        for match in self.peer.candidates(request_id):
            if match.offer_id in self.tried:
                continue
            self.tried.add(match.offer_id)
            ride_id = self.create("propose", partial(_propose, request_id, match, self.world.now))
            if ride_id is None:
                continue
            self.ride_id = ride_id
            self.world.riders_by_ride[ride_id] = self
            self.log.proposals += 1
            self.log.proposed_ms = rel(self.world, self.world.now)
            self.log.outcome = "proposing"
            return

    def _ride(self, event: RideUpdated) -> None:
        log, now = self.log, rel(self.world, self.world.now)
        notice = event.notice
        if notice is Notice.PIN_SHOWN:
            self.pin = event.pin
        elif notice is Notice.CONFIRMED:
            log.outcome = "confirmed"
            log.matched_ms = now
            log.offer_id = event.offer_id
        elif notice is Notice.PICKED_UP:
            log.outcome = "riding"
            log.picked_ms = now
        elif notice is Notice.DROPPED_OFF:
            log.dropped_ms = now
        elif notice is Notice.RECEIPT_NEEDED:
            ride_id = event.ride_id
            self.later(
                self.policy.countersign_ms,
                lambda _: self.run(
                    "sign_receipt", lambda p: p.sign_receipt(ride_id, self.world.now)
                ),
            )
        elif notice is Notice.DONE:
            log.outcome = "done"
            log.done_ms = now
            self.later(self.policy.linger_ms, self.leave)
        elif notice in (Notice.DECLINED, Notice.CANCELLED):
            if log.outcome == "proposing":
                log.outcome = "searching"
                self.ride_id = None
                self.later(SECOND_MS, self._decide)
            elif log.outcome in ("confirmed", "riding"):
                log.outcome = "no_show" if log.will_not_show else "lost"
                self.ride_id = None
                self._close()

    def _give_up(self, _: Any = None) -> None:
        log = self.log
        if log.outcome not in ("searching", "proposing"):
            return
        if log.outcome == "proposing" and self.ride_id is not None:
            ride_id = self.ride_id
            self.run(
                "cancel", lambda p: p.cancel(ride_id, CancelReason.CHANGED_MIND, self.world.now)
            )
        log.outcome = "gave_up"
        self._close()

    def _close(self) -> None:
        if self.request_id is not None and self.host is not None:
            request_id = self.request_id
            if any(r.request_id == request_id for r in self.peer.own_requests()):
                self.run("withdraw", lambda p: p.withdraw(request_id, self.world.now))
        self.later(self.policy.linger_ms, self.leave)


def _propose(
    request_id: bytes, match: Match, now_ms: int, peer: Peer
) -> tuple[bytes, list[Action]]:
    return peer.propose(request_id, match.offer_id, now_ms, driver=match.driver)


class Driver(Member):
    """A member driving its own trip and offering its free seats along the way."""

    def __init__(
        self,
        world: World,
        name: str,
        identity: Identity,
        params: PeerParams,
        seed: int,
        policy: DriverPolicy,
        log: DriverLog,
        churns: bool = False,
    ) -> None:
        super().__init__(world, name, identity, area_home(log.origin), params, seed, churns)
        self.policy = policy
        self.log = log
        self.route: RouteLike | None = None
        self.offer_id: bytes | None = None
        self.end_ms = 0

    def begin(self, _: Any = None) -> None:
        """Open the app and offer the trip's free seats."""
        w, log, p = self.world, self.log, self.policy
        route = w.router.route(log.origin, log.destination)
        if route is None or route.length_m <= 0 or route.duration_s <= 0:
            log.outcome = "no_route"
            return
        self.route = route
        log.route_m, log.duration_s = route.length_m, route.duration_s
        self.join()
        points = route.points
        if len(points) > MAX_VERTICES:
            step = -(-len(points) // MAX_VERTICES)
            points = (*points[:-1:step], points[-1])
        depart = w.engine.start_ms + log.departure_ms
        departure = TimeWindow(depart, depart + p.departure_flex_ms)
        self.end_ms = departure.end_ms + round(route.duration_s * 1000)
        cost = CostShare(p.currency, p.cost_base_minor, p.cost_per_km_minor)
        self.offer_id = self.create(
            "offer",
            lambda peer: peer.offer(
                route=Polyline.from_points(points),
                departure=departure,
                duration_s=max(1, round(route.duration_s)),
                seats=log.seats,
                max_detour_m=p.max_detour_m,
                max_detour_s=p.max_detour_s,
                cost=cost,
                expires_ms=self.end_ms,
                now_ms=w.now,
            ),
        )
        if self.offer_id is None:
            log.outcome = "refused"
            self.leave()
            return
        log.offer_id = self.offer_id
        log.outcome = "offered"
        w.engine.at(self.end_ms + p.linger_ms, self._maybe_leave)

    @property
    def speed_mps(self) -> float:
        assert self.route is not None
        return self.route.length_m / self.route.duration_s

    def react(self, host: Host, event: Notification) -> None:
        if not isinstance(event, RideUpdated) or event.role is not Role.DRIVER:
            return
        w, p = self.world, self.policy
        ride_id, notice = event.ride_id, event.notice
        ride = self.log.rides.get(ride_id)
        if ride is None:
            rider = w.riders_by_ride.get(ride_id)
            ride = DriverRide(ride_id, getattr(rider, "name", None), 0)
            self.log.rides[ride_id] = ride
        now = rel(w, w.now)
        if notice is Notice.PROPOSED:
            self.later(
                p.answer_ms, lambda _: self.run("accept", lambda q: q.accept(ride_id, w.now))
            )
        elif notice is Notice.REVEALED and event.check is not None:
            c = event.check.candidate
            ride.seats, ride.shared_m, ride.detour_m = c.seats, c.shared_m, c.detour_m
            self.later(
                p.confirm_ms, lambda _: self.run("confirm", lambda q: q.confirm(ride_id, w.now))
            )
        elif notice is Notice.CONFIRMED:
            ride.confirmed_ms, ride.outcome = now, "confirmed"
            pickup_ms = next((r.pickup_ms for r in self.peer.rides() if r.ride_id == ride_id), None)
            w.engine.at(max(pickup_ms or w.now, w.now + SECOND_MS), self._arrive, ride_id)
        elif notice is Notice.PICKED_UP:
            ride.picked_ms, ride.outcome = now, "riding"
            drive_ms = round(ride.shared_m / self.speed_mps * 1000)
            self.later(
                max(SECOND_MS, drive_ms),
                lambda _: self.run("finish", lambda q: q.finish(ride_id, w.now)),
            )
        elif notice is Notice.DROPPED_OFF:
            ride.dropped_ms = now
        elif notice is Notice.DONE:
            ride.done_ms, ride.outcome = now, "done"
        elif notice in (Notice.CANCELLED, Notice.DECLINED):
            ride.outcome = "cancelled" if notice is Notice.CANCELLED else "declined"

    def _arrive(self, ride_id: bytes) -> None:
        """At the kerb: the rider says the PIN, or is not there."""
        rider = self.world.riders_by_ride.get(ride_id)
        pin = rider.pin_for(ride_id) if rider is not None else None
        if pin is not None:
            self.run("pickup", lambda q: q.pickup(ride_id, pin, self.world.now))
            return
        self.later(self.policy.no_show_wait_ms, self._no_show, ride_id)

    def _no_show(self, ride_id: bytes) -> None:
        if self._state(ride_id) is RideState.CONFIRMED:
            self.run("cancel", lambda q: q.cancel(ride_id, CancelReason.NO_SHOW, self.world.now))

    def _state(self, ride_id: bytes) -> RideState | None:
        return next((r.state for r in self.peer.rides() if r.ride_id == ride_id), None)

    def _maybe_leave(self, _: Any = None) -> None:
        """Leave once no ride is in progress (checked again every few minutes)."""
        if self.host is None or self.host.left_ms is not None:
            return
        self.log.outcome = "done"
        if all(r.state in ENDED for r in self.peer.rides()):
            self.leave()
        else:
            self.later(5 * MINUTE_MS, self._maybe_leave)
