"""User commands with bad input raise typed local errors and change nothing."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest

from protocol.errors import ConfigError, IllegalTransition, LocalError
from protocol.fields import CostShare, GeoPoint, Polyline, TimeWindow
from protocol.identity import Identity
from protocol.peer.errors import BadCommand, UnknownId
from protocol.peer.params import MINUTE_MS, PeerParams, RidePolicy
from protocol.peer.peer import Peer
from protocol.ride.errors import InvalidCommand
from protocol.ride.messages import CancelReason
from protocol.ride.policy import HandshakePolicy
from tests.strategies import NOW_MS
from tests.test_peer_net import DRIVE, TEL_AVIV
from tests.test_ride_flow import DROPOFF, PICKUP

HOUR_MS = 60 * MINUTE_MS


def fresh() -> Peer:
    peer = Peer(Identity.from_seed(bytes([5]) * 32), TEL_AVIV, random.Random(5))
    peer.start(NOW_MS)
    return peer


def offer_args(**changes: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "route": DRIVE,
        "departure": TimeWindow(NOW_MS + 10 * MINUTE_MS, NOW_MS + 20 * MINUTE_MS),
        "duration_s": 660,
        "seats": 3,
        "max_detour_m": 1_000,
        "max_detour_s": 300,
        "cost": CostShare("ILS", 500, 80),
        "expires_ms": NOW_MS + HOUR_MS,
        "now_ms": NOW_MS,
    }
    return {**args, **changes}


def request_args(**changes: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "pickup": PICKUP,
        "dropoff": DROPOFF,
        "window": TimeWindow(NOW_MS, NOW_MS + 30 * MINUTE_MS),
        "seats": 1,
        "max_walk_m": 300,
        "expires_ms": NOW_MS + HOUR_MS,
        "now_ms": NOW_MS,
    }
    return {**args, **changes}


NOWHERE = GeoPoint(91_000_000, 0)
TINY = Polyline.from_degrees([(32.08, 34.78), (32.0805, 34.78)])

BAD: dict[str, tuple[Callable[[Peer], object], type[LocalError], str]] = {
    "offer: no seats": (lambda p: p.offer(**offer_args(seats=0)), BadCommand, "seats"),
    "offer: nine seats": (lambda p: p.offer(**offer_args(seats=9)), BadCommand, "seats"),
    "offer: expired": (
        lambda p: p.offer(**offer_args(expires_ms=NOW_MS - 1)),
        BadCommand,
        "expires_ms",
    ),
    "offer: lives too long": (
        lambda p: p.offer(**offer_args(expires_ms=NOW_MS + 49 * HOUR_MS)),
        BadCommand,
        "expires_ms",
    ),
    "offer: route too short to hide its ends": (
        lambda p: p.offer(**offer_args(route=TINY)),
        BadCommand,
        "too short",
    ),
    "offer: route off the Earth": (
        lambda p: p.offer(**offer_args(route=Polyline.from_points([NOWHERE, PICKUP]))),
        BadCommand,
        "not on Earth",
    ),
    "offer: zero duration": (lambda p: p.offer(**offer_args(duration_s=0)), BadCommand, "duration"),
    "offer: bad currency": (
        lambda p: p.offer(**offer_args(cost=CostShare("shekel", 1, 1))),
        BadCommand,
        "currency",
    ),
    "request: pickup off the Earth": (
        lambda p: p.request(**request_args(pickup=NOWHERE)),
        BadCommand,
        "pickup",
    ),
    "request: window runs backwards": (
        lambda p: p.request(**request_args(window=TimeWindow(NOW_MS + 1, NOW_MS))),
        BadCommand,
        "window",
    ),
    "request: walks too far": (
        lambda p: p.request(**request_args(max_walk_m=5_001)),
        BadCommand,
        "max_walk_m",
    ),
    "request: going nowhere": (
        lambda p: p.request(**request_args(dropoff=PICKUP)),
        BadCommand,
        "dropoff",
    ),
    "propose: unknown request": (
        lambda p: p.propose(bytes(16), bytes(16), NOW_MS),
        UnknownId,
        "request_id",
    ),
    "accept: unknown ride": (lambda p: p.accept(bytes(16), NOW_MS), UnknownId, "ride_id"),
    "cancel: unknown ride": (
        lambda p: p.cancel(bytes(16), CancelReason.OTHER, NOW_MS),
        UnknownId,
        "ride_id",
    ),
    "sign: unknown ride": (lambda p: p.sign_receipt(bytes(16), NOW_MS), UnknownId, "ride_id"),
    "withdraw: unknown id": (lambda p: p.withdraw(bytes(16), NOW_MS), UnknownId, "request_id"),
    "start twice": (lambda p: p.start(NOW_MS), BadCommand, "already started"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_user_commands_raise_typed_errors_and_change_nothing(case: str) -> None:
    call, error, words = BAD[case]
    peer = fresh()
    before = (peer.own_offers(), peer.own_requests(), peer.rides(), peer.book())
    with pytest.raises(error) as raised:
        call(peer)
    assert words in str(raised.value)
    assert (peer.own_offers(), peer.own_requests(), peer.rides(), peer.book()) == before


def test_proposing_an_offer_that_is_not_a_candidate_is_refused() -> None:
    peer = fresh()
    request_id, _ = peer.request(**request_args())
    with pytest.raises(UnknownId, match="offer_id"):
        peer.propose(request_id, bytes(16), NOW_MS)


def test_ride_commands_out_of_turn_are_illegal_transitions() -> None:
    from tests.test_peer_rides import proposed_pair

    net, rider_ride = proposed_pair()
    rider, driver = net.peer("rider"), net.peer("driver")
    with pytest.raises(IllegalTransition):
        rider.accept(rider_ride, net.now_ms)  # only the driver accepts
    with pytest.raises(BadCommand, match="no exact check"):
        driver.confirm(rider_ride, net.now_ms)  # nothing revealed yet
    with pytest.raises(IllegalTransition):
        driver.confirm(rider_ride, net.now_ms, pickup_ms=net.now_ms + MINUTE_MS)
    with pytest.raises(InvalidCommand):
        driver.decline(rider_ride, 99, net.now_ms)  # type: ignore[arg-type]
    with pytest.raises(BadCommand, match="no receipt to sign"):
        rider.sign_receipt(rider_ride, net.now_ms)
    assert [r.state.name for r in driver.rides()] == ["PROPOSED"]


def test_a_proposal_ttl_beyond_what_drivers_accept_is_a_config_error() -> None:
    """Drivers refuse proposals open longer than ``max_proposal_ttl_ms``: a Peer whose
    every proposal would be refused is misconfigured, not unlucky."""
    longest = HandshakePolicy().max_proposal_ttl_ms
    assert PeerParams(rides=RidePolicy(proposal_ttl_ms=longest))
    with pytest.raises(ConfigError, match=r"^RidePolicy\.proposal_ttl_ms="):
        PeerParams(rides=RidePolicy(proposal_ttl_ms=longest + 1))
