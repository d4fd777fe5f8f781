"""``lazooz watch``: the node's notifications live in a terminal, one line each, until Ctrl-C.

The API (over a LocalNode) is served in a trio thread, as in test_cli_control.py; ``lazooz
watch`` runs as a real process, its lines read in threads (``Lines``) and waited on with a
deadline.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trio

from lazooz.control.handle import LocalNode
from lazooz.demo.swarm import lazooz_command
from lazooz.node.ready import Lines, LinesEnded
from protocol.identity import Identity, member_id
from protocol.peer.notices import InputRejected, Notification
from protocol.peer.peer import Peer
from tests.api_thread import serving
from tests.test_notify_run import DRIVER, confirmed
from tests.test_peer_net import TEL_AVIV

WAIT_S = 60.0  # the CLI's start on two busy cores, then one local HTTP hop


@dataclass
class Served:
    data_dir: Path
    node: LocalNode
    token: trio.lowlevel.TrioToken
    stop: threading.Event

    def notify(self, note: Notification) -> None:
        """Hand ``note`` to the API's event streams, from the test's thread."""
        trio.from_thread.run_sync(self.node.notify, note, trio_token=self.token)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    node = LocalNode(Peer(Identity.from_seed(bytes([6]) * 32), TEL_AVIV, random.Random(6)))
    with serving(node, tmp_path) as (token, stop):
        yield Served(tmp_path, node, token, stop)


@pytest.mark.parametrize("started_with_ctrl_c_ignored", [False, True])
def test_watch_prints_a_line_per_notification_and_exits_0_on_ctrl_c(
    served: Served, started_with_ctrl_c_ignored: bool
) -> None:
    # A shell starts a background job with SIGINT ignored, and a child inherits that.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if started_with_ctrl_c_ignored else None
    try:
        watch = subprocess.Popen(
            [*lazooz_command(), "watch", "--data-dir", str(served.data_dir)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"},
        )
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    try:
        assert watch.stdout is not None and watch.stderr is not None
        out, err = Lines(watch.stdout, name="watch"), Lines(watch.stderr, name="watch's stderr")
        err.wait_for(lambda line: line if "Watching" in line else None, WAIT_S, "subscribed")
        served.notify(InputRejected("gossip", "bad_signature", "RideOffer.sig", 1))
        served.notify(confirmed(b"\x07" * 16))
        first = out.wait_for(lambda line: line or None, WAIT_S, "a line")
        assert "Input rejected" in first  # shown, though it would never alert
        line = out.wait_for(lambda s: s if "Ride confirmed" in s else None, WAIT_S, "confirmed")
        expected = f"Driver {member_id(DRIVER)[:12]}… picks you up: tell them your PIN at pickup."
        assert line.endswith(f"Ride confirmed {expected}")
        watch.send_signal(signal.SIGINT)
        assert watch.wait(timeout=WAIT_S) == 0
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.wait(timeout=20)


def test_watch_says_when_the_node_stops_and_exits_1(served: Served) -> None:
    watch = subprocess.Popen(
        [*lazooz_command(), "watch", "--json", "--data-dir", str(served.data_dir)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert watch.stdout is not None and watch.stderr is not None
        out, err = Lines(watch.stdout, name="watch"), Lines(watch.stderr, name="watch's stderr")
        err.wait_for(lambda line: line if "Watching" in line else None, WAIT_S, "subscribed")
        served.stop.set()
        assert watch.wait(timeout=WAIT_S) == 1
        with pytest.raises(LinesEnded):
            out.wait_for(lambda line: None, WAIT_S)
        assert '"error": "unreachable"' in out.lines[-1]
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.wait(timeout=20)
