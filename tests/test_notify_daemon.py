"""Notifications with no web page open, on real daemons: two ``lazooz daemon`` processes ride, and
the rider's configured ``notify.command`` hears "confirmed" and "done"; ``lazooz watch --json``
prints the same notifications, one JSON object a line, and exits 0 on Ctrl-C.

The command writes its argv as a JSON line to a FIFO the test reads in a thread (``Lines``);
every wait is for a line, with a deadline.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lazooz.demo.swarm import lazooz_command
from lazooz.node.ready import Lines
from protocol.identity import member_id
from tests.node_swarm import STEP_TIMEOUT_S, STOP_TIMEOUT_S, Swarm
from tests.test_node_e2e import connected, match, stop_cleanly, to_confirmed, to_done

#: Writes its argv after the first to the FIFO ``argv[1]`` as one JSON line.
WRITE_ARGV = (
    "import json, sys\n"
    "with open(sys.argv[1], 'w') as f:\n"
    "    f.write(json.dumps(sys.argv[2:]) + '\\n')\n"
)


class FifoLines:
    """A FIFO, its lines read in a thread; the test holds a writer so it ends only on ``close``."""

    def __init__(self, path: Path) -> None:
        os.mkfifo(path)
        self.path = path
        reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        self._writer = os.open(path, os.O_WRONLY)
        os.set_blocking(reader, True)
        self.lines = Lines(os.fdopen(reader, "rb"), name="notify command")

    def wait(self, event: str, ride_id: str) -> list[str]:
        """The argv ``[event, title, body, ride]`` of the command run for ``event`` on the ride."""

        def find(line: str) -> list[str] | None:
            argv: list[str] = json.loads(line)
            return argv if argv[0] == event and argv[3] == ride_id else None

        return self.lines.wait_for(find, STEP_TIMEOUT_S, f"the {event} notification")

    def close(self) -> None:
        os.close(self._writer)  # the reader sees the end once the commands have gone too


def ride_event(notice: str, ride_id: str) -> Any:
    def find(line: str) -> dict[str, Any] | None:
        data: dict[str, Any] = json.loads(line)
        if data.get("type") == "RideUpdated" and (data["notice"], data["ride_id"]) == (
            notice,
            ride_id,
        ):
            return data
        return None

    return find


@pytest.mark.slow
def test_the_riders_command_hears_confirmed_and_done_with_no_page_open_and_watch_prints_them(
    swarm: Swarm, tmp_path: Path
) -> None:
    fifo = FifoLines(tmp_path / "notifications")
    driver = swarm.add("driver")
    swarm.start(driver)
    rider = swarm.add("rider", bootstrap=[driver.addr()])
    command = [
        sys.executable,
        "-c",
        WRITE_ARGV,
        str(fifo.path),
        "{event}",
        "{title}",
        "{body}",
        "{ride}",
    ]
    config = rider.data_dir / "lazooz.toml"
    text = config.read_text("utf-8").replace('command = "off"', f"command = {json.dumps(command)}")
    config.write_text(text + "timeout_s = 30\n", "utf-8")  # [notify] is the last table
    swarm.start(rider)
    swarm.wait("driver and rider to connect", lambda: connected(driver) and connected(rider))

    watch = subprocess.Popen(
        [*lazooz_command(), "watch", "--json", "--data-dir", str(rider.data_dir)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,
    )
    try:
        assert watch.stdout is not None and watch.stderr is not None
        printed, said = (
            Lines(watch.stdout, name="watch"),
            Lines(watch.stderr, name="watch's stderr"),
        )
        said.wait_for(lambda line: line if "Watching" in line else None, 60.0, "watch to subscribe")

        _, _, ride_id = match(swarm, driver, rider)
        pin = to_confirmed(swarm, driver, rider, ride_id)
        driver_id = member_id(bytes.fromhex(driver.public_key))[:12]
        _, title, body, _ = fifo.wait("confirmed", ride_id)
        assert title == "Ride confirmed"
        assert body.startswith(f"Driver {driver_id}… picks you up at ")
        assert (
            fifo.wait("pin_shown", ride_id)[2]
            == f"Your PIN is {pin}: tell it to the driver at pickup."
        )
        to_done(swarm, driver, rider, ride_id, pin)
        assert fifo.wait("done", ride_id)[1:3] == [
            "Ride done",
            f"Done: receipt co-signed with driver {driver_id}…",
        ]
        # Only what the rider needed to hear: not its own proposal, nor the receipt's bookkeeping.
        heard = [json.loads(line)[0] for line in fifo.lines.lines]
        assert (
            heard
            == [
                "candidates_found",
                "accepted",
                "pin_shown",
                "confirmed",
                "picked_up",
                "dropped_off",
                "receipt_needed",
                "done",
                "balance_changed",
            ][: len(heard)]
        )
        assert "proposed" not in heard

        for notice in ("confirmed", "done"):
            data = printed.wait_for(
                ride_event(notice, ride_id), STEP_TIMEOUT_S, f"watch's {notice}"
            )
            assert (
                data["role"] == "rider" and data["counterparty"]["public_key"] == driver.public_key
            )
        watch.send_signal(signal.SIGINT)
        assert watch.wait(timeout=STOP_TIMEOUT_S) == 0
        assert all(json.loads(line)["type"] for line in printed.lines)  # JSON, one object a line
    finally:
        if watch.poll() is None:
            os.killpg(watch.pid, signal.SIGKILL)
            watch.wait(timeout=STOP_TIMEOUT_S)
    stop_cleanly(swarm)
    fifo.close()
