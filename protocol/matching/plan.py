"""Pooling: one schedule for every rider of an offer, with seats and detour shared.

A ride's stops are ordered along the route; each stop's detour delays every
stop after it. The driver picks one departure time inside the offer's
window that puts every pickup inside its rider's window (docs/matching.md
§Pooling). With a single rider this reduces to the one-pair time rule.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

from protocol.errors import LocalError, describe
from protocol.matching.outcome import Candidate, Misfit, Rejected
from protocol.matching.params import MatchParams
from protocol.matching.places import OpenOffer


@dataclass(frozen=True, slots=True)
class Schedule:
    """A feasible plan: the departure and each rider's pickup, by request id."""

    departure_ms: int
    pickup_ms: dict[bytes, int]


@dataclass(frozen=True, slots=True)
class Conflict:
    """Why riders cannot share the offer: the misfit and its detail."""

    misfit: Misfit
    detail: str


def along_to_ms(along_m: float, length_m: float, duration_ms: float, delay_ms: float) -> int:
    """Driving time from the route's start to ``along_m``, plus earlier stops' delay."""
    return math.floor(along_m / length_m * duration_ms + delay_ms)


def schedule(
    offer: OpenOffer, riders: Sequence[Candidate], params: MatchParams
) -> Schedule | Conflict:
    """Seat and time plan for ``riders`` together on ``offer`` (detour budget is checked apart)."""
    # Drop-offs before pickups at one point: the seat is free before it is taken.
    stops = sorted(
        [(c.dropoff_along_m, 0, c.request_id, c) for c in riders]
        + [(c.pickup_along_m, 1, c.request_id, c) for c in riders],
        key=lambda s: s[:3],
    )
    delay_ms = 0.0
    on_board = 0
    delays: dict[bytes, float] = {}
    for _, is_pickup, request_id, c in stops:
        if is_pickup:
            delays[request_id] = delay_ms
            on_board += c.seats
            if on_board > offer.seats:
                return Conflict(
                    Misfit.SEATS,
                    f"{on_board} seats needed at {c.pickup_along_m:.0f} m along: "
                    f"offer has {offer.seats}",
                )
            delay_ms += c.pickup_detour_m / params.speed_mps * 1000.0
        else:
            on_board -= c.seats
            delay_ms += c.dropoff_detour_m / params.speed_mps * 1000.0

    g = offer.geometry
    duration_ms = float(offer.duration_s * 1000)
    earliest = offer.departure.start_ms
    latest = offer.departure.end_ms
    for c in riders:
        lo, hi = c.pickup_reach_m
        t_lo = along_to_ms(lo, g.length_m, duration_ms, delays[c.request_id])
        t_hi = along_to_ms(hi, g.length_m, duration_ms, delays[c.request_id])
        earliest = max(earliest, c.window.start_ms - t_hi)
        latest = min(latest, c.window.end_ms - t_lo)
    if earliest > latest:
        return Conflict(
            Misfit.TIME,
            "no departure in the offer's window reaches every pickup inside its window"
            if len(riders) > 1
            else f"the driver passes the pickup too early or too late for the window "
            f"({(earliest - latest) / 1000:.0f} s apart)",
        )
    pickups = {
        c.request_id: min(
            max(
                earliest
                + along_to_ms(c.pickup_along_m, g.length_m, duration_ms, delays[c.request_id]),
                c.window.start_ms,
            ),
            c.window.end_ms,
        )
        for c in riders
    }
    return Schedule(earliest, pickups)


def check_riders(offer: OpenOffer, request_id: bytes, riders: Sequence[Candidate]) -> None:
    """Raise ``LocalError`` unless ``riders`` are other requests' candidates of ``offer``."""
    for c in riders:
        if c.offer_id != offer.offer_id:
            raise LocalError(
                describe("riders", c.offer_id.hex(), f"not of offer {offer.offer_id.hex()}")
            )
        if c.request_id == request_id:
            raise LocalError(describe("riders", c.request_id.hex(), "request is already a rider"))


def join(
    offer: OpenOffer, candidate: Candidate, riders: Sequence[Candidate], params: MatchParams
) -> Candidate | Rejected:
    """``candidate`` re-planned to ride along with ``riders``: detour budget, seats, windows.

    These are the last checks of ``evaluate`` (docs/matching.md §3, checks 5-6);
    nothing before them depends on other riders, so a candidate found once
    can be joined to any later set of riders without its geometry again.
    """
    check_riders(offer, candidate.request_id, riders)
    total_m = candidate.detour_m
    for c in sorted(riders, key=lambda c: c.request_id):
        total_m += c.detour_m
    if total_m > offer.max_detour_m or total_m / params.speed_mps > offer.max_detour_s:
        shared = f" with {len(riders)} other riders" if riders else ""
        return Rejected(
            offer.offer_id,
            candidate.request_id,
            Misfit.DETOUR,
            f"detour {total_m:.0f} m / {total_m / params.speed_mps:.0f} s{shared}, "
            f"limit {offer.max_detour_m} m / {offer.max_detour_s} s",
        )
    plan = schedule(offer, (*riders, candidate), params)
    if isinstance(plan, Conflict):
        return Rejected(offer.offer_id, candidate.request_id, plan.misfit, plan.detail)
    c = candidate
    pickup_ms = plan.pickup_ms[c.request_id]
    wait_s = (pickup_ms - c.window.start_ms) / 1000
    return Candidate(
        c.offer_id, c.request_id, score(c.detour_s, wait_s, c.walk_m, params),
        c.pickup_along_m, c.dropoff_along_m, c.walk_m, c.detour_m, c.detour_s, wait_s,
        pickup_ms, c.shared_m, c.cost_minor, c.seats, c.window,
        c.pickup_detour_m, c.dropoff_detour_m, c.pickup_reach_m,
    )  # fmt: skip


def retimed(
    offer: OpenOffer, riders: Sequence[Candidate], params: MatchParams
) -> tuple[Candidate, ...]:
    """``riders`` with pickup time, wait and score from their shared schedule, in pickup order.

    Raises ``LocalError`` if the riders cannot share the offer: ``evaluate``
    admits riders one at a time, so a caller that obeys it never meets this.
    """
    plan = schedule(offer, riders, params)
    if isinstance(plan, Conflict):
        raise LocalError(f"riders cannot share offer {offer.offer_id.hex()}: {plan.detail}")
    out = []
    for c in riders:
        pickup_ms = plan.pickup_ms[c.request_id]
        wait_s = (pickup_ms - c.window.start_ms) / 1000
        out.append(
            dataclasses.replace(
                c,
                pickup_ms=pickup_ms,
                wait_s=wait_s,
                score=score(c.detour_s, wait_s, c.walk_m, params),
            )
        )
    out.sort(key=lambda c: (c.pickup_along_m, c.request_id))
    return tuple(out)


def score(detour_s: float, wait_s: float, walk_m: float, params: MatchParams) -> float:
    """The ranking score in weighted seconds; lower is better."""
    return (
        params.detour_weight * detour_s
        + params.wait_weight * wait_s
        + params.walk_weight * (walk_m / params.walk_speed_mps)
    )
