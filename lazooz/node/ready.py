"""The daemon's one stdout line, ``{"event": "ready", ...}``, and waiting on a child's lines.

A daemon prints exactly one line on stdout, once it is ready: its node is
running, its services (the control API) answer and ``node.json`` is written.
The line is a JSON object: ``"event": "ready"`` and the ``node.json`` fields
(``pid``, ``peer_id``, ``member_id``, ``public_key``, ``addrs``,
``data_dir``, ``metrics_url``, ``started_ms``) with each service's fields
(``control_url``) at the top level. Logs go to stderr, so a supervisor that
starts ``lazooz daemon`` with ``stdout=PIPE`` waits on that line instead of
polling files (docs/node.md, "Readiness").

``Lines`` reads a child's pipe in a thread and lets any thread wait, with a
timeout, for a line that satisfies a condition; ``wait_ready`` is that for
the ready line. This module imports nothing heavy: the demo and the tests
use it without loading libp2p.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any, TypeVar

READY_EVENT = "ready"

T = TypeVar("T")


def ready_line(fields: Mapping[str, object]) -> str:
    """The ready line for a node described by ``fields`` (no newline)."""
    return json.dumps({"event": READY_EVENT, **fields}, separators=(",", ":"))


def parse_ready(line: str) -> dict[str, Any] | None:
    """The ready line's fields, or None if ``line`` is another line."""
    if not line.startswith("{"):
        return None
    try:
        found = json.loads(line)
    except ValueError:
        return None
    if isinstance(found, dict) and found.get("event") == READY_EVENT:
        return found
    return None


class LinesEnded(Exception):
    """The pipe closed (the child exited) before the line waited for came."""


class Lines:
    """Every line of a child's pipe, read in a daemon thread, optionally copied to a file.

    ``wait_for(find, timeout_s)`` blocks until ``find`` returns something
    that is not None for a line read so far (earlier lines included), raises
    ``TimeoutError`` after ``timeout_s``, or ``LinesEnded`` if the pipe
    closed first. Waiting is on a condition the reader notifies for each
    line: no polling.
    """

    def __init__(self, pipe: IO[bytes], tee: Path | None = None, name: str = "child") -> None:
        self.name = name
        self._lines: list[str] = []
        self._ended = False
        self._changed = threading.Condition()
        self._tee = tee
        self._thread = threading.Thread(
            target=self._read, args=(pipe,), name=f"lines-{name}", daemon=True
        )
        self._thread.start()

    def _read(self, pipe: IO[bytes]) -> None:
        tee = self._tee.open("ab") if self._tee is not None else None
        try:
            for raw in pipe:
                if tee is not None:
                    tee.write(raw)
                    tee.flush()
                with self._changed:
                    self._lines.append(raw.decode("utf-8", "replace").rstrip("\r\n"))
                    self._changed.notify_all()
        except (OSError, ValueError):
            pass  # the pipe was closed under us: the child is gone
        finally:
            if tee is not None:
                tee.close()
            with self._changed:
                self._ended = True
                self._changed.notify_all()

    @property
    def lines(self) -> list[str]:
        with self._changed:
            return list(self._lines)

    def wait_for(self, find: Callable[[str], T | None], timeout_s: float, what: str = "") -> T:
        """The first non-None ``find(line)``, waiting up to ``timeout_s`` for more lines."""
        seen = 0
        what = what or f"a line from {self.name}"
        with self._changed:
            deadline = time.monotonic() + timeout_s
            while True:
                for line in self._lines[seen:]:
                    found = find(line)
                    if found is not None:
                        return found
                seen = len(self._lines)
                if self._ended:
                    raise LinesEnded(f"{self.name} closed its output before {what}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")
                self._changed.wait(left)

    def join(self, timeout_s: float) -> None:
        """Wait for the reader to reach the end of the pipe (after the child exited)."""
        self._thread.join(timeout_s)


def wait_ready(lines: Lines, timeout_s: float) -> dict[str, Any]:
    """The daemon's ready line; ``TimeoutError`` or ``LinesEnded`` if it does not come."""
    return lines.wait_for(parse_ready, timeout_s, f"{lines.name}'s ready line")
