"""The Peer on ride streams: strangers, bad frames, auto-declines, timeouts."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from typing import Any

from protocol import geo
from protocol.fields import CostShare, GeoPoint, TimeWindow
from protocol.identity import Identity
from protocol.peer.actions import Notify, Publish, Send
from protocol.peer.core import LEDGER_TOPIC
from protocol.peer.gossip import Accepted
from protocol.peer.notices import InputRejected, ReceiptRecorded, RideUpdated
from protocol.peer.params import HOUR_MS, MINUTE_MS, PeerParams
from protocol.peer.ride import RideView
from protocol.ride import actions as hs
from protocol.ride.actions import Notice
from protocol.ride.machine import RideHandshake
from protocol.ride.messages import Accept, Cancel, CancelReason, DeclineReason, Propose
from protocol.ride.states import RideState, Role
from protocol.ride.terms import RideTerms
from protocol.ride.validation import open_ride_message
from protocol.signing import seal
from tests.strategies import NOW_MS
from tests.test_peer_net import RIDE_WINDOW, Net, new_request, notes_of, offer_drive, request_ride

MALLORY = Identity.from_seed(bytes([66]) * 32)
PICKUP = GeoPoint.from_degrees(32.0950, 34.7840)
DROPOFF = GeoPoint.from_degrees(32.0745, 34.7815)


def proposed_pair() -> tuple[Net, bytes]:
    """A driver with an offer and a rider whose proposal the driver has received."""
    net = Net()
    net.add("driver", 1)
    net.add("rider", 2)
    offer_id = offer_drive(net)
    request_id = request_ride(net, "rider", PICKUP, DROPOFF)
    net.run_for(1_000)
    ride_id, actions = net.peer("rider").propose(request_id, offer_id, net.now_ms)
    net.run("rider", actions)
    net.run_for(1_000)
    return net, ride_id


class BareRider:
    """A rider that is a bare handshake, not a Peer, talking to the driver's Peer
    directly: the driver knows of its request only what the proposal says,
    unless the test gossips one."""

    def __init__(
        self,
        net: Net,
        terms: RideTerms,
        *,
        ride_id: bytes = bytes(range(16)),
        identity: Identity = MALLORY,
    ) -> None:
        self.net = net
        self.identity = identity
        self.driver = net["driver"]
        self.handshake = RideHandshake.rider(
            ride_id=ride_id,
            me=identity.public_key,
            driver=self.driver.peer.public_key,
            terms=terms,
        )
        self.ride_id = ride_id

    def propose(self, ttl_ms: int = MINUTE_MS) -> bytes:
        """Send the proposal; its frame, for a test to replay."""
        now_ms = self.net.now_ms
        (send, *_) = actions = self.handshake.propose(now_ms=now_ms, expires_ms=now_ms + ttl_ms)
        self.send(actions)
        assert isinstance(send, hs.Send)
        return seal(self.identity, send.message).raw

    def reveal_once_accepted(self, pickup: GeoPoint, dropoff: GeoPoint) -> None:
        """The driver's user accepts; the rider hears it and reveals its points."""
        self.net.run("driver", self.driver.peer.accept(self.ride_id, self.net.now_ms))
        self.hear()
        self.reveal(pickup, dropoff)

    def hear(self) -> None:
        """The driver's last ride frame to this rider reaches its handshake."""
        last = [a for a in ride_frames(self.net, "driver") if a.to == self.identity.public_key][-1]
        self.handshake.receive(open_ride_message(last.data), now_ms=self.net.now_ms)

    def reveal(self, pickup: GeoPoint, dropoff: GeoPoint) -> None:
        now_ms = self.net.now_ms
        self.send(self.handshake.reveal(pickup, dropoff, now_ms=now_ms, rng=random.Random(1)))

    def send(self, actions: Sequence[hs.Action]) -> None:
        for a in actions:
            if isinstance(a, hs.Send):
                frame = seal(self.identity, a.message).raw
                key, now_ms = self.identity.public_key, self.net.now_ms
                self.net.run("driver", self.driver.peer.stream_received(key, "ride", frame, now_ms))

    def revealed_update(self) -> RideUpdated:
        (update,) = [
            n
            for n in notes_of(self.driver, RideUpdated)
            if isinstance(n, RideUpdated)
            and n.notice is Notice.REVEALED
            and n.ride_id == self.ride_id
        ]
        return update

    def view(self) -> RideView:
        return next(r for r in self.driver.peer.rides() if r.ride_id == self.ride_id)


def ride_frames(net: Net, who: str) -> list[Send]:
    """Every ride-stream frame ``who``'s Peer sent, in order."""
    return [a for _, w, a in net.trace if w == who and isinstance(a, Send) and a.channel == "ride"]


def terms_on(net: Net, pickup: GeoPoint, dropoff: GeoPoint, **changes: Any) -> RideTerms:
    """Terms for a ride from ``pickup`` to ``dropoff`` on the driver's offer, as
    ``request_ride`` would ask (one seat, ``RIDE_WINDOW``, 400 m of walking)."""
    own = net.peer("driver").own_offers()[0].offer
    base = RideTerms(
        own.offer_id,
        bytes(range(16, 32)),
        1,
        geo.cell_of(pickup),
        geo.cell_of(dropoff),
        own.cost,
        RIDE_WINDOW,
        400,
    )
    return dataclasses.replace(base, **changes)


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
        bytes(16),
        bytes(16),
        1,
        geo.cell_of(PICKUP),
        geo.cell_of(DROPOFF),
        CostShare("ILS", 1, 1),
        RIDE_WINDOW,
        0,
    )
    BareRider(net, terms).propose()
    assert driver.peer.rejected() == {("ride", "unknown_offer"): 1}
    assert driver.peer.rides() == []


def test_revealed_points_off_the_route_are_declined_by_the_drivers_peer() -> None:
    """The rider proposes with cells near the route but reveals a pickup 1.3 km
    east of it: the exact check fails."""
    net = Net()
    driver = net.add("driver", 1)
    offer_drive(net)
    far = GeoPoint.from_degrees(32.0950, 34.7980)
    rider = BareRider(net, terms_on(net, far, DROPOFF))
    rider.propose()
    rider.reveal_once_accepted(far, DROPOFF)
    update = rider.revealed_update()
    assert update.check is None and update.reason is not None and "from the route" in update.reason
    view = rider.view()
    assert view.state is RideState.CANCELLED
    assert view.endings[0][1] == DeclineReason.OFF_ROUTE.name
    # The seat it held is free again.
    assert driver.peer.own_offers()[0].free_seats == 2


#: 250.03 m east of the drive's vertex at 32.09187 N (``DRIVE``), and that vertex's
#: neighbour to the south, on the drive.
OFF_ROUTE_250 = GeoPoint(32_091_870, 34_786_055)
ON_ROUTE = GeoPoint(32_077_890, 34_781_530)


def test_a_driver_who_never_heard_the_request_lets_the_rider_walk_as_proposed() -> None:
    """The offer allows almost no detour, so the pickup 250 m off the route fits only
    if the rider walks there: the proposal's 400 m of walking is what the check uses."""
    net = Net()
    driver = net.add("driver", 1)
    offer_drive(net, max_detour_m=100)
    rider = BareRider(net, terms_on(net, OFF_ROUTE_250, ON_ROUTE))
    rider.propose()
    rider.reveal_once_accepted(OFF_ROUTE_250, ON_ROUTE)
    assert driver.peer.book().requests == ()  # never heard on gossip
    check = rider.revealed_update().check
    assert check is not None
    assert 250 <= check.candidate.walk_m <= 250.1
    assert check.candidate.window == RIDE_WINDOW
    net.run("driver", driver.peer.confirm(rider.ride_id, net.now_ms))
    assert rider.view().state is RideState.CONFIRMED
    # Without walking, the same points are off the corridor.
    walk_none = BareRider(
        net, terms_on(net, OFF_ROUTE_250, ON_ROUTE, max_walk_m=0), ride_id=bytes(range(1, 17))
    )
    walk_none.propose()
    walk_none.reveal_once_accepted(OFF_ROUTE_250, ON_ROUTE)
    assert walk_none.view().endings[0][1] == DeclineReason.OFF_ROUTE.name


def test_a_driver_who_never_heard_the_request_declines_a_window_that_misses_the_drive() -> None:
    net = Net()
    driver = net.add("driver", 1)
    offer_drive(net)
    late = TimeWindow(NOW_MS + 2 * HOUR_MS, NOW_MS + 3 * HOUR_MS)
    rider = BareRider(net, terms_on(net, PICKUP, DROPOFF, window=late))
    rider.propose()
    rider.reveal_once_accepted(PICKUP, DROPOFF)
    assert driver.peer.book().requests == ()
    update = rider.revealed_update()
    assert (
        update.check is None and update.reason is not None and "misses the drive" in update.reason
    )
    assert rider.view().state is RideState.CANCELLED
    assert rider.view().endings[0][1] == DeclineReason.TOO_LATE.name


def test_a_proposal_that_contradicts_the_gossiped_request_is_declined_at_once() -> None:
    net = Net()
    driver = net.add("driver", 1)
    rider_node = net.add("rider", 2)
    offer_drive(net)
    request_id = request_ride(net, "rider", PICKUP, DROPOFF)
    net.run_for(1_000)
    # The rider's key proposes on its own request, but with a longer walk than it published.
    terms = terms_on(net, PICKUP, DROPOFF, request_id=request_id, max_walk_m=2_000)
    rider = BareRider(net, terms, identity=rider_node.identity)
    rider.propose()
    view = rider.view()
    assert view.state is RideState.CANCELLED
    assert view.endings == ((Role.DRIVER, DeclineReason.OTHER.name),)
    assert driver.peer.own_offers()[0].free_seats == 2


def test_a_request_heard_after_the_proposal_must_agree_with_it_at_the_exact_check() -> None:
    net = Net()
    driver = net.add("driver", 1)
    rider_node = net.add("rider", 2)
    offer_drive(net)
    # The rider's request is made, but its gossip held back until after the accept.
    request_id, publish = new_request(net, "rider", PICKUP, DROPOFF)
    late = TimeWindow(RIDE_WINDOW.start_ms, RIDE_WINDOW.end_ms + MINUTE_MS)
    terms = terms_on(net, PICKUP, DROPOFF, request_id=request_id, window=late)
    rider = BareRider(net, terms, identity=rider_node.identity)
    rider.propose()
    net.run("driver", driver.peer.accept(rider.ride_id, net.now_ms))
    net.run("rider", publish)
    net.run_for(1_000)
    assert len(driver.peer.book().requests) == 1
    rider.hear()
    rider.reveal(PICKUP, DROPOFF)
    update = rider.revealed_update()
    assert update.check is None
    assert update.reason is not None and update.reason.startswith("Propose.window=")
    assert rider.view().endings[0][1] == DeclineReason.OTHER.name


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
    frames = ride_frames(net, "rider")
    assert len(frames) == 1
    assert isinstance(open_ride_message(frames[0].data).message, Propose)


def test_a_replayed_frame_changes_nothing_and_is_not_stored_again() -> None:
    net, ride_id = proposed_pair()
    driver = net.peer("driver")
    (propose,) = ride_frames(net, "rider")
    before = driver.export()
    for _ in range(3):
        actions = driver.stream_received(
            net.peer("rider").public_key, "ride", propose.data, net.now_ms
        )
        assert actions == []
    assert driver.export() == before
    assert driver.rejected() == {}
    assert [r.ride_id for r in driver.rides()] == [ride_id]


def test_an_ended_ride_outlives_keep_ended_ms_while_its_proposal_could_be_replayed() -> None:
    net = Net()
    params = PeerParams(keep_ended_ms=1_000)
    driver = net.add("driver", 1, params)
    offer_drive(net)
    rider = BareRider(net, terms_on(net, PICKUP, DROPOFF))
    frame = rider.propose(ttl_ms=30 * MINUTE_MS)
    net.run("driver", driver.peer.decline(rider.ride_id, DeclineReason.CHANGED_MIND, net.now_ms))
    fresh_until = rider.handshake.expires_ms + params.handshake.max_skew_ms

    def replay() -> None:
        key = rider.identity.public_key
        net.run("driver", driver.peer.stream_received(key, "ride", frame, net.now_ms))

    # Long past keep_ended_ms, the proposal is still fresh: the replay meets the ended ride.
    net.run_until(fresh_until - 1)
    replay()
    assert [(r.ride_id, r.state) for r in driver.peer.rides()] == [
        (rider.ride_id, RideState.CANCELLED)
    ]
    assert driver.peer.rejected() == {}
    # Once it has expired, the ride is forgotten, and a replay is refused as expired.
    net.run_until(fresh_until + params.sweep_ms)
    assert driver.peer.rides() == []
    assert not [k for k in driver.store if k[0] == "ride"]
    replay()
    assert driver.peer.rides() == []
    assert driver.peer.rejected() == {("ride", "expired"): 1}


def test_a_driver_whose_countersignature_frame_was_lost_is_done_once_the_ledger_has_it() -> None:
    """The rider signs and leaves; its ``ride.receipt`` frame never reaches the driver,
    but the agreement half it gossiped does: the driver's ride ends DONE, not UNSIGNED,
    and stays DONE after a restart (the step is in the ride's journal)."""
    from tests.test_peer_ratings import dropped_off, state  # it imports this module

    net, ride_id = dropped_off()
    driver, rider = net.peer("driver"), net.peer("rider")
    signed = rider.sign_receipt(ride_id, net.now_ms)
    frames = [a for a in signed if isinstance(a, Send) and a.channel == "ride"]
    (gossiped,) = [a for a in signed if isinstance(a, Publish) and a.topic == LEDGER_TOPIC]
    assert frames  # the frame that is lost
    assert isinstance(driver.validate_gossip(LEDGER_TOPIC, gossiped.data, net.now_ms), Accepted)
    actions = driver.gossip_received(LEDGER_TOPIC, gossiped.data, net.now_ms)
    net.run("driver", actions)
    assert state(net, "driver", ride_id) is RideState.DONE
    told = [a.event for a in actions if isinstance(a, Notify)]
    assert any(isinstance(n, RideUpdated) and n.notice is Notice.DONE for n in told)
    assert any(isinstance(n, ReceiptRecorded) for n in told)
    assert driver.balances()[driver.public_key] > 0
    restarted = net.restart("driver", seed=91).peer
    assert next(r.state for r in restarted.rides() if r.ride_id == ride_id) is RideState.DONE
