"""A protocol-level walk-through on embedded data: what the peer app does, step by step.

Real keys are made, real offers and requests are cut, signed, encoded, gossip-
validated and matched by the same ``protocol/`` code the node runs; attacks on
the wire are shown being rejected. Nothing here is mocked.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

from protocol import geo
from protocol.envelope import Signed
from protocol.errors import RemoteError
from protocol.fields import CostShare, GeoPoint, Polyline, TimeWindow
from protocol.identity import Identity
from protocol.matching import (
    Assignment,
    Candidate,
    OfferIndex,
    OpenOffer,
    OpenRequest,
    Rejected,
    evaluate,
    match_batch,
)
from protocol.messages import GossipMessage, RideOffer, RideRequest
from protocol.signing import seal
from protocol.validation import ReplayWindow, check_semantics, open_gossip

#: Start of the scripted morning: 2027-03-01 08:00 Asia/Jerusalem, in Unix ms.
START_MS = 1_803_535_200_000
MINUTE_MS = 60_000


@dataclass(frozen=True, slots=True)
class DriverPlan:
    name: str
    waypoints: tuple[tuple[float, float], ...]
    seats: int
    depart_in_min: int


@dataclass(frozen=True, slots=True)
class RiderPlan:
    name: str
    pickup: tuple[float, float]
    dropoff: tuple[float, float]
    window_in_min: tuple[int, int]


# Tel Aviv, where La'Zooz began: two commutes along real arteries.
DRIVERS = (
    DriverPlan(
        "Dana",
        (
            (32.1133, 34.8044),  # Ramat Aviv
            (32.1010, 34.7935),  # Namir Road
            (32.0870, 34.7860),  # Arlozorov
            (32.0740, 34.7790),  # Ibn Gabirol
            (32.0620, 34.7700),  # Allenby
            (32.0504, 34.7522),  # Jaffa
        ),
        seats=3,
        depart_in_min=10,
    ),
    DriverPlan(
        "Yossi",
        (
            (32.1624, 34.8447),  # Herzliya
            (32.1300, 34.8200),  # Ayalon north
            (32.1000, 34.8010),  # Ayalon, Rokach
            (32.0744, 34.7925),  # Azrieli
            (32.0400, 34.7890),  # Holon junction
            (32.0158, 34.7874),  # Holon
        ),
        seats=2,
        depart_in_min=5,
    ),
)

RIDERS = (
    RiderPlan("Noa", (32.0955, 34.7905), (32.0550, 34.7570), (15, 40)),
    RiderPlan("Amir", (32.1080, 34.7990), (32.0760, 34.7800), (10, 30)),
    RiderPlan("Lior", (32.1550, 34.8390), (32.0750, 34.7935), (0, 25)),
    RiderPlan("Maya", (32.0880, 34.7880), (32.0210, 34.7880), (20, 50)),
)


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    identity: Identity


@dataclass(frozen=True, slots=True)
class PublishedOffer:
    driver: Member
    full_route: Polyline
    signed: Signed[RideOffer]


@dataclass(frozen=True, slots=True)
class PublishedRequest:
    rider: Member
    pickup: GeoPoint
    dropoff: GeoPoint
    signed: Signed[RideRequest]


@dataclass(frozen=True, slots=True)
class Rejection:
    attack: str
    reason: str
    message: str


def densify(waypoints: tuple[tuple[float, float], ...], step_m: float = 120.0) -> Polyline:
    """A route through ``waypoints`` with a vertex about every ``step_m`` metres."""
    points: list[GeoPoint] = []
    for (lat0, lon0), (lat1, lon1) in itertools.pairwise(waypoints):
        a, b = GeoPoint.from_degrees(lat0, lon0), GeoPoint.from_degrees(lat1, lon1)
        n = max(1, round(geo.distance_m(a, b) / step_m))
        points.extend(
            GeoPoint.from_degrees(lat0 + (lat1 - lat0) * k / n, lon0 + (lon1 - lon0) * k / n)
            for k in range(n)
        )
    points.append(GeoPoint.from_degrees(*waypoints[-1]))
    return Polyline.from_points(points)


def make_members(rng: random.Random) -> tuple[list[Member], list[Member]]:
    """Identities from seeds the caller's generator draws (the node uses os.urandom)."""
    drivers = [Member(p.name, Identity.from_seed(rng.randbytes(32))) for p in DRIVERS]
    riders = [Member(p.name, Identity.from_seed(rng.randbytes(32))) for p in RIDERS]
    return drivers, riders


def publish_offers(
    drivers: list[Member], rng: random.Random, zone: geo.PrivacyZone
) -> list[PublishedOffer]:
    out = []
    for member, plan in zip(drivers, DRIVERS, strict=True):
        full = densify(plan.waypoints)
        published = geo.cut_privacy_zone(full, zone, rng)
        depart = START_MS + plan.depart_in_min * MINUTE_MS
        offer = RideOffer(
            offer_id=rng.randbytes(16),
            seq=0,
            created_ms=START_MS,
            expires_ms=depart + 30 * MINUTE_MS,
            route=published,
            departure=TimeWindow(depart, depart + 10 * MINUTE_MS),
            # An urban average of 30 km/h; the router (issue 7) will estimate this.
            duration_s=round(geo.route_length_m(published) / (30 / 3.6)),
            seats=plan.seats,
            max_detour_m=2_500,
            max_detour_s=480,
            cost=CostShare("ILS", 500, 60),
        )
        check_semantics(offer)
        out.append(PublishedOffer(member, full, seal(member.identity, offer)))
    return out


def publish_requests(riders: list[Member], rng: random.Random) -> list[PublishedRequest]:
    out = []
    for member, plan in zip(riders, RIDERS, strict=True):
        pickup, dropoff = GeoPoint.from_degrees(*plan.pickup), GeoPoint.from_degrees(*plan.dropoff)
        start, end = plan.window_in_min
        request = RideRequest(
            request_id=rng.randbytes(16),
            seq=0,
            created_ms=START_MS,
            expires_ms=START_MS + end * MINUTE_MS,
            pickup_cell=geo.cell_of(pickup),
            dropoff_cell=geo.cell_of(dropoff),
            window=TimeWindow(START_MS + start * MINUTE_MS, START_MS + end * MINUTE_MS),
            seats=1,
            max_walk_m=300,
        )
        check_semantics(request)
        out.append(PublishedRequest(member, pickup, dropoff, seal(member.identity, request)))
    return out


def receive_all(messages: list[bytes], now_ms: int) -> list[Signed[GossipMessage]]:
    """What a listening peer does with each gossip message: the full pipeline."""
    replay = ReplayWindow()
    return [open_gossip(raw, now_ms=now_ms, replay=replay) for raw in messages]


def attacks(offer: Signed[RideOffer], now_ms: int) -> list[Rejection]:
    """Tamper with a real offer in the ways an attacker would, and record each rejection."""
    flipped = bytearray(offer.raw)
    flipped[len(flipped) // 2] ^= 0x01
    bogus_kind = offer.raw.replace(b"ride.offer", b"ride.ofFer")
    cases: list[tuple[str, bytes, int, bool]] = [
        ("one bit flipped in transit", bytes(flipped), now_ms, False),
        ("truncated by a broken relay", offer.raw[:-9], now_ms, False),
        ("kind renamed", bogus_kind, now_ms, False),
        ("replayed to the same peer", offer.raw, now_ms, True),
        ("replayed three hours later", offer.raw, now_ms + 180 * MINUTE_MS, False),
        ("oversized junk", b"\x93" + b"\x00" * 70_000, now_ms, False),
    ]
    out = []
    for attack, data, at_ms, seen_before in cases:
        replay = ReplayWindow()
        if seen_before:
            open_gossip(offer.raw, now_ms=now_ms, replay=replay)
        try:
            open_gossip(data, now_ms=at_ms, replay=replay)
        except RemoteError as exc:
            out.append(Rejection(attack, exc.reason, str(exc)))
        else:  # pragma: no cover - would mean the pipeline accepted forged input
            raise AssertionError(f"the pipeline accepted: {attack}")
    return out


@dataclass(frozen=True, slots=True)
class RevealCheck:
    """A rider's best coarse candidate, checked again on the exact points."""

    rider: str
    driver: str
    coarse: Candidate
    exact: Candidate | Rejected


@dataclass(frozen=True, slots=True)
class Result:
    drivers: list[Member]
    riders: list[Member]
    offers: list[PublishedOffer]
    requests: list[PublishedRequest]
    received: list[Signed[GossipMessage]]
    rejections: list[Rejection]
    coarse: dict[str, list[Candidate]]
    reveals: list[RevealCheck]
    assignment: Assignment
    names: dict[bytes, str]


def run(rng: random.Random) -> Result:
    """The whole walk-through; every random choice comes from ``rng``."""
    drivers, riders = make_members(rng)
    offers = publish_offers(drivers, rng, geo.PrivacyZone())
    requests = publish_requests(riders, rng)
    now_ms = START_MS + 1_000
    received = receive_all(
        [o.signed.raw for o in offers] + [q.signed.raw for q in requests], now_ms
    )
    rejections = attacks(offers[0].signed, now_ms)

    # Every peer projects its area to metres around the centre of its own topic cell.
    home = requests[0].pickup
    projection = geo.LocalProjection.around(geo.cell_center(geo.topic_cell(home)))
    open_offers = [
        OpenOffer.from_message(s.message, s.author, projection)
        for s in received
        if isinstance(s.message, RideOffer)
    ]
    coarse_requests = [
        OpenRequest.from_message(s.message, s.author, projection)
        for s in received
        if isinstance(s.message, RideRequest)
    ]
    names = {o.offer_id: p.driver.name for o, p in zip(open_offers, offers, strict=True)}
    names |= {q.request_id: p.rider.name for q, p in zip(coarse_requests, requests, strict=True)}

    # Stage 1, coarse: each rider ranks the offers it heard against its own cells.
    index = OfferIndex(open_offers)
    coarse = {names[q.request_id]: index.candidates(q) for q in coarse_requests}

    # Stage 2, exact: after accepting, the rider reveals its points to that driver only.
    by_offer = {o.offer_id: o for o in open_offers}
    exact_requests = [
        q.revealed(p.pickup, p.dropoff, projection)
        for q, p in zip(coarse_requests, requests, strict=True)
    ]
    reveals = []
    for exact in exact_requests:
        name = names[exact.request_id]
        if coarse[name]:
            best = coarse[name][0]
            checked = evaluate(by_offer[best.offer_id], exact)
            reveals.append(RevealCheck(name, names[best.offer_id], best, checked))
    assignment = match_batch(open_offers, exact_requests)
    return Result(
        drivers, riders, offers, requests, received, rejections, coarse, reveals, assignment, names
    )


def summary(result: Result) -> dict[str, object]:
    """The walk-through's outcome as plain JSON-able data."""
    n = result.names
    return {
        "members": {m.name: m.identity.member_id for m in [*result.drivers, *result.riders]},
        "offers": [
            {
                "driver": o.driver.name,
                "bytes": len(o.signed.raw),
                "route_m": round(geo.route_length_m(o.full_route)),
                "published_m": round(geo.route_length_m(o.signed.message.route)),
                "topics": list(geo.route_topics(o.signed.message.route)),
            }
            for o in result.offers
        ],
        "requests": [
            {
                "rider": q.rider.name,
                "bytes": len(q.signed.raw),
                "pickup_cell": hex(q.signed.message.pickup_cell),
                "dropoff_cell": hex(q.signed.message.dropoff_cell),
            }
            for q in result.requests
        ],
        "accepted": len(result.received),
        "rejected": {x.attack: x.reason for x in result.rejections},
        "coarse_candidates": {
            rider: [n[c.offer_id] for c in found] for rider, found in result.coarse.items()
        },
        "exact_checks": {
            r.rider: {
                "driver": r.driver,
                "fits": isinstance(r.exact, Candidate),
                "why_not": r.exact.misfit.name if isinstance(r.exact, Rejected) else None,
            }
            for r in result.reveals
        },
        "rides": {
            n[offer_id]: [
                {
                    "rider": n[c.request_id],
                    "pickup_along_m": round(c.pickup_along_m),
                    "shared_m": round(c.shared_m),
                    "detour_m": round(c.detour_m),
                    "wait_s": round(c.wait_s),
                    "cost_minor": c.cost_minor,
                }
                for c in riders
            ]
            for offer_id, riders in result.assignment.rides.items()
        },
        "unmatched": [n[r] for r in result.assignment.unmatched],
    }
