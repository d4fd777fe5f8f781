"""A local swarm of real ``lazooz daemon`` processes on loopback, each in its own temp data dir.

``Swarm`` makes a temporary root, runs ``lazooz init`` for every member, gives
each a loopback port and every other member's address as ``node.bootstrap``,
starts them all, and waits for each one's ready line (``lazooz.node.ready``,
read from its stdout in a thread), then follows each control API's event
stream (``events.EventWatch``) so the script waits on events. ``close()`` (also on any error, and on
``with`` exit) sends SIGTERM to every daemon, waits, SIGKILLs what is left and
removes the root: no process and no directory is left behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from lazooz.control.client import Client
from lazooz.demo.events import EventWatch
from lazooz.node.ready import Lines, LinesEnded, wait_ready

#: Seconds one daemon may take to bring its API up (libp2p imports take seconds on 2 cores).
START_TIMEOUT_S = 90.0
#: Seconds every daemon gets to stop after SIGTERM before it is killed.
STOP_TIMEOUT_S = 15.0


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
#: An Ed25519 libp2p peer id: identity multihash of the protobuf key (``lazooz.net.keys``).
_ED25519_PEER_ID_PREFIX = b"\x00\x24\x08\x01\x12\x20"


def peer_id_text(public_key: bytes) -> str:
    """The base58 peer id of a member key, without importing libp2p (seconds to import)."""
    raw = _ED25519_PEER_ID_PREFIX + public_key
    n = int.from_bytes(raw, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = _B58[r] + out
    return "1" * (len(raw) - len(raw.lstrip(b"\0"))) + out


def free_port() -> int:
    """A TCP port free on loopback now (the daemon binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def die_with_parent() -> None:
    """In a daemon's child process: SIGTERM when its parent dies, even by SIGKILL (Linux)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class SwarmError(Exception):
    """The swarm could not be started or did not do what the script needs."""


def lazooz_command() -> list[str]:
    """How to run the ``lazooz`` CLI with this interpreter."""
    script = Path(sys.executable).parent / "lazooz"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from lazooz.cli import app; app()"]


@dataclass(slots=True)
class Daemon:
    name: str
    data_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    client: Client | None = None
    info: dict[str, Any] = field(default_factory=dict)
    stdout: Lines | None = None

    @property
    def api(self) -> Client:
        if self.client is None:
            raise SwarmError(f"{self.name}: the node's API is not up")
        return self.client

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class Swarm:
    """Daemons named ``names``, each bootstrapped to all the others."""

    def __init__(self, names: list[str]) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="lazooz-demo-"))
        self.daemons = [
            Daemon(name, self.root / name.lower(), self.root / f"{name.lower()}.log")
            for name in names
        ]
        self.closed = False
        #: Every daemon's notifications, for waits that wake on them (``Script.wait``).
        self.watch = EventWatch()

    def __enter__(self) -> Swarm:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def pids(self) -> list[int]:
        return [d.process.pid for d in self.daemons if d.process is not None]

    # -- starting

    def start(self) -> None:
        """init every member, then start every daemon at once, each bootstrapped to all others.

        Every daemon listens on a loopback port picked here, so each one's
        ``node.bootstrap`` can name all the others (a full mesh: members would find
        each other through the DHT, but a dense mesh keeps gossip and the script's
        timing predictable; a ride's direct stream needs the counterparty's
        address). A bootstrap peer not up yet is dialled again every 10 s.
        """
        inits = [
            subprocess.Popen(
                [*lazooz_command(), "init", "--data-dir", str(d.data_dir), "--json"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for d in self.daemons
        ]
        try:
            for d, p in zip(self.daemons, inits, strict=True):
                out, err = p.communicate(timeout=120)
                if p.returncode != 0:
                    raise SwarmError(f"lazooz init for {d.name} failed: {err.decode().strip()}")
                made = json.loads(out)
                d.info["member_id"] = made["member_id"]
                d.info["public_key"] = made["public_key"]
                d.info["peer_id"] = peer_id_text(bytes.fromhex(made["public_key"]))
                d.info["listen"] = f"/ip4/127.0.0.1/tcp/{free_port()}"
        finally:  # interrupted or failed: no init may outlive the demo either
            for p in inits:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        for d in self.daemons:
            others = [
                f"{o.info['listen']}/p2p/{o.info['peer_id']}" for o in self.daemons if o is not d
            ]
            config = d.data_dir / "lazooz.toml"
            text = config.read_text("utf-8")
            for old, new in (
                ("bootstrap = []", f"bootstrap = {json.dumps(others)}"),
                ('listen = ["/ip4/127.0.0.1/tcp/0"]', f"listen = {json.dumps([d.info['listen']])}"),
                # Demo members are not the person at this desktop: no desktop notifications.
                ('command = "auto"', 'command = "off"'),
            ):
                if old not in text:
                    raise SwarmError(f"{config}: no `{old}` line to change")
                text = text.replace(old, new, 1)
            config.write_text(text, "utf-8")
        for d in self.daemons:
            self._spawn(d)
        # Readers start once every daemon is forked: preexec_fn is unsafe beside threads.
        for d in self.daemons:
            assert d.process is not None and d.process.stdout is not None
            d.stdout = Lines(d.process.stdout, name=f"the daemon of {d.name}")
        self._wait_up(self.daemons)

    def _spawn(self, d: Daemon) -> None:
        with d.log_path.open("wb") as log:
            d.process = subprocess.Popen(
                [*lazooz_command(), "daemon", "--data-dir", str(d.data_dir)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,  # the ready line, and nothing else
                stderr=log,
                # Its own session: a Ctrl-C at the terminal reaches the demo only,
                # which then stops every daemon in order.
                start_new_session=True,
                preexec_fn=die_with_parent,  # noqa: PLW1509 - no thread runs yet
            )

    def _wait_up(self, daemons: list[Daemon]) -> None:
        """Wait for every daemon's ready line (one overall deadline), then follow its events."""
        deadline = time.monotonic() + START_TIMEOUT_S
        for d in daemons:
            assert d.process is not None and d.stdout is not None
            try:
                ready = wait_ready(d.stdout, max(0.0, deadline - time.monotonic()))
            except LinesEnded:
                d.process.wait(timeout=STOP_TIMEOUT_S)
                raise SwarmError(
                    f"the daemon of {d.name} exited with {d.process.returncode}:\n" + d.log_tail()
                ) from None
            except TimeoutError:
                names = ", ".join(w.name for w in daemons if not w.client)
                raise SwarmError(f"no ready line after {START_TIMEOUT_S:.0f} s: {names}") from None
            if ready["peer_id"] != d.info["peer_id"]:
                raise SwarmError(
                    f"{d.name}: peer id {ready['peer_id']}, expected {d.info['peer_id']}"
                )
            d.client = Client.of(d.data_dir)
            self.watch.follow(d.client, d.name)

    # -- stopping

    def close(self) -> dict[str, int | None]:
        """SIGTERM every daemon, wait, SIGKILL leftovers, remove the root; exit codes by name."""
        codes: dict[str, int | None] = {}
        if self.closed:
            return codes
        self.closed = True
        running = [d for d in self.daemons if d.process is not None]
        for d in running:
            assert d.process is not None
            if d.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    d.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for d in running:
            assert d.process is not None
            try:
                codes[d.name] = d.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                codes[d.name] = None
        for d in running:
            assert d.process is not None
            if d.process.poll() is None:
                try:  # the daemon's whole session: nothing it started may outlive it
                    os.killpg(d.process.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    d.process.kill()
                d.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)
        return codes
