"""Real ``lazooz daemon`` processes on loopback for the node benchmarks, and what they cost.

``NodeSwarm(n, topology)`` makes a temp root, runs ``lazooz init`` for each
member (two at a time: each takes ~2 s of CPU), rewrites each config (a
fixed loopback port, bootstrap peers, JSON logs, ``peer.republish_s``),
starts every daemon in its own session and waits until its ``node.json`` and
control API name the new process. ``close()`` (also on error, Ctrl-C, and
``with`` exit) SIGTERMs every daemon, SIGKILLs every process group still
alive after ``STOP_TIMEOUT_S`` and removes the root. A daemon also gets
SIGTERM from the kernel if the bench process dies (``PR_SET_PDEATHSIG``).

Also here: CPU seconds and RSS of a process from ``/proc`` (no psutil), and
``EventTap``, a thread per node reading its ``GET /v1/events`` stream and
stamping every event with the bench's wall clock (the daemons share it).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from lazooz.control.client import ApiError, Client, NodeUnreachable
from lazooz.control.files import ControlInfo, read_token
from lazooz.demo.swarm import die_with_parent, free_port, lazooz_command, peer_id_text

#: Seconds for all daemons to come up: 50 of them import libp2p (~4 s CPU each) on 2 cores.
START_TIMEOUT_S = 600.0
#: Seconds every daemon gets after SIGTERM before its process group is killed.
STOP_TIMEOUT_S = 20.0
_CLK_TCK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


class SwarmError(Exception):
    """The swarm could not start, or a daemon died."""


# -- /proc


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` (all its threads) so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def rss_bytes(pid: int) -> int:
    """Resident set size of ``pid`` now."""
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE


def machine() -> dict[str, float]:
    """What else the machine was doing: 1-minute load average and the CPU count."""
    return {"loadavg_1m": os.getloadavg()[0], "cpus": float(os.cpu_count() or 1)}


# -- the swarm


@dataclass(slots=True)
class Daemon:
    name: str
    data_dir: Path
    log_path: Path
    port: int = 0
    peer_id: str = ""
    public_key: str = ""
    process: subprocess.Popen[bytes] | None = None
    client: Client | None = None

    @property
    def addr(self) -> str:
        return f"/ip4/127.0.0.1/tcp/{self.port}/p2p/{self.peer_id}"

    @property
    def pid(self) -> int:
        if self.process is None:
            raise SwarmError(f"{self.name} is not running")
        return self.process.pid

    @property
    def api(self) -> Client:
        if self.client is None:
            raise SwarmError(f"{self.name}: the API is not up")
        return self.client

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def bootstrap_of(i: int, n: int, topology: str, rng: random.Random) -> list[int]:
    """Whom member ``i`` dials at start.

    ``full``: every other member (what ``lazooz demo`` does). ``random:K``:
    the next member on a ring (so the graph is connected) and ``K - 1`` others
    at random; connections are both ways, so each node ends with ~2K peers.
    """
    if topology == "full":
        return [j for j in range(n) if j != i]
    kind, _, k_text = topology.partition(":")
    if kind != "random" or not k_text.isdigit() or int(k_text) < 1:
        raise ValueError(f"topology={topology!r}: must be 'full' or 'random:K' with K >= 1")
    k = min(int(k_text), n - 1)
    picks = {(i + 1) % n}
    others = [j for j in range(n) if j != i and j not in picks]
    picks.update(rng.sample(others, k - 1))
    return sorted(picks)


class NodeSwarm:
    """``n`` daemons on loopback, bootstrapped by ``topology`` (see ``bootstrap_of``)."""

    def __init__(
        self,
        n: int,
        topology: str = "full",
        republish_s: int = 300,
        log_level: str = "info",
        argv: Callable[[Daemon], list[str]] | None = None,
    ) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="lazooz-bench-"))
        self.daemons = [
            Daemon(f"n{i:02d}", self.root / f"n{i:02d}", self.root / f"n{i:02d}.log")
            for i in range(n)
        ]
        self.topology = topology
        self.republish_s = republish_s
        self.log_level = log_level
        self.argv = argv or (lambda d: [*lazooz_command(), "daemon", "--data-dir", str(d.data_dir)])
        self.closed = False

    def __enter__(self) -> NodeSwarm:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> float:
        """init, configure, spawn and wait for every daemon; the seconds the spawn-to-up took."""
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(self._init, self.daemons))
        rng = random.Random(5)
        n = len(self.daemons)
        for i, d in enumerate(self.daemons):
            peers = [self.daemons[j].addr for j in bootstrap_of(i, n, self.topology, rng)]
            self._configure(d, peers)
        t0 = time.monotonic()
        for d in self.daemons:
            self._spawn(d)
        self._wait_up()
        return time.monotonic() - t0

    def _init(self, d: Daemon) -> Daemon:
        done = subprocess.run(
            [*lazooz_command(), "init", "--data-dir", str(d.data_dir), "--json"],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        if done.returncode != 0:
            raise SwarmError(f"lazooz init {d.name}: {done.stderr.strip()}")
        made = json.loads(done.stdout)
        d.public_key = made["public_key"]
        d.peer_id = peer_id_text(bytes.fromhex(d.public_key))
        d.port = free_port()
        return d

    def _configure(self, d: Daemon, bootstrap: list[str]) -> None:
        path = d.data_dir / "lazooz.toml"
        text = path.read_text("utf-8")
        for old, new in (
            ("bootstrap = []", f"bootstrap = {json.dumps(bootstrap)}"),
            (
                'listen = ["/ip4/127.0.0.1/tcp/0"]',
                f'listen = ["/ip4/127.0.0.1/tcp/{d.port}"]',
            ),
            ('format = "console"', 'format = "json"'),
            ('level = "info"', f'level = "{self.log_level}"'),
            ("republish_s = 300", f"republish_s = {self.republish_s}"),
            # Bench members are not the person at the desktop.
            ('command = "auto"', 'command = "off"'),
        ):
            if old not in text:
                raise SwarmError(f"{path}: no `{old}` line to change")
            text = text.replace(old, new, 1)
        path.write_text(text, "utf-8")

    def _spawn(self, d: Daemon) -> None:
        with d.log_path.open("wb") as log:
            d.process = subprocess.Popen(
                self.argv(d),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # PYTHONPATH: so ``python -m bench.node_tuned`` finds this repository.
                env={
                    **os.environ,
                    "PYTHONUNBUFFERED": "1",
                    "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
                },
                start_new_session=True,  # its own group: killpg reaches all it started
                preexec_fn=die_with_parent,  # noqa: PLW1509 - no threads run at spawn
            )

    def _wait_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        waiting = list(self.daemons)
        while waiting:
            for d in list(waiting):
                self.check_alive(d)
                try:
                    node = json.loads((d.data_dir / "node.json").read_text("utf-8"))
                    control = ControlInfo.read(d.data_dir)
                except (OSError, ValueError, KeyError, TypeError):
                    continue
                if node.get("pid") != d.pid or control.pid != d.pid:
                    continue
                client = Client.of(d.data_dir)
                try:
                    status = client.get("/v1/status")
                except (NodeUnreachable, ApiError):
                    continue
                if status["peer_id"] != d.peer_id:
                    raise SwarmError(f"{d.name}: peer id {status['peer_id']}, not {d.peer_id}")
                d.client = client
                waiting.remove(d)
            if waiting and time.monotonic() > deadline:
                raise SwarmError(f"not up after {START_TIMEOUT_S:.0f} s: {len(waiting)} daemons")
            time.sleep(0.2)

    def check_alive(self, d: Daemon | None = None) -> None:
        for one in [d] if d is not None else self.daemons:
            if one.process is not None and one.process.poll() is not None:
                raise SwarmError(
                    f"{one.name} exited with {one.process.returncode}:\n{one.log_tail()}"
                )

    def wait(self, what: str, probe: Callable[[], bool], timeout_s: float) -> float:
        """Poll ``probe`` (every 0.5 s) until true; the seconds it took."""
        t0 = time.monotonic()
        while not probe():
            self.check_alive()
            if time.monotonic() - t0 > timeout_s:
                raise SwarmError(f"timed out after {timeout_s:.0f} s waiting for {what}")
            time.sleep(0.5)
        return time.monotonic() - t0

    def cpu_seconds(self) -> float:
        return sum(cpu_seconds(d.pid) for d in self.daemons)

    def rss_bytes(self) -> list[int]:
        return [rss_bytes(d.pid) for d in self.daemons]

    def close(self) -> None:
        """SIGTERM all, wait, SIGKILL every group still alive, remove the root."""
        if self.closed:
            return
        self.closed = True
        running = [d.process for d in self.daemons if d.process is not None]
        for p in running:
            if p.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for p in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
        for p in running:
            # The whole group, even if the leader is gone: nothing it started may outlive it.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(p.pid, signal.SIGKILL)
            if p.poll() is None:
                p.wait(timeout=10)
        if os.environ.get("BENCH_KEEP_LOGS"):
            keep = Path(os.environ["BENCH_KEEP_LOGS"])
            keep.mkdir(parents=True, exist_ok=True)
            for d in self.daemons:
                with contextlib.suppress(OSError):
                    shutil.copy(d.log_path, keep / d.log_path.name)
        shutil.rmtree(self.root, ignore_errors=True)


# -- the event streams


@dataclass(slots=True)
class Event:
    at: float  # bench wall clock, time.time()
    node: str
    type: str
    data: dict[str, Any]


@dataclass(slots=True)
class EventTap:
    """One thread per daemon reading ``/v1/events``; ``on_event`` is called in that thread."""

    on_event: Callable[[Event], None]
    threads: list[threading.Thread] = field(default_factory=list)
    connections: list[http.client.HTTPConnection] = field(default_factory=list)
    subscribed: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))
    stopping: threading.Event = field(default_factory=threading.Event)
    errors: list[str] = field(default_factory=list)

    def open(self, daemons: list[Daemon], timeout_s: float = 60.0) -> None:
        """Subscribe to every daemon; return once every stream said ``: subscribed``."""
        for d in daemons:
            t = threading.Thread(target=self._read, args=(d,), daemon=True, name=f"tap-{d.name}")
            t.start()
            self.threads.append(t)
        deadline = time.monotonic() + timeout_s
        for _ in daemons:
            if not self.subscribed.acquire(timeout=max(0.1, deadline - time.monotonic())):
                raise SwarmError(f"event streams not all subscribed in {timeout_s:.0f} s")
        if self.errors:
            raise SwarmError("event stream: " + "; ".join(self.errors))

    def _read(self, d: Daemon) -> None:
        url = urllib.parse.urlsplit(d.api.url)
        conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=None)
        self.connections.append(conn)
        try:
            conn.request(
                "GET",
                "/v1/events",
                headers={"Authorization": f"Bearer {read_token(d.data_dir)}"},
            )
            response = conn.getresponse()
            kind = ""
            while not self.stopping.is_set():
                raw = response.readline()
                if not raw:
                    break
                line = raw.decode().rstrip("\n")
                if line.startswith(": subscribed"):
                    self.subscribed.release()
                elif line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    self.on_event(Event(time.time(), d.name, kind, json.loads(line[6:])))
        except (OSError, http.client.HTTPException, ValueError, AttributeError) as exc:
            # AttributeError: http.client, when close() shut the socket under a chunked read.
            if not self.stopping.is_set():
                self.errors.append(f"{d.name}: {exc!r}")
                self.subscribed.release()
        finally:
            conn.close()

    def close(self) -> None:
        self.stopping.set()
        for conn in self.connections:
            # Shut the socket only: the reader sees the end of its stream and closes it.
            with contextlib.suppress(OSError, AttributeError):
                if conn.sock is not None:
                    conn.sock.shutdown(socket.SHUT_RDWR)
        for t in self.threads:
            t.join(timeout=5)


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, nearest rank; NaN for none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(q * len(ordered))))
    return ordered[rank - 1]
