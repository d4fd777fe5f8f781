"""Waiting on daemons' state through their control APIs' event streams, not by sleeping.

``EventWatch`` keeps one ``GET /v1/events`` stream open per daemon (a thread
each, ending when its daemon stops) and counts the notifications they deliver. ``wait(what, check,
timeout_s)`` evaluates ``check`` — a read through the API — once, then again
each time any daemon reports a notification (a ride moved, a candidate was
found, a receipt recorded), until it holds or the deadline passes.

Some state has no notification: a connection opening, a ledger entry synced
from a peer. For those, ``check`` is also re-evaluated after ``idle_s`` of
quiet: a bounded re-check, not a sleep loop (docs/node.md, "Readiness").
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from http.client import HTTPException
from typing import TypeVar

from lazooz.control.client import Client

T = TypeVar("T")

#: State with no notification (connections, synced entries) is re-checked this often.
IDLE_S = 1.0

#: No proxy may see the token.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class EventWatch:
    """The event streams of some daemons, and waits that wake on their events."""

    def __init__(self, idle_s: float = IDLE_S) -> None:
        self.idle_s = idle_s
        self.seen = 0
        self._changed = threading.Condition()

    def follow(self, client: Client, name: str = "") -> None:
        """Open ``client``'s event stream; returns once it is subscribed (or failed)."""
        subscribed = threading.Event()
        request = urllib.request.Request(client.url + "/v1/events")
        request.add_header("Authorization", f"Bearer {client.token}")

        def read() -> None:
            try:
                with _OPENER.open(request) as response:
                    for raw in response:
                        if raw.startswith(b": subscribed"):
                            subscribed.set()
                        elif raw.startswith(b"event:"):
                            self.poke()
            except (OSError, ValueError, HTTPException, urllib.error.URLError):
                pass  # the daemon stopped: its stream ends with it, and so does this thread
            finally:
                subscribed.set()

        threading.Thread(target=read, name=f"events-{name}", daemon=True).start()
        subscribed.wait(10.0)

    def follow_all(self, clients: Iterable[tuple[str, Client]]) -> None:
        for name, client in clients:
            self.follow(client, name)

    def poke(self) -> None:
        """Wake every wait: something changed (an event came, or the caller knows better)."""
        with self._changed:
            self.seen += 1
            self._changed.notify_all()

    def wait(
        self,
        what: str,
        check: Callable[[], T | None],
        timeout_s: float,
        explain: Callable[[], str] | None = None,
    ) -> T:
        """``check()`` once not None nor False, re-checked on each event; else ``TimeoutError``."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self._changed:
                seen = self.seen
            found = check()
            if found is not None and found is not False:
                return found
            left = deadline - time.monotonic()
            if left <= 0:
                detail = f"\n{explain()}" if explain is not None else ""
                raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}{detail}")
            with self._changed:
                if self.seen == seen:  # nothing happened since the check: wait for something
                    self._changed.wait(min(left, self.idle_s))
