"""Real daemons (``python -m lazooz.node``) as separate processes on loopback.

Each test starts its daemons with their own data directories and config
files, waits on what a user or tool would look at (``node.json``, the JSON
log lines, the metrics endpoint) with a deadline, and the fixture kills
whatever is left at the end, so no process outlives a test.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest

from lazooz.node.daemon import NODE_FILE, NodeInfo

T = TypeVar("T")

REPO = Path(__file__).resolve().parent.parent
#: Starting a daemon imports libp2p, shapely and pyproj: about a second here, more when busy.
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


def wait_for(what: str, check: Callable[[], T | None], timeout_s: float = 20.0) -> T:
    """Poll ``check`` until it returns something other than None; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = check()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


@dataclass
class Daemon:
    """One daemon process, its data directory and its log."""

    name: str
    data_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]
    info: NodeInfo | None = None
    _log_offset: int = field(default=0)

    def log_events(self) -> list[dict[str, object]]:
        events = []
        for line in self.log_path.read_text("utf-8", errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    events.append(json.loads(line))
                except ValueError:
                    continue
        return events

    def logged(self, event: str, **fields: object) -> dict[str, object] | None:
        for e in self.log_events():
            if e.get("event") == event and all(e.get(k) == v for k, v in fields.items()):
                return e
        return None

    def wait_ready(self) -> NodeInfo:
        def ready() -> NodeInfo | None:
            if self.process.poll() is not None:
                pytest.fail(f"{self.name} exited with {self.process.returncode}:\n{self.tail()}")
            try:
                info = NodeInfo.read(self.data_dir)
            except (OSError, ValueError, TypeError):
                return None
            return info if info.pid == self.process.pid else None

        self.info = wait_for(f"{self.name}'s {NODE_FILE}", ready, START_TIMEOUT_S)
        return self.info

    def terminate(self) -> tuple[int, float]:
        """SIGTERM; the exit status and how long the exit took."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=STOP_TIMEOUT_S)
        return code, time.monotonic() - started

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text("utf-8", errors="replace").splitlines()[-lines:])


@pytest.fixture
def start_daemon(tmp_path: Path) -> Iterator[Callable[..., Daemon]]:
    started: list[Daemon] = []

    def start(name: str, bootstrap: list[str] | None = None, metrics: bool = False) -> Daemon:
        data_dir = tmp_path / name
        config = tmp_path / f"{name}.toml"
        lines = [
            "[node]",
            f"bootstrap = {json.dumps(bootstrap or [])}",
            "[log]",
            'format = "json"',
            "[metrics]",
            f"enabled = {'true' if metrics else 'false'}",
            "port = 0",
        ]
        config.write_text("\n".join(lines) + "\n", "utf-8")
        log_path = tmp_path / f"{name}.{len(started)}.log"
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "lazooz.node",
                    "--config",
                    str(config),
                    "--data-dir",
                    str(data_dir),
                ],
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        daemon = Daemon(name, data_dir, log_path, process)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        if daemon.process.poll() is None:
            daemon.process.kill()
            daemon.process.wait(timeout=STOP_TIMEOUT_S)


def running_with(data_dir: Path) -> list[int]:
    """Pids of processes whose command line names ``data_dir``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if str(data_dir).encode() in cmdline:
                found.append(int(entry.name))
    return found


def metric(url: str, name: str) -> float | None:
    with urllib.request.urlopen(url, timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return None


def test_two_daemons_connect_stop_cleanly_on_sigterm_and_keep_their_identity(
    start_daemon: Callable[..., Daemon],
) -> None:
    a = start_daemon("a", metrics=True)
    a_info = a.wait_ready()
    b = start_daemon("b", bootstrap=[a_info.addrs[0]])
    b_info = b.wait_ready()
    assert a_info.peer_id != b_info.peer_id

    wait_for("a to log b connected", lambda: a.logged("peer connected", peer=b_info.peer_id))
    wait_for("b to log a connected", lambda: b.logged("peer connected", peer=a_info.peer_id))
    url = a_info.metrics_url
    assert url is not None
    peers = wait_for("a's metrics to count one peer", lambda: metric(url, "lazooz_peers") or None)
    assert peers == 1.0

    for daemon in (a, b):
        code, took_s = daemon.terminate()
        assert code == 0, daemon.tail()
        assert took_s < 5.0
        assert not (daemon.data_dir / NODE_FILE).exists()
        assert daemon.logged("daemon stopped") is not None
        assert running_with(daemon.data_dir) == []

    again = start_daemon("a")
    assert again.wait_ready().peer_id == a_info.peer_id
    assert again.wait_ready().member_id == a_info.member_id
    code, _ = again.terminate()
    assert code == 0, again.tail()


def test_a_bad_config_value_is_refused_naming_the_key_and_the_value(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[node.home]\nlat = 95\n", "utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "lazooz.node",
            "--config",
            str(config),
            "--data-dir",
            str(tmp_path / "d"),
        ],
        cwd=REPO,
        capture_output=True,
        timeout=START_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 2
    assert "node.home.lat=95" in done.stderr.decode()
    assert not (tmp_path / "d").exists()


def test_a_second_daemon_on_the_same_data_dir_is_refused_and_the_first_runs_on(
    start_daemon: Callable[..., Daemon],
) -> None:
    first = start_daemon("a")
    info = first.wait_ready()
    second = start_daemon("a")
    assert second.process.wait(timeout=START_TIMEOUT_S) == 2
    failed = second.logged("node failed")
    assert failed is not None and "lazooz.db" in str(failed["error"]), second.tail()
    assert NodeInfo.read(first.data_dir) == info  # the refused one left node.json alone
    first.process.send_signal(signal.SIGINT)
    assert first.process.wait(timeout=STOP_TIMEOUT_S) == 0
