"""What the browser tests stand on: Debian's chromium under Playwright, pages that may reach
only 127.0.0.1, and two nodes whose control servers serve the web UI.

``LocalPair`` is the fast pair: two real Peers in ``LocalNode``s, each behind
its own real control server (hypercorn, 127.0.0.1:0) in one trio thread, with
what one publishes or sends handed to the other after every request (as the
network would, at once). Their clock is the wall clock plus an offset a test
moves forward (``advance``), so a ride can last as long as its distance needs.
The real-daemon tests use ``tests.node_swarm.Swarm`` instead.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import trio
from starlette.types import ASGIApp, Receive, Scope, Send

from lazooz.control.app import make_app
from lazooz.control.files import ControlInfo
from lazooz.control.handle import LocalNode, wall_clock_ms
from lazooz.control.server import serve
from protocol.identity import Identity
from protocol.peer.peer import Peer
from tests.test_control_app import Wire
from tests.test_peer_net import TEL_AVIV

TOKEN = "browser-test-token-0123456789abcdef"
#: Flags from docs: a closed network makes chromium's background services fail noisily.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: One UI step (a click, an answer, an event through the stream).
STEP_MS = 20_000


def chromium_path() -> str | None:
    """Debian's chromium, installing it (as root) when it is missing; None if it cannot be had."""
    found = shutil.which("chromium")
    if found:
        return found
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        return None
    done = subprocess.run(
        [apt, "install", "-y", "-q", "chromium"], capture_output=True, timeout=600, check=False
    )
    return shutil.which("chromium") if done.returncode == 0 else None


def require_chromium() -> str:
    path = chromium_path()
    if path is None:
        pytest.skip(
            "chromium is not installed and cannot be (apt-get install chromium needs root): "
            "run `make browser` as root"
        )
    return path


@dataclass
class ExternalGuard:
    """Records every request a page makes to anything but 127.0.0.1, and aborts it."""

    seen: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def handle(self, route: Any) -> None:
        url = route.request.url
        self.seen.append(url)
        parts = urlsplit(url)
        local = parts.scheme in ("http", "https") and parts.hostname == "127.0.0.1"
        if local or parts.scheme == "data":
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()


class Flushing:
    """An ASGI wrapper that hands messages between the nodes after every request."""

    def __init__(self, app: ASGIApp, wire: Wire) -> None:
        self.app = app
        self.wire = wire

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
        if scope["type"] == "http":
            self.wire.flush()


class OffsetClock:
    """The wall clock plus an offset the test moves forward."""

    def __init__(self) -> None:
        self.offset_ms = 0

    def __call__(self) -> int:
        return wall_clock_ms() + self.offset_ms


@dataclass
class LocalPair:
    driver: LocalNode
    rider: LocalNode
    driver_url: str
    rider_url: str
    clock: OffsetClock

    def advance(self, ms: int) -> None:
        self.clock.offset_ms += ms


@contextmanager
def local_pair(root: Path) -> Iterator[LocalPair]:
    """Two LocalNodes in Tel Aviv, each served on 127.0.0.1 with the web UI."""
    clock = OffsetClock()

    def node(seed: int) -> LocalNode:
        identity = Identity.from_seed(bytes([seed]) * 32)
        return LocalNode(Peer(identity, TEL_AVIV, random.Random(seed)), clock=clock)

    driver, rider = node(41), node(42)
    driver.connected.add(rider.peer.public_key)
    rider.connected.add(driver.peer.public_key)
    wire = Wire(driver, rider)
    infos: list[ControlInfo] = []
    up, stop = threading.Event(), threading.Event()
    failed: list[BaseException] = []

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            for n in (driver, rider):
                app = Flushing(make_app(n, TOKEN), wire)
                infos.append(await nursery.start(partial(serve, app, "127.0.0.1", 0)))
            up.set()
            await trio.to_thread.run_sync(stop.wait)
            nursery.cancel_scope.cancel()

    def run() -> None:
        try:
            trio.run(main)
        except BaseException as exc:  # surfaced by the fixture below
            failed.append(exc)
            up.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert up.wait(30) and not failed, f"the servers did not start: {failed}"
    try:
        yield LocalPair(driver, rider, infos[0].url, infos[1].url, clock)
    finally:
        stop.set()
        thread.join(20)
    assert not failed, failed


def app_url(base: str, token: str = TOKEN) -> str:
    return f"{base}/app#token={token}"


def click_map(page: Any, lat: float, lon: float) -> None:
    """Click the map where (lat, lon) is, as a person would."""
    xy = page.evaluate("([lat, lon]) => map.latLngToContainerPoint([lat, lon])", [lat, lon])
    box = page.locator("#map").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + xy["x"], box["y"] + xy["y"])


def shot(page: Any, directory: Path, name: str) -> Path:
    path = directory / f"{name}.png"
    page.screenshot(path=str(path))
    return path
