"""``lazooz.demo``: a local swarm of real daemons, driven through their control APIs.

The slow tests run the whole demo as a subprocess (``python -m lazooz.demo
--json``): six daemon processes on loopback, a pooled ride, a cancellation,
identical balances on every node, and no daemon left behind afterwards — also
when the demo is interrupted with SIGINT in the middle.
"""

from __future__ import annotations

import http.server
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lazooz.control.client import Client
from lazooz.demo.events import EventWatch
from lazooz.demo.script import Cast
from lazooz.demo.swarm import Swarm, SwarmError, peer_id_text
from lazooz.node.ready import Lines
from lazooz.walkthrough import DRIVERS, RIDERS

ROOT = Path(__file__).resolve().parent.parent
DEMO = [sys.executable, "-m", "lazooz.demo"]


def alive(pid: int) -> bool:
    """Whether ``pid`` is still a lazooz daemon (a reused pid running something else is not)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text()
    zombie = stat.rsplit(")", 1)[1].split()[0] == "Z"
    return not zombie and b"daemon" in cmdline and b"lazooz" in cmdline


def test_peer_id_text_is_libp2p_s_peer_id_of_the_key() -> None:
    from lazooz.net.keys import peer_id_of
    from protocol.fields import PublicKey

    for key in (bytes(32), bytes(range(32)), b"\xff" * 32):
        assert peer_id_text(key) == str(peer_id_of(PublicKey(key)))


def test_the_default_cast_is_the_walkthrough_s_two_drivers_and_four_riders() -> None:
    cast = Cast.of(6)
    assert [p.name for p in cast.drivers] == [p.name for p in DRIVERS]
    assert [p.name for p in cast.riders] == [p.name for p in RIDERS]
    bigger = Cast.of(9)
    assert len(bigger.drivers) + len(bigger.riders) == 9
    assert len(set(bigger.names)) == 9
    with pytest.raises(SwarmError, match="members=4"):
        Cast.of(4)


def test_a_swarm_that_never_started_leaves_no_directory() -> None:
    swarm = Swarm(["A", "B"])
    assert swarm.root.is_dir()
    assert swarm.close() == {}
    assert not swarm.root.exists()


@pytest.mark.slow
def test_the_demo_runs_to_identical_balances_and_leaves_no_process() -> None:
    started = time.monotonic()
    done = subprocess.run(
        [*DEMO, "--json"], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    summary = json.loads(done.stdout)
    assert done.returncode == 0, (summary["error"], done.stderr[-2000:])
    assert summary["ok"] and summary["balances_agree"]
    balances = list(summary["balances_by_node"].values())
    assert len(balances) == 6 and all(b == balances[0] for b in balances)
    assert sum(balances[0].values()) > 0
    (pooled,) = summary["pooled_rides"]
    assert len(pooled["riders"]) >= 2
    (cancelled,) = summary["cancelled_rides"]
    assert cancelled["cancel_reason"] == "changed_mind"
    assert summary["receipts_cosigned"] == 3
    assert all(n == 5 for n in summary["peers_connected"].values())
    assert all(m["exit_code"] == 0 for m in summary["members"].values())
    pids: list[int] = summary["pids"]
    assert len(pids) == 6
    assert not [pid for pid in pids if alive(pid)]
    print(f"demo run time {time.monotonic() - started:.1f} s")


@pytest.mark.slow
def test_sigint_in_the_middle_stops_every_daemon() -> None:
    process = subprocess.Popen(
        [*DEMO, "--json"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None and process.stderr is not None
    out, err = Lines(process.stdout, name="demo"), Lines(process.stderr, name="demo stderr")
    try:
        # The demo says on stderr when every daemon is up; then interrupt it.
        up = err.wait_for(swarm_ready, 180, "the demo's swarm_ready line")
        children = _children(process.pid)
        assert sorted(children) == sorted(up["pids"])
        assert len(up["ui"]) == 6
        assert_serves_the_app(next(iter(up["ui"].values())))
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
        out.join(10)
        err.join(10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, "\n".join(err.lines[-30:])
    summary = json.loads("\n".join(out.lines))
    assert summary["error"].startswith("interrupted")
    pids: list[int] = summary["pids"]
    assert len(pids) == 6
    assert not [pid for pid in pids if alive(pid)]
    assert not [pid for pid in children if alive(pid)]


@pytest.mark.slow
def test_keep_leaves_the_swarm_up_for_the_web_ui_until_ctrl_c() -> None:
    process = subprocess.Popen(
        [*DEMO, "--json", "--keep"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None and process.stderr is not None
    out, err = Lines(process.stdout, name="demo"), Lines(process.stderr, name="demo stderr")
    try:
        up = err.wait_for(swarm_ready, 180, "the demo's swarm_ready line")
        done = err.wait_for(event_line("script_done"), 600, "the demo's script_done line")
        assert done["balances_agree"]
        # The script is over and the daemons still serve their pages.
        assert sorted(_children(process.pid)) == sorted(up["pids"])
        for url in up["ui"].values():
            assert_serves_the_app(url)
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
        out.join(10)
        err.join(10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, "\n".join(err.lines[-30:])
    summary = json.loads("\n".join(out.lines))
    assert summary["ok"] and summary["error"] is None and summary["ui"] == up["ui"]
    assert not [pid for pid in up["pids"] if alive(pid)]


def assert_serves_the_app(url: str) -> None:
    """The UI address names the node's page, and the token in its fragment opens the API."""
    page, _, fragment = url.partition("#token=")
    assert page.startswith("http://127.0.0.1:") and page.endswith("/app") and fragment
    with urllib.request.urlopen(page, timeout=30) as answer:
        assert answer.status == 200 and b"<html" in answer.read().lower()
    status = Client(page.removesuffix("/app"), fragment).get("/v1/status")
    assert status["member_id"].startswith("lz1")


def event_line(event: str) -> Any:
    def match(line: str) -> dict[str, Any] | None:
        try:
            found = json.loads(line)
        except ValueError:
            return None
        return found if isinstance(found, dict) and found.get("event") == event else None

    return match


swarm_ready = event_line("swarm_ready")


def _children(pid: int) -> list[int]:
    """The lazooz daemons whose parent is ``pid``."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid and alive(int(entry)):
            out.append(int(entry))
    return out


def test_run_and_the_module_entry_take_members_seed_and_json() -> None:
    import inspect

    from lazooz.demo import run

    params = inspect.signature(run).parameters
    assert [(p.name, p.default) for p in params.values()] == [
        ("members", 6),
        ("seed", 1),
        ("json_out", False),
        ("keep", False),
    ]
    too_few = subprocess.run(
        [*DEMO, "--members", "4", "--json"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert too_few.returncode == 2 and "members=4" in too_few.stderr
    helped = subprocess.run(
        [*DEMO, "--help"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert helped.returncode == 0 and "--members" in helped.stdout and "--json" in helped.stdout


# -- EventWatch: waits that wake on a daemon's /v1/events stream (a stub here)

TOKEN = "t0ken"


class Api:
    """A stub control API: ``/v1/events`` sends each queued event name, nothing else."""

    def __init__(self) -> None:
        self.events: queue.Queue[str | None] = queue.Queue()
        self.authorized: list[bool] = []
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                api.authorized.append(self.headers["Authorization"] == f"Bearer {TOKEN}")
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                self.wfile.write(b": subscribed\n\n")
                self.wfile.flush()
                while (name := api.events.get()) is not None:
                    self.wfile.write(f"id: 1\nevent: {name}\ndata: {{}}\n\n".encode())
                    self.wfile.flush()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.client = Client(f"http://127.0.0.1:{self.server.server_port}", TOKEN)

    def close(self) -> None:
        self.events.put(None)
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def api() -> Iterator[Api]:
    stub = Api()
    yield stub
    stub.close()


def test_a_wait_wakes_on_an_event_not_on_a_timer(api: Api) -> None:
    watch = EventWatch(idle_s=60)  # no re-check by time within this test
    watch.follow(api.client, "stub")
    assert api.authorized == [True]
    state = {"done": False}
    looks: list[float] = []

    def check() -> bool:
        looks.append(time.monotonic())
        return state["done"]

    def later() -> None:
        state["done"] = True
        api.events.put("RideUpdated")

    threading.Timer(0.3, later).start()
    started = time.monotonic()
    assert watch.wait("the ride to move", check, timeout_s=20) is True
    assert time.monotonic() - started < 10  # woken by the event, long before idle_s
    assert len(looks) == 2  # once at first, once after the event
    assert watch.seen == 1


def test_a_condition_that_never_holds_times_out_naming_it(api: Api) -> None:
    watch = EventWatch(idle_s=0.05)
    watch.follow(api.client, "stub")
    with pytest.raises(TimeoutError, match="waiting for nothing at all\nexplained"):
        watch.wait("nothing at all", lambda: None, timeout_s=0.3, explain=lambda: "explained")
