"""Real ``lazooz daemon`` processes on loopback for end-to-end tests, and waits with deadlines.

``Swarm`` (the ``swarm`` fixture of the ``tests/test_node_e2e*.py`` modules)
gives each member a data directory under the test's ``tmp_path``, made by
``lazooz init``, with a config file the test controls (bootstrap peers,
JSON logs, metrics on a free port, a short republish period). ``start``
spawns ``lazooz daemon`` in its own session; ``wait_ready`` waits for the
daemon's ready line on stdout (``lazooz.node.ready``), read in a thread, then
follows its control API's event stream. Nothing waits by sleeping:
``Swarm.wait`` re-checks a condition each time a member's event stream
reports a notification (``lazooz.demo.events``; state without one, such as a
connection, is re-checked after a second of quiet), up to a deadline, and
fails with the members' log tails. ``close`` (the fixture's teardown, also after a failure)
SIGKILLs every process group still running and checks that no process whose
command line names the swarm's root is left.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from lazooz.control.client import Client
from lazooz.demo.events import EventWatch
from lazooz.demo.swarm import lazooz_command
from lazooz.node.ready import Lines, LinesEnded, wait_ready

T = TypeVar("T")

#: A daemon imports libp2p (~5 s alone), more on two busy cores.
START_TIMEOUT_S = 90.0
#: SIGTERM to exit: the daemon promises a graceful stop within 10 s.
STOP_TIMEOUT_S = 20.0
#: One protocol step on loopback (gossip through a fresh mesh, a stream frame).
STEP_TIMEOUT_S = 45.0
NODE_FILE = "node.json"


def now_ms() -> int:
    return int(time.time() * 1000)


class WaitTimeout(AssertionError):
    """A condition did not hold before its deadline."""


def pids_naming(text: str) -> list[int]:
    """Pids of live processes (zombies excluded) whose command line contains ``text``."""
    found = []
    needle = text.encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state = stat.rsplit(")", 1)[-1].split()[0] if ")" in stat else "?"
        if needle in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


@dataclass(slots=True)
class Member:
    """One member: its data directory, config, log, and its daemon process when running."""

    name: str
    data_dir: Path
    log_dir: Path
    public_key: str = ""
    member_id: str = ""
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    client: Client | None = None
    #: The events of every member's API, shared with the swarm (``Swarm.wait``).
    watch: EventWatch = field(default_factory=EventWatch)
    stdout: Lines | None = None
    stderr: Lines | None = None
    ready: dict[str, Any] = field(default_factory=dict)

    # -- files

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"{self.name}.{self.starts}.log"

    def configure(self, bootstrap: list[str] | None = None) -> None:
        """Write the member's ``lazooz.toml``: loopback, JSON logs, metrics, quick republish."""
        lines = [
            "[node]",
            f"bootstrap = {json.dumps(bootstrap or [])}",
            "[log]",
            'format = "json"',
            "[metrics]",
            "enabled = true",
            "port = 0",
            "[peer]",
            # Own offers and requests go out again every 10 s (+ jitter), so one
            # published before a mesh formed is not lost for the default 5 min.
            "republish_s = 10",
            # No desktop notifications from test daemons (a test may set its own command).
            "[notify]",
            'command = "off"',
        ]
        (self.data_dir / "lazooz.toml").write_text("\n".join(lines) + "\n", "utf-8")

    # -- process

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, f"{self.name} runs"
        self.starts += 1
        self.client = None
        self.ready = {}
        self.process = subprocess.Popen(
            [*lazooz_command(), "daemon", "--data-dir", str(self.data_dir)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,  # its own group: killpg reaches anything it started
        )
        assert self.process.stdout is not None and self.process.stderr is not None
        self.stdout = Lines(self.process.stdout, name=f"{self.name}'s daemon")
        self.stderr = Lines(self.process.stderr, tee=self.log_path, name=f"{self.name}'s log")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_ready(self, timeout_s: float = START_TIMEOUT_S) -> dict[str, Any]:
        """Wait for this start's ready line; then follow its events. The node's ``/v1/status``."""
        assert self.stdout is not None
        try:
            self.ready = wait_ready(self.stdout, timeout_s)
        except (TimeoutError, LinesEnded) as exc:
            code = self.process.poll() if self.process else None
            raise AssertionError(
                f"{self.name} (exit status {code}): {exc}\n{self.tail()}"
            ) from None
        assert self.ready["pid"] == self.pid
        self.client = Client.of(self.data_dir)
        assert self.client.url == self.ready["control_url"]
        self.watch.follow(self.client, self.name)
        status: dict[str, Any] = self.client.get("/v1/status")
        self.public_key = status["public_key"]
        self.member_id = status["member_id"]
        return status

    def node_info(self) -> dict[str, Any]:
        assert self.ready, f"{self.name} is not up"
        return self.ready

    def addr(self) -> str:
        """A loopback multiaddr (with ``/p2p/``) others can bootstrap to."""
        addrs: list[str] = self.node_info()["addrs"]
        return next(a for a in addrs if a.startswith("/ip4/127.0.0.1/"))

    def terminate(self) -> int:
        """SIGTERM and wait; the exit status."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=STOP_TIMEOUT_S)
        self.client = None
        self._drain()
        return code

    def _drain(self) -> None:
        """After an exit: read the log to its end, so ``tail`` and ``logged`` see all of it."""
        if self.stderr is not None:
            self.stderr.join(STOP_TIMEOUT_S)

    def kill(self) -> None:
        """SIGKILL the daemon (a crash) and reap it."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=STOP_TIMEOUT_S)
        self.client = None
        self._drain()

    # -- API

    @property
    def api(self) -> Client:
        assert self.client is not None, f"{self.name}'s API is not up"
        return self.client

    def get(self, path: str, **query: str) -> Any:
        return self.api.get(path, **query)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.api.post(path, body)

    def metrics(self) -> str:
        url = self.node_info()["metrics_url"]
        with urllib.request.urlopen(url, timeout=10) as response:
            text: str = response.read().decode()
            return text

    def tail(self, lines: int = 25) -> str:
        if self.stderr is None:
            return f"({self.name}: no log)"
        return f"--- {self.log_path.name}\n" + "\n".join(self.stderr.lines[-lines:])


class Swarm:
    """Members under ``root``; ``close`` leaves no process behind."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.members: list[Member] = []
        self.watch = EventWatch()

    def add(self, name: str, bootstrap: list[str] | None = None) -> Member:
        """``lazooz init`` a data directory for ``name`` and write its config."""
        data_dir = self.root / name
        done = subprocess.run(
            [*lazooz_command(), "init", "--data-dir", str(data_dir), "--json"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        member = Member(name, data_dir, self.root, watch=self.watch)
        member.member_id = json.loads(done.stdout)["member_id"]
        member.configure(bootstrap)
        self.members.append(member)
        return member

    def start(self, *members: Member) -> None:
        """Start the daemons together (their imports overlap) and wait for every one."""
        for m in members:
            m.start()
        for m in members:
            m.wait_ready()

    def explain(self) -> str:
        return "\n".join(m.tail() for m in self.members)

    def wait(
        self, what: str, check: Callable[[], T | None], timeout_s: float = STEP_TIMEOUT_S
    ) -> T:
        """``check()`` once it holds, re-checked on every member's events, within ``timeout_s``."""
        try:
            return self.watch.wait(what, check, timeout_s, self.explain)
        except TimeoutError as exc:
            raise WaitTimeout(str(exc)) from None

    def leftovers(self) -> list[int]:
        return pids_naming(str(self.root))

    def stop_all(self) -> dict[str, int]:
        """SIGTERM every running daemon at once; exit statuses by name."""
        running = [m for m in self.members if m.running()]
        for m in running:
            assert m.process is not None
            m.process.send_signal(signal.SIGTERM)
        codes = {}
        for m in running:
            assert m.process is not None
            codes[m.name] = m.process.wait(timeout=STOP_TIMEOUT_S)
            m.client = None
            m._drain()
        return codes

    def close(self) -> list[int]:
        """Kill whatever still runs (whole process groups); the pids that were left behind."""
        for m in self.members:
            if m.process is not None and m.process.poll() is None:
                try:
                    os.killpg(m.process.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    m.process.kill()
            if m.process is not None:
                m.process.wait(timeout=STOP_TIMEOUT_S)
        left = self.leftovers()
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return left
