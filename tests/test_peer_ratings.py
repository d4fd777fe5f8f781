"""The Peer's rating command and queries (SPEC §11.15): rate a done ride once, see reputations."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.errors import LocalError
from protocol.ledger.rating import RideRating
from protocol.ledger.reputation import Reputation
from protocol.peer.actions import Persist, Publish
from protocol.peer.core import LEDGER_TOPIC, entry_key
from protocol.peer.errors import AlreadyRatedRide, BadCommand, RideNotDone, UnknownId
from protocol.peer.notices import InputRejected
from protocol.peer.params import DAY_MS, MINUTE_MS
from protocol.peer.peer import Peer
from protocol.ride.messages import ReceiptEntry
from protocol.ride.states import RideState
from protocol.signing import seal
from tests.test_peer_net import TEL_AVIV, Net, notes_of
from tests.test_peer_rides import proposed_pair


def dropped_off() -> tuple[Net, bytes]:
    """A ride driven to its drop-off: the driver has proposed the receipt, unsigned so far."""
    net, ride_id = proposed_pair()
    driver, rider = net.peer("driver"), net.peer("rider")
    net.run("driver", driver.accept(ride_id, net.now_ms))
    net.run_for(1_000)
    net.run("driver", driver.confirm(ride_id, net.now_ms))
    net.run_for(1_000)
    pin = next(r.pin for r in rider.rides() if r.ride_id == ride_id)
    assert pin is not None
    net.run_for(12 * MINUTE_MS)
    net.run("driver", driver.pickup(ride_id, pin, net.now_ms))
    net.run_for(8 * MINUTE_MS)
    net.run("driver", driver.finish(ride_id, net.now_ms))
    net.run_for(1_000)
    assert state(net, "driver", ride_id) is RideState.RECEIPT_PROPOSED
    return net, ride_id


def done_ride() -> tuple[Net, bytes]:
    """A driver and a rider whose ride is done: both halves signed, both Peers synced."""
    net, ride_id = dropped_off()
    net.run("rider", net.peer("rider").sign_receipt(ride_id, net.now_ms))
    net.run_for(MINUTE_MS)
    assert state(net, "driver", ride_id) is state(net, "rider", ride_id) is RideState.DONE
    return net, ride_id


def state(net: Net, name: str, ride_id: bytes) -> RideState:
    return next(r.state for r in net.peer(name).rides() if r.ride_id == ride_id)


def test_both_parties_rate_and_every_peer_sees_both_reputations() -> None:
    net, ride_id = done_ride()
    driver, rider = net.peer("driver"), net.peer("rider")
    net.run("rider", rider.rate(ride_id, 5, net.now_ms))
    net.run("driver", driver.rate(ride_id, 3, net.now_ms))
    assert (rider.rating_given(ride_id), driver.rating_given(ride_id)) == (5, 3)
    net.run_for(MINUTE_MS)  # each rating is gossiped as its author writes it
    for peer in (driver, rider):
        assert peer.reputation(driver.public_key) == Reputation(count=1, stars_total=5)
        assert peer.reputation(rider.public_key) == Reputation(count=1, stars_total=3)
    assert driver.balances() == rider.balances()  # ratings earn nothing and cost nothing


def test_a_rating_is_persisted_first_and_then_gossiped_on_the_ledger_topic() -> None:
    net, ride_id = done_ride()
    rider = net.peer("rider")
    head = rider.ledger.own_log(rider.public_key).head_seq
    actions = rider.rate(ride_id, 4, net.now_ms)
    key = entry_key(rider.public_key, head + 1)
    assert isinstance(actions[0], Persist) and (actions[0].kind, actions[0].key) == ("entry", key)
    entry = rider.ledger.own_log(rider.public_key).at(head + 1)
    assert entry is not None and isinstance(entry.message.payload, RideRating)
    assert actions[1:] == [Publish(LEDGER_TOPIC, entry.raw)]
    assert entry.message.payload.stars == 4


def test_the_rating_given_survives_a_restart_and_a_second_one_is_refused() -> None:
    net, ride_id = done_ride()
    net.run("rider", net.peer("rider").rate(ride_id, 2, net.now_ms))
    rider = net.restart("rider", seed=90).peer
    assert rider.rating_given(ride_id) == 2
    with pytest.raises(AlreadyRatedRide, match=r"^ride_id='[0-9a-f]+': rated 2 already"):
        rider.rate(ride_id, 5, net.now_ms)


def test_a_ride_forgotten_after_keep_ended_ms_can_still_be_rated_from_its_receipt() -> None:
    net, ride_id = done_ride()
    net.run_for(DAY_MS + 10 * MINUTE_MS)
    driver = net.peer("driver")
    assert ride_id not in {r.ride_id for r in driver.rides()}
    net.run("driver", driver.rate(ride_id, 4, net.now_ms))
    assert driver.rating_given(ride_id) == 4


def test_a_ride_not_done_cannot_be_rated() -> None:
    net, ride_id = proposed_pair()
    rider = net.peer("rider")
    before = len(rider.ledger)
    with pytest.raises(RideNotDone, match=r"^ride_id='[0-9a-f]+': is proposed: rate a ride once"):
        rider.rate(ride_id, 5, net.now_ms)
    assert len(rider.ledger) == before and rider.rating_given(ride_id) is None


def test_a_driver_whose_receipt_the_rider_has_not_countersigned_cannot_rate_yet() -> None:
    net, ride_id = dropped_off()
    driver = net.peer("driver")
    version = driver.ledger.version
    with pytest.raises(RideNotDone, match=r": is receipt_proposed: rate a ride once it is done"):
        driver.rate(ride_id, 5, net.now_ms)
    assert driver.ledger.version == version


def test_an_unknown_ride_cannot_be_rated() -> None:
    net, _ = done_ride()
    with pytest.raises(UnknownId, match=r"^ride_id='0{32}': not one of"):
        net.peer("rider").rate(bytes(16), 5, net.now_ms)


@pytest.mark.parametrize("stars", [0, 6, -1, True, 4.5, "5"])
def test_stars_outside_1_to_5_are_refused_and_change_nothing(stars: object) -> None:
    net, ride_id = done_ride()
    rider = net.peer("rider")
    before = len(rider.ledger)
    with pytest.raises(BadCommand, match=r"^stars=.*: must be a whole number 1\.\.5"):
        rider.rate(ride_id, stars, net.now_ms)  # type: ignore[arg-type]
    assert len(rider.ledger) == before and rider.rating_given(ride_id) is None


def test_a_rating_sent_as_a_receipt_on_the_ride_stream_is_rejected_not_crashed_on() -> None:
    net, ride_id = done_ride()
    driver, rider = net["driver"], net["rider"]
    net.run("driver", driver.peer.rate(ride_id, 1, net.now_ms))
    rating = driver.peer.ledger.own_log(driver.peer.public_key).at(2)
    assert rating is not None
    frame = seal(driver.identity, ReceiptEntry(ride_id=ride_id, step=9, entry=rating.raw)).raw
    actions = rider.peer.stream_received(driver.peer.public_key, "ride", frame, net.now_ms)
    net.execute(rider, actions)
    assert rider.peer.rejected() == {("ride", "receipt_mismatch"): 1}
    assert any(isinstance(n, InputRejected) for n in notes_of(rider, InputRejected))


# -- any sequence of rating commands


_DONE = done_ride()


def _fresh_rider() -> tuple[Peer, bytes, int]:
    net, ride_id = _DONE
    node = net["rider"]
    stored = [(kind, key, data) for (kind, key), data in sorted(node.store.items())]
    peer = Peer(node.identity, TEL_AVIV, random.Random(5), node.params, stored)
    peer.start(net.now_ms)
    return peer, ride_id, net.now_ms


@given(st.lists(st.tuples(st.booleans(), st.integers(-2, 8)), max_size=6))
@settings(max_examples=30, deadline=None)
def test_only_the_first_valid_rating_of_a_done_ride_is_written(
    commands: list[tuple[bool, int]],
) -> None:
    rider, ride_id, now_ms = _fresh_rider()
    kept: int | None = None
    for known, stars in commands:
        target = ride_id if known else bytes(16)
        before = len(rider.ledger)
        try:
            rider.rate(target, stars, now_ms)
        except LocalError as exc:
            assert len(rider.ledger) == before
            if not known:
                assert isinstance(exc, UnknownId)
            elif not 1 <= stars <= 5:
                assert type(exc) is BadCommand
            else:
                assert isinstance(exc, AlreadyRatedRide) and kept is not None
            continue
        assert known and 1 <= stars <= 5 and kept is None
        kept = stars
        assert len(rider.ledger) == before + 1
    assert rider.rating_given(ride_id) == kept
