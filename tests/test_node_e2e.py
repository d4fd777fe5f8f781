"""End to end with real daemons: ``lazooz init`` + ``lazooz daemon`` processes on loopback,
driven only through their control APIs (``lazooz.control.client``), as the CLI drives them.

Every test ends by stopping its daemons with SIGTERM (exit 0) and checking
that no process naming its directory is left; the ``swarm`` fixture kills
anything still running after a failure and checks again.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from lazooz.control.client import ApiError
from tests.node_swarm import Member, Swarm, now_ms, pids_naming
from tests.test_peer_net import DRIVE

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
ROUTE = [[p.lat, p.lon] for p in DRIVE.points()]
PICKUP = [32.0950, 34.7840]
DROPOFF = [32.0745, 34.7815]
#: The ride between pickup and drop-off: 40 m in 1.5 s is 96 km/h.
DRIVEN_M = 40
DRIVE_S = 1.5


def offer_body() -> dict[str, Any]:
    now = now_ms()
    return {
        "route": ROUTE,
        "departure": {"start_ms": now, "end_ms": now + 15 * MINUTE_MS},
        "duration_s": 660,
        "seats": 2,
        "max_detour_m": 1500,
        "max_detour_s": 300,
        "cost": {"currency": "ILS", "base_minor": 500, "per_km_minor": 80},
        "expires_ms": now + 2 * HOUR_MS,
    }


def request_body() -> dict[str, Any]:
    now = now_ms()
    return {
        "pickup": PICKUP,
        "dropoff": DROPOFF,
        "window": {"start_ms": now, "end_ms": now + 40 * MINUTE_MS},
        "max_walk_m": 400,
        "expires_ms": now + HOUR_MS,
    }


def ride_of(member: Member, ride_id: str) -> dict[str, Any]:
    ride: dict[str, Any] = member.get(f"/v1/rides/{ride_id}")
    return ride


def in_state(member: Member, ride_id: str, *states: str) -> dict[str, Any] | None:
    try:
        ride = ride_of(member, ride_id)
    except ApiError as exc:
        if exc.status == 404:
            return None  # not heard of yet
        raise
    return ride if ride["state"] in states else None


def connected(member: Member, n: int = 1) -> bool:
    return int(member.get("/v1/status")["connected"]) >= n


def start_pair(swarm: Swarm) -> tuple[Member, Member]:
    """A driver, and a rider that bootstraps to it; both up and connected."""
    driver = swarm.add("driver")
    swarm.start(driver)
    rider = swarm.add("rider", bootstrap=[driver.addr()])
    swarm.start(rider)
    swarm.wait("driver and rider to connect", lambda: connected(driver) and connected(rider))
    return driver, rider


def match(swarm: Swarm, driver: Member, rider: Member) -> tuple[str, str, str]:
    """Offer, request, the candidate on the rider's side, and the proposal: the ids."""
    offer = driver.post("/v1/offers", offer_body())
    request = rider.post("/v1/requests", request_body())
    assert offer["status"] == "open" and request["status"] == "open"
    offer_id, request_id = offer["offer_id"], request["request_id"]
    candidates = swarm.wait(
        "the offer to reach the rider as a candidate",
        lambda: rider.get(f"/v1/candidates/{request_id}") or None,
    )
    assert [c["offer_id"] for c in candidates] == [offer_id]
    assert candidates[0]["driver"]["public_key"] == driver.public_key
    proposed = rider.post("/v1/rides", {"request_id": request_id, "offer_id": offer_id})
    assert proposed["state"] == "proposed"
    return offer_id, request_id, proposed["ride_id"]


def to_confirmed(swarm: Swarm, driver: Member, rider: Member, ride_id: str) -> str:
    """Accept, the exact check, confirm; the PIN the rider's node shows."""
    swarm.wait("the proposal at the driver", lambda: in_state(driver, ride_id, "proposed"))
    accepted = driver.post(f"/v1/rides/{ride_id}/accept")
    assert accepted["state"] in ("accepted", "revealed")
    swarm.wait("the rider's points", lambda: in_state(driver, ride_id, "revealed"))
    assert driver.post(f"/v1/rides/{ride_id}/confirm")["state"] == "confirmed"
    shown = swarm.wait(
        "the PIN on the rider's node",
        lambda: (r := in_state(rider, ride_id, "confirmed")) and r["pin"],
    )
    return str(shown)


def to_done(swarm: Swarm, driver: Member, rider: Member, ride_id: str, pin: str) -> None:
    """Pickup with the PIN, finish, the rider's signature; both rides done."""
    assert driver.post(f"/v1/rides/{ride_id}/pickup", {"pin": pin})["state"] == "picked_up"
    swarm.wait("the pickup at the rider", lambda: in_state(rider, ride_id, "picked_up"))
    # The receipt is credited only at a plausible speed (credit rule v1: at most
    # 150 km/h), so the test "drives" DRIVEN_M in at least DRIVE_S: a ride that
    # lasts, not a wait for a condition.
    time.sleep(DRIVE_S)
    finished = driver.post(f"/v1/rides/{ride_id}/finish", {"distance_m": DRIVEN_M})
    assert finished["state"] in ("dropped_off", "receipt_proposed"), finished
    swarm.wait(
        "the driver's receipt half at the rider",
        lambda: in_state(rider, ride_id, "receipt_proposed"),
    )
    rider.post(f"/v1/rides/{ride_id}/sign")
    swarm.wait("the ride done at the rider", lambda: in_state(rider, ride_id, "done"))
    swarm.wait("the ride done at the driver", lambda: in_state(driver, ride_id, "done"))


def balances(member: Member, *of: Member) -> dict[str, int]:
    return {
        m.name: int(member.get("/v1/balance", member=m.public_key)["balance_milli"]) for m in of
    }


def check_receipts(driver: Member, rider: Member, ride_id: str) -> None:
    (half,) = driver.get("/v1/receipts")
    assert half["half"] == "proposal" and half["verdict"] == "counted"
    assert half["receipt"]["ride_id"] == ride_id
    (other,) = rider.get("/v1/receipts")
    assert other["half"] == "agreement"
    assert other["receipt"]["ride_id"] == ride_id


def stop_cleanly(swarm: Swarm) -> None:
    codes = swarm.stop_all()
    assert all(code == 0 for code in codes.values()), (codes, swarm.explain())
    assert swarm.leftovers() == []


@pytest.mark.slow
def test_two_daemons_match_and_ride_to_a_cosigned_receipt_through_their_apis(
    swarm: Swarm,
) -> None:
    started = time.monotonic()
    driver, rider = start_pair(swarm)
    _, request_id, ride_id = match(swarm, driver, rider)
    pin = to_confirmed(swarm, driver, rider, ride_id)
    assert len(pin) >= 4 and pin.isdigit()
    to_done(swarm, driver, rider, ride_id, pin)

    check_receipts(driver, rider, ride_id)
    everyone = (driver, rider)
    seen_by_driver = balances(driver, *everyone)
    assert seen_by_driver["driver"] > 0
    assert balances(rider, *everyone) == seen_by_driver
    assert driver.get("/v1/status")["rides"] == {"done": 1}
    assert rider.get("/v1/requests")[0]["request_id"] == request_id
    stop_cleanly(swarm)
    print(f"ride end to end: {time.monotonic() - started:.1f} s")


@pytest.mark.slow
def test_a_node_that_joins_after_the_ride_syncs_the_ledger_and_agrees_on_balances(
    swarm: Swarm,
) -> None:
    driver, rider = start_pair(swarm)
    _, _, ride_id = match(swarm, driver, rider)
    to_done(swarm, driver, rider, ride_id, to_confirmed(swarm, driver, rider, ride_id))
    everyone = (driver, rider)
    expected = balances(driver, *everyone)
    assert expected["driver"] > 0
    assert balances(rider, *everyone) == expected

    late = swarm.add("late", bootstrap=[rider.addr()])
    swarm.start(late)
    swarm.wait("the late node to sync both logs", lambda: balances(late, *everyone) == expected)
    lines = late.get("/v1/balance", member=driver.public_key)["lines"]
    assert [line["ride_id"] for line in lines] == [ride_id]
    assert late.get("/v1/status")["rejected"] == {}
    stop_cleanly(swarm)


@pytest.mark.slow
def test_a_rider_node_killed_mid_ride_restarts_resumes_and_loses_no_acknowledged_entry(
    swarm: Swarm,
) -> None:
    driver, rider = start_pair(swarm)
    _, request_id, ride_id = match(swarm, driver, rider)
    pin = to_confirmed(swarm, driver, rider, ride_id)
    before = ride_of(rider, ride_id)

    rider.kill()  # SIGKILL: no shutdown, no flush beyond what was committed
    assert not rider.running() and pids_naming(str(rider.data_dir)) == []
    rider.start()
    rider.wait_ready()
    after = ride_of(rider, ride_id)
    assert after == before  # state, PIN, counterparty, pickup time: all from the store
    assert after["state"] == "confirmed" and after["pin"] == pin
    assert [r["request_id"] for r in rider.get("/v1/requests")] == [request_id]
    swarm.wait("the restarted rider to reconnect", lambda: connected(rider) and connected(driver))

    to_done(swarm, driver, rider, ride_id, pin)
    check_receipts(driver, rider, ride_id)
    everyone = (driver, rider)
    expected = balances(driver, *everyone)
    assert expected["driver"] > 0
    assert balances(rider, *everyone) == expected
    stop_cleanly(swarm)


@pytest.mark.slow
def test_a_receipt_signed_while_the_driver_is_offline_completes_the_ride_after_restarts(
    swarm: Swarm,
) -> None:
    driver, rider = start_pair(swarm)
    _, _, ride_id = match(swarm, driver, rider)
    pin = to_confirmed(swarm, driver, rider, ride_id)
    assert driver.post(f"/v1/rides/{ride_id}/pickup", {"pin": pin})["state"] == "picked_up"
    swarm.wait("the pickup at the rider", lambda: in_state(rider, ride_id, "picked_up"))
    time.sleep(DRIVE_S)  # the ride itself, as in to_done
    driver.post(f"/v1/rides/{ride_id}/finish", {"distance_m": DRIVEN_M})
    swarm.wait(
        "the driver's half at the rider", lambda: in_state(rider, ride_id, "receipt_proposed")
    )

    assert driver.terminate() == 0  # the driver's phone goes off
    signed = rider.post(f"/v1/rides/{ride_id}/sign")  # acknowledged: the half is durable
    assert signed["state"] == "done"
    rider.kill()
    driver.start()
    driver.wait_ready()
    rider.configure(bootstrap=[driver.addr()])  # the driver listens on a new port
    rider.start()
    rider.wait_ready()
    assert ride_of(rider, ride_id)["state"] == "done"
    (half,) = rider.get("/v1/receipts")
    assert half["half"] == "agreement" and half["receipt"]["ride_id"] == ride_id

    everyone = (driver, rider)
    # No acknowledged entry is lost: sync brings the rider's half to the driver's ledger.
    swarm.wait(
        "both nodes to agree on a credited ride",
        lambda: (
            balances(driver, *everyone) == balances(rider, *everyone)
            and balances(driver, *everyone)["driver"] > 0
        ),
    )
    # The driver's ride learns of the agreement too: on reconnecting it resends
    # its half, and the rider, done, answers with its countersignature again.
    swarm.wait("the ride done at the driver", lambda: in_state(driver, ride_id, "done"), 30)
    check_receipts(driver, rider, ride_id)
    stop_cleanly(swarm)
