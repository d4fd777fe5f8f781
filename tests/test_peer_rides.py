"""The Peer on ride streams: strangers, bad frames, auto-declines, timeouts."""

from __future__ import annotations

import random
from collections.abc import Sequence

from protocol import geo
from protocol.fields import CostShare, GeoPoint, TimeWindow
from protocol.identity import Identity
from protocol.peer.actions import Notify, Send
from protocol.peer.notices import InputRejected, RideUpdated
from protocol.peer.params import MINUTE_MS
from protocol.ride.actions import Notice
from protocol.ride.machine import RideHandshake
from protocol.ride.messages import Accept, Cancel, CancelReason, DeclineReason, Propose
from protocol.ride.states import RideState
from protocol.ride.terms import RideTerms
from protocol.ride.validation import open_ride_message
from protocol.signing import seal
from tests.strategies import NOW_MS
from tests.test_peer_net import DRIVE, Net, notes_of

HOUR_MS = 60 * MINUTE_MS
MALLORY = Identity.from_seed(bytes([66]) * 32)
PICKUP = GeoPoint.from_degrees(32.0950, 34.7840)
DROPOFF = GeoPoint.from_degrees(32.0745, 34.7815)


def with_offer(net: Net) -> bytes:
    offer_id, actions = net.peer("driver").offer(
        route=DRIVE,
        departure=TimeWindow(NOW_MS + 10 * MINUTE_MS, NOW_MS + 25 * MINUTE_MS),
        duration_s=660,
        seats=2,
        max_detour_m=1_500,
        max_detour_s=300,
        cost=CostShare("ILS", 500, 80),
        expires_ms=NOW_MS + 2 * HOUR_MS,
        now_ms=net.now_ms,
    )
    net.run("driver", actions)
    return offer_id


def proposed_pair() -> tuple[Net, bytes]:
    """A driver with an offer and a rider whose proposal the driver has received."""
    net = Net()
    net.add("driver", 1)
    net.add("rider", 2)
    offer_id = with_offer(net)
    request_id, actions = net.peer("rider").request(
        pickup=PICKUP,
        dropoff=DROPOFF,
        window=TimeWindow(NOW_MS + 5 * MINUTE_MS, NOW_MS + 40 * MINUTE_MS),
        seats=1,
        max_walk_m=400,
        expires_ms=NOW_MS + HOUR_MS,
        now_ms=net.now_ms,
    )
    net.run("rider", actions)
    net.run_for(1_000)
    ride_id, actions = net.peer("rider").propose(request_id, offer_id, net.now_ms)
    net.run("rider", actions)
    net.run_for(1_000)
    return net, ride_id


def test_a_stranger_writing_about_an_unknown_ride_is_rejected_without_harm() -> None:
    net = Net()
    driver = net.add("driver", 1)
    frame = seal(MALLORY, Cancel(bytes(16), 0, CancelReason.OTHER)).raw
    actions = driver.peer.stream_received(MALLORY.public_key, "ride", frame, net.now_ms)
    assert [type(a) for a in actions] == [Notify]
    event = actions[0].event  # type: ignore[attr-defined]
    assert isinstance(event, InputRejected) and event.reason == "unknown_ride"
    assert driver.peer.rides() == []
    # Garbage, a frame signed by someone else than the stream's peer, a sync frame of junk.
    driver.peer.stream_received(MALLORY.public_key, "ride", b"\xc1", net.now_ms)
    other = seal(Identity.from_seed(bytes([67]) * 32), Accept(bytes(16), 0)).raw
    driver.peer.stream_received(MALLORY.public_key, "ride", other, net.now_ms)
    driver.peer.stream_received(MALLORY.public_key, "sync", b"\x90" * 3, net.now_ms)
    assert driver.peer.rejected() == {
        ("ride", "unknown_ride"): 1,
        ("ride", "decode"): 1,
        ("ride", "wrong_sender"): 1,
        ("sync", "decode"): 1,
    }


def test_a_proposal_for_an_offer_the_driver_never_made_is_refused() -> None:
    net = Net()
    driver = net.add("driver", 1)
    terms = RideTerms(
        bytes(16), bytes(16), 1, geo.cell_of(PICKUP), geo.cell_of(DROPOFF), CostShare("ILS", 1, 1)
    )
    hs = RideHandshake.rider(
        ride_id=bytes(range(16)), me=MALLORY.public_key, driver=driver.peer.public_key, terms=terms
    )
    (send, *_) = hs.propose(now_ms=net.now_ms, expires_ms=net.now_ms + MINUTE_MS)
    assert isinstance(send, Send) is False  # a handshake action, not a Peer one
    frame = seal(MALLORY, send.message).raw  # type: ignore[attr-defined]
    driver.peer.stream_received(MALLORY.public_key, "ride", frame, net.now_ms)
    assert driver.peer.rejected() == {("ride", "unknown_offer"): 1}
    assert driver.peer.rides() == []


def test_revealed_points_off_the_route_are_declined_by_the_drivers_peer() -> None:
    """A rider (here a bare handshake, not a Peer) proposes with cells near the
    route but reveals a pickup 1.3 km east of it: the exact check fails."""
    net = Net()
    driver = net.add("driver", 1)
    offer_id = with_offer(net)
    far = GeoPoint.from_degrees(32.0950, 34.7980)
    own_offer = driver.peer.own_offers()[0].offer
    terms = RideTerms(
        offer_id, bytes(range(16, 32)), 1, geo.cell_of(far), geo.cell_of(DROPOFF), own_offer.cost
    )
    ride_id = bytes(range(16))
    hs = RideHandshake.rider(
        ride_id=ride_id, me=MALLORY.public_key, driver=driver.peer.public_key, terms=terms
    )

    def to_driver(actions: Sequence[object]) -> None:
        for a in actions:
            message = getattr(a, "message", None)
            if message is not None:
                frame = seal(MALLORY, message).raw
                net.run(
                    "driver",
                    driver.peer.stream_received(MALLORY.public_key, "ride", frame, net.now_ms),
                )

    to_driver(hs.propose(now_ms=net.now_ms, expires_ms=net.now_ms + MINUTE_MS))
    net.run("driver", driver.peer.accept(ride_id, net.now_ms))
    (accept,) = net.outbox
    hs.receive(open_ride_message(accept.data), now_ms=net.now_ms)

    to_driver(hs.reveal(far, DROPOFF, now_ms=net.now_ms, rng=random.Random(1)))
    (update,) = [
        n
        for n in notes_of(driver, RideUpdated)
        if isinstance(n, RideUpdated) and n.notice is Notice.REVEALED
    ]
    assert update.check is None and update.reason is not None and "from the route" in update.reason
    view = driver.peer.rides()[0]
    assert view.state is RideState.CANCELLED
    assert view.endings[0][1] == DeclineReason.OFF_ROUTE.name
    # The seat it held is free again.
    assert driver.peer.own_offers()[0].free_seats == 2


def test_a_proposal_nobody_answers_times_out_and_the_request_stays_open() -> None:
    net, ride_id = proposed_pair()
    net.run_for(10 * MINUTE_MS)
    rider_view = next(r for r in net.peer("rider").rides() if r.ride_id == ride_id)
    driver_view = next(r for r in net.peer("driver").rides() if r.ride_id == ride_id)
    assert rider_view.state is RideState.CANCELLED
    assert driver_view.state is RideState.CANCELLED
    assert [r.status for r in net.peer("rider").own_requests()] == ["open"]


def test_propose_message_is_not_sent_twice() -> None:
    net, _ride_id = proposed_pair()
    frames = [
        a
        for _, who, a in net.trace
        if who == "rider" and isinstance(a, Send) and a.channel == "ride"
    ]
    assert len(frames) == 1
    assert isinstance(open_ride_message(frames[0].data).message, Propose)


def test_a_replayed_frame_changes_nothing_and_is_not_stored_again() -> None:
    net, ride_id = proposed_pair()
    driver = net.peer("driver")
    (propose,) = [
        a
        for _, who, a in net.trace
        if who == "rider" and isinstance(a, Send) and a.channel == "ride"
    ]
    before = driver.export()
    for _ in range(3):
        actions = driver.stream_received(
            net.peer("rider").public_key, "ride", propose.data, net.now_ms
        )
        assert actions == []
    assert driver.export() == before
    assert driver.rejected() == {}
    assert [r.ride_id for r in driver.rides()] == [ride_id]
