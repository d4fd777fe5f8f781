"""Remembering the peers a node connects to, and redialling them when it starts again.

Each member this node connects to (either side dialling) is noted in the
store (``Store.note_peers``: peer id, the addresses the host learnt for it,
when) as soon as its addresses are known (at once for a member dialled,
after identify for one that dialled in), and again when it disconnects, so
``last_seen_ms`` is the end of the last connection. At start, ``redial``
dials the ``limit`` most recently seen (``net.redial`` in the
configuration), all at once, each with its own backoff: tries at 0, 1, 2, 4,
8, 16 and 30 s after start, each trying every address remembered, until one
connects or the tries run out. A node whose
bootstrap configuration is empty thus rejoins the members it last knew
(docs/node.md, "Rejoining and finding members").

The store is called in worker threads; a store failure here is logged,
never fatal: remembering peers is a convenience, not a promise.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import structlog
import trio
from libp2p.peer.id import ID

from lazooz.net.keys import peer_id_of, public_key_of
from lazooz.store.records import KnownPeer
from protocol.errors import LazoozError
from protocol.fields import PublicKey

if TYPE_CHECKING:
    from trio_typing import TaskStatus

log = structlog.get_logger(__name__)

#: Seconds after start of each redial try.
BACKOFF_S: tuple[float, ...] = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0)


class PeerBook(Protocol):
    """Where known peers are kept (``lazooz.store.Store`` is one)."""

    def note_peers(self, peers: Iterable[KnownPeer]) -> None: ...
    def known_peers(self, limit: int | None = None) -> list[KnownPeer]: ...


class Dialer(Protocol):
    """What redialling needs of the host (``lazooz.net.NetHost`` has it)."""

    def is_connected(self, key: PublicKey) -> bool: ...
    def peer_addrs(self, key: PublicKey) -> list[str]: ...
    async def connect(self, addr: str) -> PublicKey | None: ...


@dataclass(frozen=True, slots=True)
class Redialled:
    """How a start's redial went: peers tried, reached, and when the first was reached."""

    tried: int
    reached: int
    first_s: float | None


class Rejoin:
    """Notes connections in ``book``, and redials its peers at start (``run``, in the node)."""

    def __init__(
        self,
        book: PeerBook,
        own: PublicKey,
        wall_ms: Callable[[], int] = lambda: int(time.time() * 1000),
        backoff_s: Sequence[float] = BACKOFF_S,
    ) -> None:
        self._book = book
        self._net: Dialer | None = None
        self._own = own
        self._backoff_s = tuple(backoff_s)
        self._notes_in, self._notes_out = trio.open_memory_channel[PublicKey](math.inf)
        self._scope = trio.CancelScope()
        self._wall_ms = wall_ms

    # -- the host's side (called from its tasks: must not block)

    def seen(self, key: PublicKey) -> None:
        """A member connected, was identified or disconnected: note its addresses now
        (a member whose addresses are not known yet is noted at the next call)."""
        with contextlib.suppress(trio.ClosedResourceError):
            self._notes_in.send_nowait(key)

    # -- running

    async def run(
        self,
        net: Dialer,
        skip: Iterable[PublicKey] = (),
        limit: int = 16,
        *,
        task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Note peers as they come and go; redial up to ``limit`` known ones (not ``skip``)."""
        self._net = net
        with self._scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._write_notes)
                task_status.started()
                if limit > 0:
                    await self.redial(net, set(skip), limit)

    def stop(self) -> None:
        """Stop noting and redialling (a note being written is finished first)."""
        self._scope.cancel()

    async def redial(self, net: Dialer, skip: set[PublicKey], limit: int) -> Redialled:
        """Dial the ``limit`` most recently seen known peers (not ``skip``), each with backoff."""
        try:
            known = await trio.to_thread.run_sync(self._book.known_peers, limit + len(skip) + 1)
        except LazoozError as exc:
            log.warning("known peers unreadable: no redial", error=str(exc))
            return Redialled(0, 0, None)
        targets: list[tuple[PublicKey, tuple[str, ...]]] = []
        for peer in known:
            key = _key_of(peer.peer_id)
            if key is not None and key != self._own and key not in skip and peer.addrs:
                targets.append((key, peer.addrs))
        targets = targets[:limit]
        started = trio.current_time()
        reached: list[float] = []
        async with trio.open_nursery() as nursery:
            for key, addrs in targets:
                nursery.start_soon(self._redial_one, net, key, addrs, started, reached)
        first = min(reached) if reached else None
        outcome = Redialled(len(targets), len(reached), first)
        log.info("redial done", tried=outcome.tried, reached=outcome.reached, first_s=first)
        return outcome

    async def _redial_one(
        self,
        net: Dialer,
        key: PublicKey,
        addrs: tuple[str, ...],
        started: float,
        reached: list[float],
    ) -> None:
        peer = str(peer_id_of(key))
        for attempt, at_s in enumerate(self._backoff_s, 1):
            # Backoff between tries: time passing is the point, not a condition to wait for.
            await trio.sleep_until(started + at_s)
            if net.is_connected(key):
                reached.append(trio.current_time() - started)
                log.info("redial: already connected", peer=peer, attempt=attempt)
                return
            for addr in addrs:
                if await net.connect(addr) == key:
                    took = trio.current_time() - started
                    reached.append(took)
                    log.info("redialled", peer=peer, addr=addr, attempt=attempt, took_s=took)
                    return
        log.info("redial gave up", peer=peer, tries=len(self._backoff_s))

    async def _write_notes(self) -> None:
        assert self._net is not None
        async for key in self._notes_out:
            keys = {key}
            while True:  # everything queued meanwhile goes in the same transaction
                try:
                    keys.add(self._notes_out.receive_nowait())
                except trio.WouldBlock:
                    break
            now = self._wall_ms()
            notes = [
                KnownPeer(str(peer_id_of(k)), tuple(addrs), now)
                for k in sorted(keys)
                if (addrs := self._net.peer_addrs(k))
            ]
            if not notes:
                continue
            try:
                await trio.to_thread.run_sync(self._book.note_peers, notes)
            except LazoozError as exc:
                log.warning("known peers not written", error=str(exc), peers=len(notes))
                continue
            for note in notes:
                log.info("peer noted", peer=note.peer_id, addrs=len(note.addrs))


def _key_of(peer_id: str) -> PublicKey | None:
    try:
        return public_key_of(ID.from_base58(peer_id))
    except (ValueError, TypeError):
        return None
