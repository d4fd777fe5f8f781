"""Real daemons (``python -m lazooz.node``) as separate processes on loopback.

Each test starts its daemons with their own data directories and config
files, waits on what a user or tool would look at — the ready line on
stdout, the JSON log lines on stderr, each read in a thread as they come —
with a deadline, and the fixture kills whatever is left at the end, so no
process outlives a test.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from lazooz.demo.swarm import free_port
from lazooz.node.daemon import NODE_FILE, NodeInfo
from lazooz.node.ready import Lines, LinesEnded, wait_ready

T = TypeVar("T")

REPO = Path(__file__).resolve().parent.parent
#: Starting a daemon imports libp2p, shapely and pyproj: about a second here, more when busy.
START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 10.0


def json_event(event: str, **fields: object) -> Callable[[str], dict[str, Any] | None]:
    """A finder for ``Lines.wait_for``: the JSON log line of ``event`` with ``fields``."""

    def find(line: str) -> dict[str, Any] | None:
        if not line.startswith("{"):
            return None
        try:
            found = json.loads(line)
        except ValueError:
            return None
        ok = found.get("event") == event and all(found.get(k) == v for k, v in fields.items())
        return found if ok else None

    return find


@dataclass
class Daemon:
    """One daemon process, its data directory, its ready line and its log lines."""

    name: str
    data_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]
    stdout: Lines
    stderr: Lines
    info: NodeInfo | None = None

    def logged(self, event: str, **fields: object) -> dict[str, Any] | None:
        finder = json_event(event, **fields)
        return next((e for line in self.stderr.lines if (e := finder(line)) is not None), None)

    def wait_logged(self, event: str, timeout_s: float = 20.0, **fields: object) -> dict[str, Any]:
        try:
            return self.stderr.wait_for(json_event(event, **fields), timeout_s, repr(event))
        except (TimeoutError, LinesEnded) as exc:
            pytest.fail(f"{self.name}: {exc}\n{self.tail()}")

    def wait_ready(self) -> NodeInfo:
        """The node described by its ready line (and by node.json, which must agree)."""
        if self.info is None:
            try:
                ready = wait_ready(self.stdout, START_TIMEOUT_S)
            except (TimeoutError, LinesEnded) as exc:
                code = self.process.poll()
                pytest.fail(f"{self.name} (exit status {code}): {exc}\n{self.tail()}")
            self.info = NodeInfo.read(self.data_dir)
            assert ready["pid"] == self.process.pid
            assert {k: ready[k] for k in ("peer_id", "addrs", "metrics_url")} == {
                "peer_id": self.info.peer_id,
                "addrs": self.info.addrs,
                "metrics_url": self.info.metrics_url,
            }
        return self.info

    def terminate(self) -> tuple[int, float]:
        """SIGTERM; the exit status and how long the exit took."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=STOP_TIMEOUT_S)
        self.stderr.join(STOP_TIMEOUT_S)
        return code, time.monotonic() - started

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.stderr.lines[-lines:])


@pytest.fixture
def start_daemon(tmp_path: Path) -> Iterator[Callable[..., Daemon]]:
    started: list[Daemon] = []

    def start(
        name: str,
        bootstrap: list[str] | None = None,
        metrics: bool = False,
        listen: str = "/ip4/127.0.0.1/tcp/0",
    ) -> Daemon:
        data_dir = tmp_path / name
        config = tmp_path / f"{name}.toml"
        lines = [
            "[node]",
            f"bootstrap = {json.dumps(bootstrap or [])}",
            f"listen = {json.dumps([listen])}",
            "[log]",
            'format = "json"',
            "[metrics]",
            f"enabled = {'true' if metrics else 'false'}",
            "port = 0",
        ]
        config.write_text("\n".join(lines) + "\n", "utf-8")
        log_path = tmp_path / f"{name}.{len(started)}.log"
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
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert process.stdout is not None and process.stderr is not None
        daemon = Daemon(
            name,
            data_dir,
            log_path,
            process,
            stdout=Lines(process.stdout, name=f"{name} stdout"),
            stderr=Lines(process.stderr, tee=log_path, name=f"{name} stderr"),
        )
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

    a.wait_logged("peer connected", peer=b_info.peer_id)
    b.wait_logged("peer connected", peer=a_info.peer_id)
    url = a_info.metrics_url
    assert url is not None
    # The gauge is set before "peer connected" is logged: no need to wait for it.
    assert metric(url, "lazooz_peers") == 1.0

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
    second.stderr.join(STOP_TIMEOUT_S)
    assert second.stdout.lines == []  # no ready line from a node that did not start
    failed = second.logged("node failed")
    assert failed is not None and "lazooz.db" in str(failed["error"]), second.tail()
    assert NodeInfo.read(first.data_dir) == info  # the refused one left node.json alone
    first.process.send_signal(signal.SIGINT)
    assert first.process.wait(timeout=STOP_TIMEOUT_S) == 0


def test_a_restarted_node_redials_the_peers_it_knew_without_any_bootstrap(
    start_daemon: Callable[..., Daemon],
) -> None:
    a = start_daemon("a", listen=f"/ip4/127.0.0.1/tcp/{free_port()}")
    a_info = a.wait_ready()
    b = start_daemon("b", bootstrap=[a_info.addrs[0]])
    b.wait_ready()
    b.wait_logged("peer noted", peer=a_info.peer_id)  # in b's store now
    code, _ = b.terminate()
    assert code == 0, b.tail()

    # The same member, its configuration now naming no bootstrap peer.
    again = start_daemon("b")
    again.wait_ready()
    ready_at = time.monotonic()
    again.wait_logged("peer connected", peer=a_info.peer_id)
    took_s = time.monotonic() - ready_at
    redialled = again.wait_logged("redialled", peer=a_info.peer_id)
    assert redialled["attempt"] == 1 and redialled["addr"] == a_info.addrs[0]
    a.wait_logged("peer connected", peer=again.wait_ready().peer_id)
    print(f"rejoined {took_s:.2f} s after the ready line")
    for daemon in (again, a):
        assert daemon.terminate()[0] == 0, daemon.tail()
