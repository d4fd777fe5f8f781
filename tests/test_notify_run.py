"""The daemon's notifier running real commands (``lazooz.node.notify``): what a person should see
reaches the command's argv; a command that is missing, fails or hangs is counted and logged once,
and the node goes on; a storm drops the oldest waiting notifications, never holds up the Peer.

Commands are small Python scripts that write their argv, as a JSON line, to a FIFO the test
reads with a deadline: nothing here waits by sleeping.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import structlog
import trio
import trio.testing

from lazooz.config import NotifyConfig
from lazooz.node import Node
from lazooz.node.notify import Notifier
from protocol.fields import PublicKey
from protocol.identity import Identity, member_id
from protocol.peer.actions import Notify
from protocol.peer.notices import Notification, RideUpdated
from protocol.ride.actions import Notice
from protocol.ride.states import RideState, Role
from tests.test_node_ride import (
    next_note,
    offer_and_request,
    ride_note,
    running_node,
    wait_connected,
)
from tests.test_node_runtime import running

DRIVER = PublicKey(Identity.from_seed(b"\x09" * 32).public_key)
#: Each step here is local (a process start, a loopback stream); this bounds each wait.
STEP_TIMEOUT_S = 20.0

#: Writes its argv after the first three to ``argv[1]`` (a FIFO) as one JSON line; if the last
#: argument is ``argv[3]``, then waits for a byte from the FIFO ``argv[2]``.
WRITE_ARGV = """
import json, os, sys
out, gate, hold = sys.argv[1:4]
with open(out, "w") as f:
    f.write(json.dumps(sys.argv[4:]) + "\\n")
if sys.argv[-1] == hold:
    os.read(os.open(gate, os.O_RDONLY), 1)
"""


class Fifo:
    """A named pipe the test reads JSON lines from, with a deadline; held open so writers never
    block on opening it and it never reports an end."""

    def __init__(self, path: Path) -> None:
        os.mkfifo(path)
        self.path = path
        self._stream = trio.lowlevel.FdStream(os.open(path, os.O_RDWR | os.O_NONBLOCK))
        self._buffer = b""

    async def line(self, timeout_s: float = STEP_TIMEOUT_S) -> list[str]:
        with trio.fail_after(timeout_s):
            while b"\n" not in self._buffer:
                self._buffer += await self._stream.receive_some()
        line, _, self._buffer = self._buffer.partition(b"\n")
        found: list[str] = json.loads(line)
        return found

    async def aclose(self) -> None:
        await self._stream.aclose()


def writing_to(fifo: Fifo, gate: Path | None = None, hold: bytes = b"") -> tuple[str, ...]:
    """A command template that writes event, title, body and ride to ``fifo``."""
    return (
        sys.executable,
        "-c",
        WRITE_ARGV,
        str(fifo.path),
        str(gate or "-"),
        hold.hex() or "-",
        "{event}",
        "{title}",
        "{body}",
        "{ride}",
    )


def confirmed(ride_id: bytes) -> RideUpdated:
    """The rider's node hears its ride is confirmed (a ride state change)."""
    return RideUpdated(
        ride_id=ride_id,
        role=Role.RIDER,
        notice=Notice.CONFIRMED,
        state=RideState.CONFIRMED,
        counterparty=DRIVER,
        offer_id=b"\x0f" * 16,
        request_id=b"\x0e" * 16,
    )


@asynccontextmanager
async def notifying(config: NotifyConfig) -> AsyncIterator[tuple[Node, Notifier]]:
    """A running Node (fake network) with a Notifier for ``config`` beside it."""
    async with running() as (node, _, _), trio.open_nursery() as nursery:
        notifier = Notifier.of(config, node)
        assert notifier is not None
        await nursery.start(notifier.run, node.notifications)
        yield node, notifier
        node.stop()


async def notify(node: Node, note: Notification) -> None:
    await node.command(lambda p, now: [Notify(note)])


async def settled(notifier: Notifier) -> None:
    """Once the notifier has taken every notification given so far and run its commands."""
    with trio.fail_after(STEP_TIMEOUT_S):
        await trio.testing.wait_all_tasks_blocked()
        await notifier.wait_idle()


def outcomes(node: Node) -> dict[str, float]:
    names = ("ok", "missing", "exit_status", "timeout", "os_error")
    found = {n: node.metrics.value("lazooz_notify_commands_total", {"outcome": n}) for n in names}
    return {n: v for n, v in found.items() if v}


@pytest.mark.trio
async def test_a_ride_state_change_runs_the_command_with_its_title_and_body(tmp_path: Path) -> None:
    fifo = Fifo(tmp_path / "out")
    async with notifying(NotifyConfig(writing_to(fifo))) as (node, notifier):
        await notify(node, confirmed(b"\x01" * 16))
        event, title, body, ride = await fifo.line()
        assert (event, title, ride) == ("confirmed", "Ride confirmed", "01" * 16)
        assert (
            body == f"Driver {member_id(DRIVER)[:12]}… picks you up: tell them your PIN at pickup."
        )
        # What the person did not need to hear runs nothing: the rider's own proposal.
        own = RideUpdated(
            b"\x02" * 16, Role.RIDER, Notice.PROPOSED, RideState.PROPOSED, DRIVER, b"", b""
        )
        await notify(node, own)
        await notify(node, confirmed(b"\x03" * 16))
        assert (await fifo.line())[3] == "03" * 16
        await settled(notifier)
        assert outcomes(node) == {"ok": 2}
    await fifo.aclose()


@pytest.mark.trio
async def test_a_muted_event_runs_nothing(tmp_path: Path) -> None:
    fifo = Fifo(tmp_path / "out")
    config = NotifyConfig(writing_to(fifo), mute=("confirmed",))
    async with notifying(config) as (node, notifier):
        await notify(node, confirmed(b"\x01" * 16))
        await settled(notifier)
        assert outcomes(node) == {}
    await fifo.aclose()


FAILING = [
    ((str(Path("/nonexistent/lazooz-notify")), "{title}"), 10.0, "missing"),
    ((sys.executable, "-c", "import sys; sys.exit('no display')"), 10.0, "exit_status"),
    ((sys.executable, "-c", "import signal; signal.pause()"), 0.3, "timeout"),  # hangs
    ((str(Path(__file__)), "{title}"), 10.0, "os_error"),  # not executable
]


@pytest.mark.trio
@pytest.mark.parametrize(("command", "timeout_s", "outcome"), FAILING, ids=[f[2] for f in FAILING])
async def test_a_failing_command_is_counted_logged_once_and_the_node_goes_on(
    command: tuple[str, ...], timeout_s: float, outcome: str
) -> None:
    config = NotifyConfig(command, timeout_s=timeout_s, max_running=1)
    with structlog.testing.capture_logs() as logs:
        async with notifying(config) as (node, notifier):
            with trio.fail_after(STEP_TIMEOUT_S):
                await notify(node, confirmed(b"\x01" * 16))
                await settled(notifier)
                await notify(node, confirmed(b"\x02" * 16))
                await settled(notifier)
            assert outcomes(node) == {outcome: 2}
            # The node goes on: it answers, and still takes commands.
            assert await node.query(lambda p: p.member_id)
            await notify(node, confirmed(b"\x03" * 16))
    failed = [e for e in logs if e["event"] == "notify command failed"]
    assert [e["log_level"] for e in failed] == ["warning", "debug", "debug"]
    assert {e["outcome"] for e in failed} == {outcome}
    assert all("body" not in e and "title" not in e for e in failed)  # the PIN stays out of logs


@pytest.mark.trio
async def test_a_storm_drops_the_oldest_waiting_and_never_holds_up_the_peer(tmp_path: Path) -> None:
    fifo, gate = Fifo(tmp_path / "out"), tmp_path / "gate"
    os.mkfifo(gate)
    # Held open by the test, so the command never blocks opening it; a byte written releases it.
    gate_fd = os.open(gate, os.O_RDWR | os.O_NONBLOCK)
    held = b"\xaa" * 16
    config = NotifyConfig(writing_to(fifo, gate, hold=held), max_running=1, queue=2)
    with structlog.testing.capture_logs() as logs:
        async with notifying(config) as (node, notifier):
            await notify(node, confirmed(held))
            assert (await fifo.line())[3] == held.hex()  # running, and held at the gate
            with trio.fail_after(STEP_TIMEOUT_S):  # the Peer takes each at once all the same
                for n in range(2, 6):
                    await notify(node, confirmed(bytes([n]) * 16))
            await trio.testing.wait_all_tasks_blocked()
            dropped = {"what": "notify", "reason": "queue_full"}
            assert node.metrics.value("lazooz_dropped_total", dropped) == 2
            os.write(gate_fd, b"x")
            # The two newest ran, in order; the two oldest waiting were dropped.
            assert [(await fifo.line())[3] for _ in range(2)] == ["04" * 16, "05" * 16]
            await settled(notifier)
            assert outcomes(node) == {"ok": 3}
    said = [e["log_level"] for e in logs if e["event"].startswith("notification dropped")]
    assert said == ["warning", "debug"]  # a storm is one warning
    await fifo.aclose()
    os.close(gate_fd)


@pytest.mark.trio
async def test_a_rider_node_tells_its_person_the_driver_accepted_the_pin_and_the_pickup_time(
    tmp_path: Path,
) -> None:
    """Two real Nodes on loopback; the rider's notifier follows the ride to confirmed."""
    fifo = Fifo(tmp_path / "out")
    async with (
        running_node(tmp_path, "driver", 1) as (driver, driver_net),
        running_node(tmp_path, "rider", 2, bootstrap=(driver_net.addrs[0],)) as (rider, _),
        trio.open_nursery() as nursery,
    ):
        notifier = Notifier.of(NotifyConfig(writing_to(fifo)), rider)
        assert notifier is not None
        await nursery.start(notifier.run, rider.notifications)
        await wait_connected(driver, rider)
        with driver.notifications.subscribe() as driver_notes:
            offer_id, request_id = await offer_and_request(driver, rider)
            event, title, body, _ = await fifo.line()
            assert (event, title) == ("candidates_found", "Matches found")
            assert body == f"1 match(es) for your request {request_id.hex()[:8]}."
            ride_id = await rider.command(lambda p, now: p.propose(request_id, offer_id, now))
            await next_note(driver_notes, ride_note(ride_id, Notice.PROPOSED))
            await driver.command(lambda p, now: p.accept(ride_id, now))
            await next_note(driver_notes, ride_note(ride_id, Notice.REVEALED))
            await driver.command(lambda p, now: p.confirm(ride_id, now))
        seen = [await fifo.line() for _ in range(3)]
        assert [s[0] for s in seen] == ["accepted", "pin_shown", "confirmed"]
        assert all(s[3] == ride_id.hex() for s in seen)
        (pin,) = [v.pin for v in await rider.query(lambda p: p.rides())]
        assert seen[1][2] == f"Your PIN is {pin}: tell it to the driver at pickup."
        assert f"Driver {member_id(driver.public_key)[:12]}… picks you up at " in seen[2][2]
        driver.stop()
        rider.stop()
    await fifo.aclose()
