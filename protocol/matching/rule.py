"""The matching rule for one (offer, request) pair: ``evaluate``.

Checks run in a fixed order and the first failure is the reported misfit:
seats, time (coarse), corridor, direction, detour, then the pooled
schedule's seats and time. docs/matching.md states each formula; the
vectorised index applies the same formulas and is tested equal to this.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from protocol.matching.geometry import point_to_route, reach_along
from protocol.matching.outcome import Candidate, Misfit, Rejected
from protocol.matching.params import DEFAULT_PARAMS, MatchParams
from protocol.matching.places import OpenOffer, OpenRequest, Place
from protocol.matching.plan import check_riders, join

#: A bounding-box shortcut decides "off corridor" only when clear by this much.
BOX_MARGIN_M = 1.0


@dataclass(frozen=True, slots=True)
class StopFit:
    """How one place meets a route: the rider walks ``walk_m``, the driver detours the rest."""

    distance_m: float  # centre to route
    off_m: float  # edge of the place's disc to route, >= 0
    walk_m: float
    detour_m: float  # 2 * road_factor * (off - walk): out and back
    along_m: float  # position along the route nearest the centre
    reach_m: tuple[float, float]  # positions the place could meet the route at
    in_corridor: bool


def stop_fit(
    offer: OpenOffer, place: Place, max_walk_m: int, params: MatchParams
) -> StopFit | float:
    """How ``place`` meets the offer's route; a lower bound on ``off_m`` if clearly too far.

    The bound (from the route's bounding box) spares the per-segment work for
    most pairs of an all-pairs scan; a margin keeps rounding from deciding.
    """
    g = offer.geometry
    corridor_m = offer.max_detour_m / (2.0 * params.road_factor)
    box_off_m = g.box_distance_m(place.x_m, place.y_m) - place.radius_m
    if box_off_m - max_walk_m > corridor_m + BOX_MARGIN_M:
        return box_off_m
    distance_m, along_m = point_to_route(g, place.x_m, place.y_m)
    off_m = max(0.0, distance_m - place.radius_m)
    walk_m = min(off_m, float(max_walk_m))
    detour_m = 2.0 * params.road_factor * (off_m - walk_m)
    in_corridor = off_m - max_walk_m <= corridor_m
    if place.radius_m > 0 and in_corridor:
        # An exact point in the disc meets the route within this distance of the centre.
        rho = place.radius_m + min(distance_m + place.radius_m, max_walk_m + corridor_m)
        reach = reach_along(g, place.x_m, place.y_m, rho)
    else:
        reach = (along_m, along_m)
    return StopFit(distance_m, off_m, walk_m, detour_m, along_m, reach, in_corridor)


def time_reach_ms(offer: OpenOffer, params: MatchParams) -> tuple[int, int]:
    """When the driver can be anywhere on the route, detours included: a necessary window."""
    return (
        offer.departure.start_ms,
        offer.departure.end_ms + offer.duration_s * 1000 + offer.max_detour_s * 1000,
    )


def evaluate(
    offer: OpenOffer,
    request: OpenRequest,
    params: MatchParams = DEFAULT_PARAMS,
    riders: Sequence[Candidate] = (),
) -> Candidate | Rejected:
    """Does ``request`` fit ``offer`` (alongside ``riders``, already assigned to it)?

    The one exact rule for one pair (docs/matching.md). ``riders`` must be
    candidates of this offer, admitted by earlier calls; pooling re-plans
    them all with the new rider and rejects the pair if any of them breaks.
    """
    check_riders(offer, request.request_id, riders)

    def rejected(misfit: Misfit, detail: str) -> Rejected:
        return Rejected(offer.offer_id, request.request_id, misfit, detail)

    if request.seats > offer.seats:
        return rejected(Misfit.SEATS, f"{request.seats} seats wanted, offer has {offer.seats}")
    w = request.window
    start_ms, end_ms = time_reach_ms(offer, params)
    if w.end_ms < start_ms or w.start_ms > end_ms:
        return rejected(
            Misfit.TIME,
            f"window {w.start_ms}..{w.end_ms} ms misses the drive {start_ms}..{end_ms} ms",
        )

    fits = []
    for name, place in (("pickup", request.pickup), ("drop-off", request.dropoff)):
        fit = stop_fit(offer, place, request.max_walk_m, params)
        if isinstance(fit, float):
            return rejected(
                Misfit.OFF_CORRIDOR,
                f"{name} is over {fit:.0f} m from the route, "
                f"beyond {request.max_walk_m} m of walking and a {offer.max_detour_m} m detour",
            )
        if not fit.in_corridor:
            return rejected(
                Misfit.OFF_CORRIDOR,
                f"{name} is {fit.off_m:.0f} m from the route: walking {request.max_walk_m} m "
                f"leaves a {fit.detour_m:.0f} m detour, limit {offer.max_detour_m} m",
            )
        fits.append(fit)
    pickup, dropoff = fits

    pickup_lo, pickup_hi = pickup.reach_m
    dropoff_hi = dropoff.reach_m[1]
    if dropoff_hi <= pickup_lo:
        return rejected(
            Misfit.WRONG_DIRECTION,
            f"drop-off ({dropoff.along_m:.0f} m along) is not after pickup "
            f"({pickup.along_m:.0f} m along)",
        )
    if dropoff_hi - pickup_lo < params.min_shared_m:
        return rejected(
            Misfit.TOO_SHORT,
            f"shared ride {dropoff_hi - pickup_lo:.0f} m < {params.min_shared_m:.0f} m",
        )
    # Nominal positions: the nearest to the centres that keep the ride long enough.
    latest_pickup = dropoff_hi - params.min_shared_m
    pickup_along = min(pickup.along_m, latest_pickup)
    dropoff_along = max(dropoff.along_m, pickup_along + params.min_shared_m)

    detour_m = pickup.detour_m + dropoff.detour_m
    shared_m = dropoff_along - pickup_along
    alone = Candidate(
        offer_id=offer.offer_id,
        request_id=request.request_id,
        score=0.0,
        pickup_along_m=pickup_along,
        dropoff_along_m=dropoff_along,
        walk_m=pickup.walk_m + dropoff.walk_m,
        detour_m=detour_m,
        detour_s=detour_m / params.speed_mps,
        wait_s=0.0,
        pickup_ms=0,
        shared_m=shared_m,
        cost_minor=offer.cost.for_distance(shared_m),
        seats=request.seats,
        window=request.window,
        pickup_detour_m=pickup.detour_m,
        dropoff_detour_m=dropoff.detour_m,
        pickup_reach_m=(pickup_lo, min(pickup_hi, latest_pickup)),
    )
    return join(offer, alone, riders, params)
