"""How the control API shows the Peer's objects as JSON: plain dicts, ids in hex.

Members appear as ``{"member_id": "lz1…", "public_key": hex}``: the member id
is what people read and compare, the key is what commands take. Times are
Unix milliseconds (``*_ms``), distances metres, money minor units, balances
milli-tokens, as everywhere in lazooz.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable
from typing import Any

from protocol.fields import CostShare, GeoPoint, PublicKey, TimeWindow
from protocol.identity import member_id
from protocol.ledger.book import Ledger
from protocol.ledger.credit import CreditLine
from protocol.ledger.rating import RideRating
from protocol.ledger.receipt import Receipt
from protocol.ledger.reputation import Reputation
from protocol.ledger.wire import ReceiptHalf
from protocol.matching import Candidate
from protocol.peer.notices import (
    BalanceChanged,
    CandidatesFound,
    ForkFound,
    InputRejected,
    Match,
    Notification,
    OwnClosed,
    ReceiptRecorded,
    RideUpdated,
)
from protocol.peer.own import OwnOffer, OwnRequest
from protocol.peer.ride import RideView

Json = dict[str, Any]


def member(key: PublicKey) -> Json:
    return {"member_id": member_id(key), "public_key": key.hex()}


def window(w: TimeWindow) -> Json:
    return {"start_ms": w.start_ms, "end_ms": w.end_ms}


def cost(c: CostShare) -> Json:
    return {"currency": c.currency, "base_minor": c.base_minor, "per_km_minor": c.per_km_minor}


def point(p: GeoPoint) -> list[float]:
    return [p.lat, p.lon]


def offer(own: OwnOffer) -> Json:
    o = own.offer
    return {
        "offer_id": o.offer_id.hex(),
        "status": own.status,
        "seats": own.base_seats,
        "free_seats": own.free_seats,
        "departure": window(o.departure),
        "duration_s": o.duration_s,
        "max_detour_m": o.max_detour_m,
        "max_detour_s": o.max_detour_s,
        "cost": cost(o.cost),
        "created_ms": o.created_ms,
        "expires_ms": o.expires_ms,
        "seq": o.seq,
        "route": [point(p) for p in own.full_route],
        "published_route": [point(p) for p in o.route],
        "topics": list(own.topics),
        "rides": {ride_id.hex(): seats for ride_id, seats in sorted(own.taken.items())},
    }


def request(own: OwnRequest) -> Json:
    r = own.request
    return {
        "request_id": r.request_id.hex(),
        "status": own.status,
        "pickup": point(own.pickup),
        "dropoff": point(own.dropoff),
        "pickup_cell": f"{r.pickup_cell:x}",
        "dropoff_cell": f"{r.dropoff_cell:x}",
        "window": window(r.window),
        "seats": r.seats,
        "max_walk_m": r.max_walk_m,
        "created_ms": r.created_ms,
        "expires_ms": r.expires_ms,
        "seq": r.seq,
        "topic": own.topic,
        "ride_id": own.ride_id.hex() if own.ride_id else None,
    }


def candidate(c: Candidate) -> Json:
    return {
        "score": c.score,
        "walk_m": round(c.walk_m, 1),
        "detour_m": round(c.detour_m, 1),
        "detour_s": round(c.detour_s, 1),
        "wait_s": round(c.wait_s, 1),
        "pickup_ms": c.pickup_ms,
        "shared_m": round(c.shared_m, 1),
        "cost_minor": c.cost_minor,
        "seats": c.seats,
        "window": window(c.window),
    }


def match(m: Match, reputation: Reputation | None = None) -> Json:
    """A candidate; with ``reputation``, the other member's (the driver's for a rider)."""
    out = {
        "offer_id": m.offer_id.hex(),
        "request_id": m.request_id.hex(),
        "driver": member(m.driver),
        "rider": member(m.rider),
        "exact": m.exact,
        **candidate(m.candidate),
    }
    if reputation is not None:
        out["reputation"] = stars(reputation)
    return out


def stars(rep: Reputation) -> Json:
    """A reputation as ``{count, mean}``: mean stars to two places, null with no rating yet."""
    return {"count": rep.count, "mean": None if rep.mean is None else round(rep.mean, 2)}


def ride(r: RideView) -> Json:
    return {
        "ride_id": r.ride_id.hex(),
        "role": r.role.value,
        "state": r.state.value,
        "counterparty": member(r.counterparty),
        "offer_id": r.offer_id.hex(),
        "request_id": r.request_id.hex(),
        "seats": r.seats,
        "pin": r.pin,
        "pickup_ms": r.pickup_ms,
        "endings": [{"by": role.value, "reason": reason.lower()} for role, reason in r.endings],
    }


def rated_ride(r: RideView, rating: int | None, reputation: Reputation) -> Json:
    """A ride as its party sees it: the stars it gave (if any), the other party's reputation."""
    return {**ride(r), "rating": rating, "counterparty_reputation": stars(reputation)}


def receipt(r: Receipt) -> Json:
    return {
        "ride_id": r.ride_id.hex(),
        "offer_id": r.offer_id.hex(),
        "request_id": r.request_id.hex(),
        "driver": member(r.driver),
        "rider": member(r.rider),
        "pickup_cell": f"{r.pickup_cell:x}",
        "dropoff_cell": f"{r.dropoff_cell:x}",
        "distance_m": r.distance_m,
        "seats": r.seats,
        "started_ms": r.started_ms,
        "ended_ms": r.ended_ms,
        "cost": cost(r.cost),
        "cost_minor": r.cost_minor,
    }


def credit_line(line: CreditLine) -> Json:
    return {
        "ride_id": line.ride_id.hex(),
        "driver": member(line.driver),
        "rider": member(line.rider),
        "ended_ms": line.ended_ms,
        "verdict": line.verdict.value,
        "base_milli": line.base_milli,
        "pair_index": line.pair_index,
        "after_pair_milli": line.after_pair_milli,
        "cap_left_milli": line.cap_left_milli,
        "credited_milli": line.credited_milli,
        "text": line.describe(),
    }


def receipts(ledger: Ledger, me: PublicKey, lines: Iterable[CreditLine]) -> list[Json]:
    """The receipt halves in ``me``'s own log, oldest first, each with how credit saw it
    and the stars ``me`` gave the other party (SPEC §8.7), if any."""
    by_ride = {line.ride_id: line for line in lines}
    log = ledger.log(me)
    out = []
    for entry in log or ():
        half = entry.message.payload
        if not isinstance(half, ReceiptHalf):
            continue
        line = by_ride.get(half.receipt.ride_id)
        given = log.rating_of(entry.message.seq) if log else None
        rating = given.message.payload if given else None
        out.append(
            {
                "seq": entry.message.seq,
                "entry_id": entry.message_id.hex(),
                "time_ms": entry.message.time_ms,
                "half": "proposal" if half.is_proposal else "agreement",
                "receipt": receipt(half.receipt),
                "verdict": line.verdict.value if line else None,
                "credited_milli": line.credited_milli if line else 0,
                "rating": rating.stars if isinstance(rating, RideRating) else None,
            }
        )
    return out


def notification(n: Notification) -> Json:
    """A notification as an event's data; ``type`` is its class name."""
    body: Json
    match n:
        case CandidatesFound():
            body = {
                "role": n.role.value,
                "own_id": n.own_id.hex(),
                "matches": [match(m) for m in n.matches],
            }
        case RideUpdated():
            body = {
                "ride_id": n.ride_id.hex(),
                "role": n.role.value,
                "notice": n.notice.value,
                "state": n.state.value,
                "counterparty": member(n.counterparty),
                "offer_id": n.offer_id.hex(),
                "request_id": n.request_id.hex(),
                "pin": n.pin,
                "attempts_left": n.attempts_left,
                "reason": n.reason.lower() if n.reason else None,
                "by": n.by.value if n.by else None,
                "check": match(n.check) if n.check else None,
            }
        case ReceiptRecorded():
            body = {"ride_id": n.ride_id.hex(), "receipt": receipt(n.receipt)}
        case BalanceChanged():
            body = {
                "member": member(n.member),
                "balance_milli": n.balance_milli,
                "before_milli": n.before_milli,
            }
        case InputRejected():
            body = {"channel": n.channel, "reason": n.reason, "detail": n.detail, "count": n.count}
        case ForkFound():
            body = {"author": member(n.author), "seq": n.seq}
        case OwnClosed():
            body = {"kind": n.kind, "own_id": n.own_id.hex(), "why": n.why}
        case _:
            body = {f.name: _plain(getattr(n, f.name)) for f in dataclasses.fields(n)}
    return {"type": type(n).__name__, **body}


def _plain(value: object) -> object:
    """A fallback for a notification type added after this module: bytes as hex."""
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return repr(value)
