"""Rejoining: peers noted as they connect, redialled at start with backoff (virtual time)."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
import trio
import trio.testing

from lazooz.net.keys import peer_id_of
from lazooz.node.rejoin import BACKOFF_S, Rejoin
from lazooz.store.records import KnownPeer
from protocol.fields import PublicKey
from protocol.identity import Identity

ME, BOB, CAROL, DAVE = (
    PublicKey(Identity.from_seed(bytes([n]) * 32).public_key) for n in (1, 2, 3, 4)
)


def addr(key: PublicKey, port: int) -> str:
    return f"/ip4/127.0.0.1/tcp/{port}/p2p/{peer_id_of(key)}"


class Book:
    def __init__(self, known: list[KnownPeer]) -> None:
        self.known = known
        self.noted: list[KnownPeer] = []

    def note_peers(self, peers: Iterable[KnownPeer]) -> None:
        self.noted += peers

    def known_peers(self, limit: int | None = None) -> list[KnownPeer]:
        return self.known[:limit]


class Dialer:
    """Reaches a member at ``reachable[key]`` once ``up_after_s`` of virtual time has passed."""

    def __init__(self, reachable: dict[PublicKey, str], up_after_s: float = 0.0) -> None:
        self.reachable = reachable
        self.up_after_s = up_after_s
        self.connected: set[PublicKey] = set()
        self.dials: list[tuple[float, str]] = []

    def is_connected(self, key: PublicKey) -> bool:
        return key in self.connected

    def peer_addrs(self, key: PublicKey) -> list[str]:
        return [self.reachable[key]] if key in self.reachable else []

    async def connect(self, text: str) -> PublicKey | None:
        self.dials.append((trio.current_time(), text))
        for key, where in self.reachable.items():
            if where == text and trio.current_time() >= self.up_after_s:
                self.connected.add(key)
                return key
        return None


def known(key: PublicKey, *addrs: str, seen_ms: int = 1) -> KnownPeer:
    return KnownPeer(str(peer_id_of(key)), addrs, seen_ms)


@pytest.mark.trio
async def test_known_peers_are_redialled_with_backoff_until_one_answers(
    autojump_clock: trio.testing.MockClock,
) -> None:
    book = Book([known(BOB, addr(BOB, 1), addr(BOB, 2)), known(CAROL, addr(CAROL, 3))])
    net = Dialer({BOB: addr(BOB, 2), CAROL: addr(CAROL, 3)}, up_after_s=3.0)
    rejoin = Rejoin(book, ME)
    start = trio.current_time()
    outcome = await rejoin.redial(net, set(), limit=16)
    assert (outcome.tried, outcome.reached) == (2, 2)
    assert outcome.first_s == pytest.approx(4.0)  # tries at 0, 1, 2, 4 s: up from 3 s
    bob_tries = [round(t - start, 3) for t, a in net.dials if a.endswith(str(peer_id_of(BOB)))]
    assert bob_tries == [0, 0, 1, 1, 2, 2, 4, 4]  # every remembered address, each try


@pytest.mark.trio
async def test_redial_is_bounded_skips_bootstrap_and_self_and_gives_up(
    autojump_clock: trio.testing.MockClock,
) -> None:
    book = Book(
        [
            known(ME, addr(ME, 9)),
            known(BOB, addr(BOB, 1)),
            known(CAROL, addr(CAROL, 3)),
            known(DAVE, addr(DAVE, 4)),
        ]
    )
    net = Dialer({})  # nobody answers
    rejoin = Rejoin(book, ME)
    start = trio.current_time()
    outcome = await rejoin.redial(net, {BOB}, limit=1)
    assert (outcome.tried, outcome.reached, outcome.first_s) == (1, 0, None)
    assert {a for _, a in net.dials} == {addr(CAROL, 3)}  # not me, not bootstrap, one only
    assert len(net.dials) == len(BACKOFF_S)
    assert trio.current_time() - start == pytest.approx(BACKOFF_S[-1])  # bounded


@pytest.mark.trio
async def test_connections_are_noted_with_the_addresses_the_host_learnt() -> None:
    book = Book([])
    net = Dialer({BOB: addr(BOB, 1)})
    rejoin = Rejoin(book, ME, wall_ms=lambda: 5_000)
    async with trio.open_nursery() as nursery:
        await nursery.start(rejoin.run, net, (), 0)
        rejoin.seen(BOB)
        rejoin.seen(CAROL)  # no address known: nothing to remember
        await trio.testing.wait_all_tasks_blocked(cushion=0.05)
        rejoin.stop()
    assert book.noted == [known(BOB, addr(BOB, 1), seen_ms=5_000)]
