"""Work that Peers hearing the same gossip bytes can share: the pure steps of opening.

Steps 1-4 of the gossip pipeline (SPEC §5: size, decode, kind, signature) and
its semantic rules (step 7) depend only on the bytes and the policy, and so
does the whole opening of a ledger-topic message. A simulator running
thousands of Peers in one process hands them one ``SharedOpening`` so each
message is opened once, not once per receiver; every Peer still runs the
steps that depend on it (freshness against its clock, its replay window, its
book). A node hears each message once and has no use for one.

A result, good or bad, is the one a Peer would have computed itself: errors
are kept as their type and text and raised anew each time.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar, cast

from protocol.errors import RemoteError

T = TypeVar("T")
#: What opening some bytes gave: a value, or the error's type and text.
_Outcome = tuple[object, type[RemoteError] | None]


class SharedOpening:
    """A bounded memo of pure opening steps under one policy, keyed by step and bytes."""

    def __init__(self, policy: object, capacity: int = 100_000) -> None:
        self.policy = policy
        self.capacity = capacity
        self._memo: OrderedDict[tuple[str, bytes], _Outcome] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def run(self, step: str, policy: object, data: bytes, fn: Callable[[], T]) -> T:
        """``fn()``, or what it gave for the same ``step`` and ``data`` before.

        ``fn`` must be a pure function of ``policy`` and ``data`` that returns an
        immutable value or raises a ``RemoteError``. A Peer under another
        policy than this memo's gets ``fn()`` every time.
        """
        if policy is not self.policy and policy != self.policy:
            return fn()
        return self.remember(step, data, fn)

    def remember(self, step: str, data: bytes, fn: Callable[[], T]) -> T:
        """``run`` for work that no policy changes: ``step`` must name everything
        besides ``data`` that ``fn``'s result depends on."""
        key = (step, data)
        found = self._memo.get(key)
        if found is None:
            self.misses += 1
            try:
                found = (fn(), None)
            except RemoteError as exc:
                found = (str(exc), type(exc))
            self._memo[key] = found
            if len(self._memo) > self.capacity:
                self._memo.popitem(last=False)
        else:
            self.hits += 1
        value, error = found
        if error is not None:
            raise error(value)
        return cast(T, value)
