"""A member's whole first session, as real processes on loopback: init, daemon, the CLI, SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lazooz.control.files import CONTROL_FILE, ControlInfo
from lazooz.node.ready import Lines, wait_ready
from tests.test_control_app import ROUTE

LAZOOZ = Path(sys.executable).parent / "lazooz"
ROUTE_ARG = ";".join(f"{lat},{lon}" for lat, lon in ROUTE)


def lazooz(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LAZOOZ), *args], capture_output=True, text=True, timeout=60, check=False
    )


Daemon = tuple[Path, "subprocess.Popen[bytes]", dict[str, Any], Lines]


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    """``lazooz init`` then ``lazooz daemon`` on a fresh data directory, up once it says ready."""
    data_dir = tmp_path / "node"
    assert lazooz("init", "--data-dir", str(data_dir)).returncode == 0
    process = subprocess.Popen(
        [str(LAZOOZ), "daemon", "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    out = Lines(process.stdout, name="lazooz daemon")
    err = Lines(process.stderr, tee=tmp_path / "daemon.log", name="lazooz daemon stderr")
    try:
        try:
            ready = wait_ready(out, 60)
        except Exception:
            process.kill()
            err.join(30)
            raise AssertionError("\n".join(err.lines[-30:])) from None
        yield data_dir, process, ready, out
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def test_a_daemon_serves_the_cli_on_loopback_and_stops_cleanly(daemon: Daemon) -> None:
    data_dir, process, ready, out = daemon
    info = ControlInfo.read(data_dir)
    assert info.host == "127.0.0.1" and info.url == f"http://127.0.0.1:{info.port}"
    # The ready line says where everything is, so no one polls for files.
    assert ready["control_url"] == info.url and ready["pid"] == process.pid
    assert ready["data_dir"] == str(data_dir) and ready["metrics_url"] is None
    assert all(a.endswith("/p2p/" + ready["peer_id"]) for a in ready["addrs"])

    status = lazooz("status", "--data-dir", str(data_dir), "--json")
    assert status.returncode == 0, status.stderr
    answer = json.loads(status.stdout)
    assert answer["peer_id"].startswith("12D3KooW")
    assert answer["store_path"].startswith(str(data_dir))
    node = json.loads((data_dir / "node.json").read_text())
    assert node["services"] == {"control_url": info.url}

    made = lazooz(
        "offer", "--route", ROUTE_ARG, "--depart", "+10m", "--data-dir", str(data_dir), "--json"
    )
    assert made.returncode == 0, made.stderr
    listed = lazooz("status", "--data-dir", str(data_dir), "--json")
    assert json.loads(listed.stdout)["offers"] == {"open": 1}
    assert json.loads(made.stdout)["offer_id"]
    refused = lazooz("offer", "--route", ROUTE_ARG, "--seats", "9", "--data-dir", str(data_dir))
    assert refused.returncode == 1 and "seats=9" in refused.stderr

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert not (data_dir / CONTROL_FILE).exists()
    out.join(30)
    assert len(out.lines) == 1  # the ready line is the daemon's only output on stdout
