"""Two Nodes in one process, each on its own py-libp2p host on loopback and its own
SQLite store: an offer and a request gossiped, matched, and a ride run end to end
through ``Node.command``, as the control API will drive it."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio

from lazooz.net import NetConfig, NetHost, open_host
from lazooz.node import Node
from lazooz.store import Store
from protocol.fields import CostShare, GeoPoint, TimeWindow
from protocol.identity import Identity
from protocol.peer.notices import CandidatesFound, Notification, ReceiptRecorded, RideUpdated
from protocol.peer.params import HOUR_MS, MINUTE_MS, PeerParams
from protocol.ride.actions import Notice
from protocol.ride.states import RideState, Role
from tests.test_peer_net import DRIVE, TEL_AVIV

#: Everything below happens on loopback within seconds; this bounds each wait.
STEP_TIMEOUT_S = 20.0


def identity(n: int) -> Identity:
    return Identity.from_seed(bytes([n]) * 32)


@asynccontextmanager
async def running_node(
    root: Path, name: str, seed: int, bootstrap: tuple[str, ...] = ()
) -> AsyncIterator[tuple[Node, NetHost]]:
    """A started Node for ``identity(seed)`` with a store under ``root/name`` (new or kept)."""
    (root / name).mkdir(exist_ok=True)
    store = Store.open(root / name / "lazooz.db")
    me = identity(seed)
    peer = store.restore_peer(me, TEL_AVIV, random.Random(seed), PeerParams())
    node = Node(peer, store)
    try:
        async with (
            open_host(me, NetConfig(bootstrap=bootstrap), node.handlers()) as net,
            trio.open_nursery() as nursery,
        ):
            await nursery.start(node.run, net)
            yield node, net
            node.stop()
    finally:
        store.close()


async def next_note(
    notes: trio.MemoryReceiveChannel[Notification], match: Callable[[Notification], bool]
) -> Notification:
    """The next notification ``match`` accepts; earlier ones are passed over."""
    with trio.fail_after(STEP_TIMEOUT_S):
        async for note in notes:
            if match(note):
                return note
    raise AssertionError("the node stopped before the notification came")


def ride_note(ride_id: bytes, notice: Notice) -> Callable[[Notification], bool]:
    return lambda n: isinstance(n, RideUpdated) and n.ride_id == ride_id and n.notice is notice


async def wait_connected(a: Node, b: Node) -> None:
    with trio.fail_after(STEP_TIMEOUT_S):
        await a.wait_connected(b.public_key)
        await b.wait_connected(a.public_key)


async def offer_and_request(driver: Node, rider: Node) -> tuple[bytes, bytes]:
    """The driver offers seats along ``DRIVE`` now; the rider asks for one on its way."""
    offer_id = await driver.command(
        lambda p, now: p.offer(
            route=DRIVE,
            departure=TimeWindow(now, now + 15 * MINUTE_MS),
            duration_s=660,
            seats=2,
            max_detour_m=1_500,
            max_detour_s=300,
            cost=CostShare("ILS", 500, 80),
            expires_ms=now + 2 * HOUR_MS,
            now_ms=now,
        )
    )
    request_id = await rider.command(
        lambda p, now: p.request(
            pickup=GeoPoint.from_degrees(32.0950, 34.7840),
            dropoff=GeoPoint.from_degrees(32.0745, 34.7815),
            window=TimeWindow(now, now + 40 * MINUTE_MS),
            seats=1,
            max_walk_m=400,
            expires_ms=now + HOUR_MS,
            now_ms=now,
        )
    )
    return offer_id, request_id


@pytest.mark.trio
async def test_a_rider_node_finds_a_driver_node_offer_and_they_ride_to_a_cosigned_receipt(
    tmp_path: Path,
) -> None:
    async with (
        running_node(tmp_path, "driver", 1) as (driver, driver_net),
        running_node(tmp_path, "rider", 2, bootstrap=(driver_net.addrs[0],)) as (rider, _),
    ):
        await wait_connected(driver, rider)
        with (
            driver.notifications.subscribe() as driver_notes,
            rider.notifications.subscribe() as rider_notes,
        ):
            offer_id, request_id = await offer_and_request(driver, rider)

            # Matched on gossip: the rider's node is told, and lists the offer.
            found = await next_note(
                rider_notes, lambda n: isinstance(n, CandidatesFound) and n.own_id == request_id
            )
            assert isinstance(found, CandidatesFound) and found.role is Role.RIDER
            assert [m.offer_id for m in found.matches] == [offer_id]
            listed = await rider.query(lambda p: p.candidates(request_id))
            assert [m.driver for m in listed] == [driver.public_key]

            # The handshake over /lazooz/ride/1.0.0 streams between the two hosts.
            ride_id = await rider.command(lambda p, now: p.propose(request_id, offer_id, now))
            await next_note(driver_notes, ride_note(ride_id, Notice.PROPOSED))
            await driver.command(lambda p, now: p.accept(ride_id, now))
            revealed = await next_note(driver_notes, ride_note(ride_id, Notice.REVEALED))
            assert isinstance(revealed, RideUpdated) and revealed.check is not None
            await driver.command(lambda p, now: p.confirm(ride_id, now))
            shown = await next_note(rider_notes, ride_note(ride_id, Notice.PIN_SHOWN))
            assert isinstance(shown, RideUpdated) and shown.pin is not None
            pin = shown.pin
            await driver.command(lambda p, now: p.pickup(ride_id, pin, now))
            await next_note(rider_notes, ride_note(ride_id, Notice.PICKED_UP))
            await driver.command(lambda p, now: p.finish(ride_id, now))
            await next_note(rider_notes, ride_note(ride_id, Notice.RECEIPT_NEEDED))
            await rider.command(lambda p, now: p.sign_receipt(ride_id, now))

            for notes in (rider_notes, driver_notes):
                recorded = await next_note(
                    notes, lambda n: isinstance(n, ReceiptRecorded) and n.ride_id == ride_id
                )
                assert isinstance(recorded, ReceiptRecorded)

        for node in (driver, rider):
            views = await node.query(lambda p: p.rides())
            assert [(v.ride_id, v.state) for v in views] == [(ride_id, RideState.DONE)]
        # Both logs hold both halves; the two nodes compute the same balances.
        assert await driver.query(lambda p: p.balances()) == await rider.query(
            lambda p: p.balances()
        )
        assert driver.metrics.value("lazooz_receipts_total") == 1
        assert rider.metrics.value("lazooz_matches_total") >= 1
        assert driver.metrics.value("lazooz_rides", {"state": "done"}) == 1


@pytest.mark.trio
async def test_a_rider_node_restarted_from_its_store_mid_ride_finishes_the_ride(
    tmp_path: Path,
) -> None:
    async with running_node(tmp_path, "driver", 1) as (driver, driver_net):
        bootstrap = (driver_net.addrs[0],)
        with driver.notifications.subscribe() as driver_notes:
            async with running_node(tmp_path, "rider", 2, bootstrap) as (rider, _):
                await wait_connected(driver, rider)
                with rider.notifications.subscribe() as rider_notes:
                    offer_id, request_id = await offer_and_request(driver, rider)
                    await next_note(rider_notes, lambda n: isinstance(n, CandidatesFound))
                    ride_id = await rider.command(
                        lambda p, now: p.propose(request_id, offer_id, now)
                    )
                    await next_note(driver_notes, ride_note(ride_id, Notice.PROPOSED))
                    await driver.command(lambda p, now: p.accept(ride_id, now))
                    await next_note(driver_notes, ride_note(ride_id, Notice.REVEALED))
                    await driver.command(lambda p, now: p.confirm(ride_id, now))
                    shown = await next_note(rider_notes, ride_note(ride_id, Notice.CONFIRMED))
                    assert isinstance(shown, RideUpdated)
            # The rider's node is gone; its store kept the ride.

            async with running_node(tmp_path, "rider", 2, bootstrap) as (rider, _):
                views = await rider.query(lambda p: p.rides())
                assert [(v.ride_id, v.state) for v in views] == [(ride_id, RideState.CONFIRMED)]
                pin = views[0].pin
                assert pin is not None
                await wait_connected(driver, rider)
                with rider.notifications.subscribe() as rider_notes:
                    await driver.command(lambda p, now: p.pickup(ride_id, pin, now))
                    await next_note(rider_notes, ride_note(ride_id, Notice.PICKED_UP))
                    await driver.command(lambda p, now: p.finish(ride_id, now))
                    await next_note(rider_notes, ride_note(ride_id, Notice.RECEIPT_NEEDED))
                    await rider.command(lambda p, now: p.sign_receipt(ride_id, now))
                    await next_note(rider_notes, lambda n: isinstance(n, ReceiptRecorded))
                await next_note(
                    driver_notes, lambda n: isinstance(n, ReceiptRecorded) and n.ride_id == ride_id
                )
                for node in (driver, rider):
                    states = await node.query(lambda p: [v.state for v in p.rides()])
                    assert states == [RideState.DONE]
