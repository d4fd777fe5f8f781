"""Matching as the Peer runs it: own requests against offers heard, own offers against
requests heard, and the driver's exact check of revealed points (SPEC §11.9).

A rider matches its own requests with its exact points (it knows them), so
what it is shown is what the driver's exact check will find; a driver sees
requests only as coarse cells until a rider reveals. Candidates are kept per
own request or offer and dropped when the other side's message expires.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

from protocol.fields import GeoPoint, PublicKey
from protocol.geo import LocalProjection
from protocol.matching import (
    Candidate,
    MatchParams,
    Misfit,
    OpenOffer,
    OpenRequest,
    Place,
    Rejected,
    evaluate,
)
from protocol.messages import RideOffer, RideRequest
from protocol.peer.book import Booked, Key, offer_reads
from protocol.peer.notices import Match
from protocol.peer.own import OwnOffer, OwnRequest
from protocol.ride.messages import DeclineReason
from protocol.ride.terms import RideTerms
from protocol.shared import SharedOpening

#: How a misfit of the exact check becomes the driver's reason to decline.
DECLINE_FOR: dict[Misfit, DeclineReason] = {
    Misfit.SEATS: DeclineReason.NO_SEATS,
    Misfit.TIME: DeclineReason.TOO_LATE,
    Misfit.OFF_CORRIDOR: DeclineReason.OFF_ROUTE,
    Misfit.WRONG_DIRECTION: DeclineReason.OFF_ROUTE,
    Misfit.TOO_SHORT: DeclineReason.OFF_ROUTE,
    Misfit.DETOUR: DeclineReason.OFF_ROUTE,
}


#: A pair evaluated: (side, own id, what matching read of the own side), and what it
#: read of the other side.
_PairKey = tuple[tuple[str, bytes, Hashable], Hashable]

#: Pair verdicts a Matcher keeps (oldest forgotten first): a busy area's offers
#: times the user's own open items, with room to spare.
MAX_VERDICTS = 16_384


@dataclass(frozen=True, slots=True)
class ExactMisfit:
    """The exact check failed: why, and the reason the driver declines with."""

    reason: DeclineReason
    detail: str


class Matcher:
    """Candidates of the user's own requests and offers, kept up to date as gossip arrives."""

    def __init__(
        self,
        me: PublicKey,
        projection: LocalProjection,
        params: MatchParams,
        shared: SharedOpening | None = None,
    ) -> None:
        self.me = me
        self.projection = projection
        self.params = params
        #: Where others' offers and requests, put in this projection, are shared (a sim).
        self.shared = shared
        #: Own request id -> (driver, offer id) -> match.
        self.rider: dict[bytes, dict[Key, Match]] = {}
        #: Own offer id -> (rider, request id) -> match.
        self.driver: dict[bytes, dict[Key, Match]] = {}
        #: Own offer id -> (what matching reads of it, its form).
        self._own_offers: dict[bytes, tuple[Hashable, OpenOffer]] = {}
        self._own_requests: dict[bytes, OpenRequest] = {}
        # Verdicts by what matching reads of each side: an offer or request is
        # republished every few minutes with a new seq and new times but, unless
        # its seats changed, the same verdict against the same counterpart.
        self._verdicts: dict[_PairKey, Match | None] = {}

    # -- the user's side

    def own_offer(self, own: OwnOffer) -> OpenOffer:
        """The matching form of an own offer as last published (seats change with rides)."""
        return self._own_offer(own)[1]

    def _own_offer(self, own: OwnOffer) -> tuple[Hashable, OpenOffer]:
        reads = offer_reads(self.me, own.offer)
        held = self._own_offers.get(own.offer_id)
        if held is None or held[0] != reads:
            held = (reads, OpenOffer.from_message(own.offer, self.me, self.projection))
            self._own_offers[own.offer_id] = held
        return held

    def own_request(self, own: OwnRequest) -> OpenRequest:
        """An own request with its exact points: the rider knows them."""
        found = self._own_requests.get(own.request_id)
        if found is None:
            coarse = OpenRequest.from_message(own.request, self.me, self.projection)
            found = coarse.revealed(own.pickup, own.dropoff, self.projection)
            self._own_requests[own.request_id] = found
        return found

    def request_added(self, own: OwnRequest, offers: Iterable[Booked[RideOffer]]) -> list[Match]:
        """Match a new own request against every offer held; the new matches, best first."""
        found = self.rider.setdefault(own.request_id, {})
        request = self.own_request(own)
        new = []
        for b in offers:
            match = self._rider_match(request, b)
            if match is not None:
                found[(b.author, b.message.offer_id)] = match
                new.append(match)
        return sorted(new, key=lambda m: m.rank_key)

    def offer_added(self, own: OwnOffer, requests: Iterable[Booked[RideRequest]]) -> list[Match]:
        """Match a new own offer against every request held; the new matches, best first."""
        found = self.driver.setdefault(own.offer_id, {})
        reads, offer = self._own_offer(own)
        new = []
        for b in requests:
            match = self._driver_match(offer, reads, b)
            if match is not None:
                found[(b.author, b.message.request_id)] = match
                new.append(match)
        return sorted(new, key=lambda m: m.rank_key)

    def forget_own(self, own_id: bytes) -> None:
        self.rider.pop(own_id, None)
        self.driver.pop(own_id, None)
        self._own_requests.pop(own_id, None)
        self._own_offers.pop(own_id, None)
        self._verdicts = {k: v for k, v in self._verdicts.items() if k[0][1] != own_id}

    # -- others' side

    def offer_heard(
        self, b: Booked[RideOffer], requests: Iterable[OwnRequest]
    ) -> dict[bytes, Match]:
        """An offer arrived (new or newer): own open requests it now fits, newly."""
        key = (b.author, b.message.offer_id)
        new: dict[bytes, Match] = {}
        for own in requests:
            found = self.rider.setdefault(own.request_id, {})
            had = found.pop(key, None)
            match = self._rider_match(self.own_request(own), b)
            if match is not None:
                found[key] = match
                if had is None:
                    new[own.request_id] = match
        return new

    def request_heard(
        self, b: Booked[RideRequest], offers: Iterable[OwnOffer]
    ) -> dict[bytes, Match]:
        """A request arrived (new or newer): own open offers it now fits, newly."""
        key = (b.author, b.message.request_id)
        new: dict[bytes, Match] = {}
        for own in offers:
            found = self.driver.setdefault(own.offer_id, {})
            had = found.pop(key, None)
            reads, offer = self._own_offer(own)
            match = self._driver_match(offer, reads, b)
            if match is not None:
                found[key] = match
                if had is None:
                    new[own.offer_id] = match
        return new

    def offer_gone(self, key: Key) -> None:
        for found in self.rider.values():
            found.pop(key, None)

    def request_gone(self, key: Key) -> None:
        for found in self.driver.values():
            found.pop(key, None)

    def candidates(self, own_id: bytes) -> list[Match]:
        found = self.rider.get(own_id) or self.driver.get(own_id) or {}
        return sorted(found.values(), key=lambda m: m.rank_key)

    # -- the driver's exact check (SPEC §11.10)

    def exact_check(
        self,
        own: OwnOffer,
        terms: RideTerms,
        rider: PublicKey,
        points: tuple[GeoPoint, GeoPoint],
        riders: Sequence[Candidate],
    ) -> Match | ExactMisfit:
        """Do the revealed points fit the offer, alongside the riders already confirmed?

        The window and walk are the proposal's (``terms``): the contract the
        ride is checked against, whether or not this Peer heard the request.
        """
        offer = OpenOffer.from_message(own.offer, self.me, self.projection)
        offer = _with_seats(offer, own.base_seats)
        pickup, dropoff = points
        place_p = self.projection.point_xy(pickup)
        place_d = self.projection.point_xy(dropoff)
        exact = OpenRequest(
            terms.request_id,
            rider,
            Place(*place_p),
            Place(*place_d),
            terms.window,
            terms.seats,
            terms.max_walk_m,
        )
        outcome = evaluate(offer, exact, self.params, riders)
        if isinstance(outcome, Rejected):
            return ExactMisfit(DECLINE_FOR[outcome.misfit], outcome.detail)
        return Match(outcome, self.me, rider, exact=True)

    # -- one pair

    def _rider_match(self, request: OpenRequest, b: Booked[RideOffer]) -> Match | None:
        if b.author == self.me:
            return None
        # The own request's form is fixed for its id (exact points, kept until forgotten).
        key = (("rider", request.request_id, None), b.matching_key())
        if key in self._verdicts:
            return self._verdicts[key]
        outcome = evaluate(b.open_offer(self.projection, self.shared), request, self.params)
        match = None if isinstance(outcome, Rejected) else Match(outcome, b.author, self.me, True)
        return self._remember(key, match)

    def _driver_match(
        self, offer: OpenOffer, reads: Hashable, b: Booked[RideRequest]
    ) -> Match | None:
        if b.author == self.me:
            return None
        key = (("driver", offer.offer_id, reads), b.matching_key())
        if key in self._verdicts:
            return self._verdicts[key]
        outcome = evaluate(offer, b.open_request(self.projection, self.shared), self.params)
        match = None if isinstance(outcome, Rejected) else Match(outcome, self.me, b.author, False)
        return self._remember(key, match)

    def _remember(self, key: _PairKey, match: Match | None) -> Match | None:
        self._verdicts[key] = match
        if len(self._verdicts) > MAX_VERDICTS:
            del self._verdicts[next(iter(self._verdicts))]
        return match


def _with_seats(offer: OpenOffer, seats: int) -> OpenOffer:
    """The offer with all the seats the user offered: pooled riders are passed in
    to ``evaluate``, so seats taken by them must not be taken off twice."""
    if offer.seats == seats:
        return offer
    return OpenOffer(
        offer.offer_id,
        offer.driver,
        offer.route,
        offer.departure,
        offer.duration_s,
        seats,
        offer.max_detour_m,
        offer.max_detour_s,
        offer.cost,
    )
