"""Which area topics a Peer hears: ``listen = "all"`` or ``"needed"`` (SPEC §4.3).

On the in-memory ``Net`` a publish reaches current subscribers only, so what a
Peer subscribes to is exactly what it receives.
"""

from __future__ import annotations

import pytest

from protocol import geo
from protocol.errors import ConfigError
from protocol.fields import GeoPoint
from protocol.peer.core import LEDGER_TOPIC
from protocol.peer.gossip import Accepted, Rejected
from protocol.peer.params import MINUTE_MS, PeerParams
from protocol.ride.messages import CancelReason
from protocol.signing import seal
from tests.strategies import ALICE, NOW_MS, offer
from tests.test_peer_net import TEL_AVIV, Net, Node, offer_drive, request_ride

PICKUP = GeoPoint.from_degrees(32.0950, 34.7840)
DROPOFF = GeoPoint.from_degrees(32.0745, 34.7815)
#: Another rider's trip, on the same street further north.
OTHER_PICKUP = GeoPoint.from_degrees(32.1000, 34.7850)
OTHER_DROPOFF = GeoPoint.from_degrees(32.0800, 34.7820)

NEEDED = PeerParams(listen="needed")
HOME = geo.area_cells_around(TEL_AVIV)


def home(side: geo.Side) -> set[str]:
    return set(geo.area_topics(HOME, side))


def sides(node: Node) -> set[str]:
    """The sides of the area topics ``node`` subscribes to now."""
    return {s for t in node.topics if (s := geo.topic_side(t)) is not None}


def test_all_subscribes_to_both_sides_of_every_home_cell_at_start() -> None:
    node = Net().add("daemon", 1)
    assert node.topics == home("offers") | home("requests") | {LEDGER_TOPIC}
    assert len(node.topics) == 2 * 7 + 1


def test_needed_hears_only_the_ledger_until_it_has_something_open() -> None:
    node = Net().add("phone", 1, NEEDED)
    assert node.topics == {LEDGER_TOPIC}


def test_a_needed_rider_hears_offers_and_not_other_riders_requests() -> None:
    net = Net()
    rider = net.add("rider", 2, NEEDED)
    everyone = net.add("daemon", 5)  # listen="all": hears both sides, as before
    other = net.add("other", 3, NEEDED)
    driver = net.add("driver", 1, NEEDED)
    request_id = request_ride(net, "rider", PICKUP, DROPOFF)
    assert rider.topics == home("offers") | {LEDGER_TOPIC}
    request_ride(net, "other", OTHER_PICKUP, OTHER_DROPOFF)
    offer_id = offer_drive(net)
    net.run_for(1_000)

    assert [m.offer_id for _, m in rider.peer.book().offers] == [offer_id]
    assert rider.peer.book().requests == ()  # the other rider's was not delivered
    assert [m.offer_id for m in rider.peer.candidates(request_id)] == [offer_id]
    assert len(everyone.peer.book().requests) == 2 and len(everyone.peer.book().offers) == 1
    # The driver listens from its offer on: requests made before reach it when
    # they are next republished (every 5 min), and no offers of others ever do.
    assert driver.peer.book().requests == ()
    assert sides(driver) == {"requests"} and sides(other) == {"offers"}
    net.run_for(6 * MINUTE_MS)
    assert len(driver.peer.book().requests) == 2 and driver.peer.book().offers == ()
    assert rider.peer.book().requests == ()


def test_a_rider_unsubscribes_when_booked_and_again_hears_offers_when_the_ride_is_cancelled() -> (
    None
):
    net = Net()
    net.add("driver", 1, NEEDED)
    rider = net.add("rider", 2, NEEDED)
    request_id = request_ride(net, "rider", PICKUP, DROPOFF)
    offer_id = offer_drive(net)
    net.run_for(1_000)
    ride_id, actions = rider.peer.propose(request_id, offer_id, net.now_ms)
    net.run("rider", actions)
    net.run_for(1_000)
    net.run("driver", net.peer("driver").accept(ride_id, net.now_ms))
    net.run_for(1_000)
    assert sides(rider) == {"offers"}  # accepted, not yet confirmed: still open
    net.run("driver", net.peer("driver").confirm(ride_id, net.now_ms))
    net.run_for(1_000)
    assert [r.status for r in rider.peer.own_requests()] == ["booked"]
    assert rider.topics == {LEDGER_TOPIC}

    net.run("rider", rider.peer.cancel(ride_id, CancelReason.CHANGED_MIND, net.now_ms))
    net.run_for(1_000)
    assert [r.status for r in rider.peer.own_requests()] == ["open"]
    assert rider.topics == home("offers") | {LEDGER_TOPIC}


def test_a_rider_unsubscribes_when_its_request_is_withdrawn_or_expires() -> None:
    net = Net()
    rider = net.add("rider", 2, NEEDED)
    first = request_ride(net, "rider", PICKUP, DROPOFF)
    second = request_ride(net, "rider", OTHER_PICKUP, OTHER_DROPOFF)
    net.run("rider", rider.peer.withdraw(first, net.now_ms))
    assert sides(rider) == {"offers"}  # the second is still open
    net.run_until(NOW_MS + 61 * MINUTE_MS)  # request_ride's expire after an hour
    assert {r.request_id: r.status for r in rider.peer.own_requests()} == {
        first: "withdrawn",
        second: "expired",
    }
    assert rider.topics == {LEDGER_TOPIC}


def test_a_driver_hears_requests_while_its_offer_is_open_and_stops_when_it_is_full() -> None:
    net = Net()
    driver = net.add("driver", 1, NEEDED)
    rider = net.add("rider", 2, NEEDED)
    request_id = request_ride(net, "rider", PICKUP, DROPOFF)
    offer_id = offer_drive(net, seats=1)
    (own,) = driver.peer.own_offers()
    assert driver.topics == home("requests") | set(own.listens) | {LEDGER_TOPIC}
    assert sides(driver) == {"requests"}
    net.run_for(6 * MINUTE_MS)  # the request, republished, now reaches the driver
    assert [m.request_id for _, m in driver.peer.book().requests] == [request_id]

    ride_id, actions = rider.peer.propose(request_id, offer_id, net.now_ms)
    net.run("rider", actions)
    net.run_for(1_000)
    net.run("driver", driver.peer.accept(ride_id, net.now_ms))
    net.run_for(1_000)
    assert [o.status for o in driver.peer.own_offers()] == ["booked"]  # its one seat is taken
    assert driver.topics == {LEDGER_TOPIC}


def test_a_driver_unsubscribes_when_its_offers_are_withdrawn_or_expire() -> None:
    net = Net()
    driver = net.add("driver", 1, NEEDED)
    first = offer_drive(net)
    second = offer_drive(net)
    net.run("driver", driver.peer.withdraw(first, net.now_ms))
    assert sides(driver) == {"requests"}  # the second is still open
    net.run_until(NOW_MS + 121 * MINUTE_MS)  # offer_drive's expire after two hours
    assert {o.offer_id: o.status for o in driver.peer.own_offers()} == {
        first: "withdrawn",
        second: "expired",
    }
    assert driver.topics == {LEDGER_TOPIC}


@pytest.mark.parametrize("withdrawn", [False, True])
def test_a_restarted_peer_subscribes_to_what_its_open_items_need(withdrawn: bool) -> None:
    net = Net()
    rider = net.add("rider", 2, NEEDED)
    request_id = request_ride(net, "rider", PICKUP, DROPOFF)
    if withdrawn:
        net.run("rider", rider.peer.withdraw(request_id, net.now_ms))
    net.run_for(1_000)
    rider = net.restart("rider", 12)
    expected = {LEDGER_TOPIC} if withdrawn else home("offers") | {LEDGER_TOPIC}
    assert rider.topics == expected
    # Then an offer made after the restart reaches it, or does not.
    net.add("driver", 1, NEEDED)
    offer_drive(net)
    net.run_for(1_000)
    assert len(rider.peer.book().offers) == (0 if withdrawn else 1)


def test_an_offer_on_a_requests_topic_is_refused_and_does_not_spoil_its_own_topic() -> None:
    node = Net().add("daemon", 1)
    raw = seal(ALICE, offer()).raw
    cell = geo.topic_cell(TEL_AVIV)
    verdict = node.peer.validate_gossip(geo.area_topic(cell, "requests"), raw, NOW_MS)
    assert isinstance(verdict, Rejected) and verdict.reason == "unknown_kind"
    assert "ride.offer" in verdict.detail and "ride.request" in verdict.detail
    assert node.peer.rejected() == {("gossip", "unknown_kind"): 1}
    # Refused before the replay window: the same bytes on the offer topic are new.
    assert node.peer.validate_gossip(geo.area_topic(cell, "offers"), raw, NOW_MS) == Accepted()


@pytest.mark.parametrize("value", ["some", "", "ALL", None])
def test_params_refuse_a_listen_value_naming_it(value: object) -> None:
    with pytest.raises(
        ConfigError, match=r"PeerParams\.listen=.*must be one of \['all', 'needed'\]"
    ):
        PeerParams(listen=value)  # type: ignore[arg-type]
