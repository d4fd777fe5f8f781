"""The sync-lag metrics: what peers' heads show that the node does not hold yet, and for how long.

docs/node.md, "Sync lag". A Node with a fake host hears Bob's heads for two
logs of two entries each, then receives the entries over the sync stream.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

import pytest
import trio
import trio.testing

from lazooz.node import Node, NodeMetrics
from protocol.identity import Identity
from protocol.ledger import sync
from protocol.ledger.wire import Head, SyncHeads
from protocol.messages import Message
from protocol.peer.peer import Peer
from protocol.signing import seal
from tests.strategies import BOB
from tests.test_ledger_fixtures import CAROL, Members, ledger_of
from tests.test_node_runtime import FakeNet, RecordingStore, until
from tests.test_peer_net import TEL_AVIV

ALICE = Identity.from_seed(b"\x11" * 32)


class Clock:
    def __init__(self) -> None:
        self.now_s = 100.0

    def __call__(self) -> float:
        return self.now_s


@asynccontextmanager
async def alice(clock: Clock) -> AsyncIterator[tuple[Node, FakeNet]]:
    net = FakeNet()
    node = Node(
        Peer(ALICE, TEL_AVIV, random.Random(1)), RecordingStore(), metrics=NodeMetrics(clock)
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(node.run, net)
        yield node, net
        node.stop()


def tell(node: Node, sender: Identity, messages: Iterable[Message]) -> None:
    """``messages`` from ``sender``, as frames of its sync stream to the node."""
    for m in messages:
        node.handlers().frame(sender.public_key, "sync", seal(sender, m).raw)


def lag(node: Node) -> tuple[float, float, float]:
    m = node.metrics
    return (
        m.value("lazooz_sync_behind_entries"),
        m.value("lazooz_sync_behind_logs"),
        m.value("lazooz_sync_lag_seconds"),
    )


@pytest.mark.trio
async def test_heads_beyond_what_is_held_count_until_the_entries_arrive() -> None:
    members = Members(BOB, CAROL)
    members.ride(BOB, CAROL)
    members.ride(BOB, CAROL)
    raws = members.raw_entries()
    heads = sync.heads_messages(sync.heads(ledger_of(raws)))
    clock = Clock()
    async with alice(clock) as (node, net):
        assert lag(node) == (0, 0, 0)
        tell(node, BOB, heads)
        await until(lambda: lag(node)[0] == 4)
        assert lag(node) == (4, 2, 0)  # two logs, two entries each; behind since just now
        clock.now_s += 7.5
        assert lag(node) == (4, 2, 7.5)  # still behind: the lag grows as time passes
        assert any(ch == "sync" and to == BOB.public_key for to, ch, _, _ in net.sent)  # asked

        # Bob's log arrives first: one log left, and the lag still counts from the start.
        tell(node, BOB, sync.entry_batches([e.raw for e in members.log(BOB)]))
        await until(lambda: lag(node)[0] == 2)
        assert lag(node) == (2, 1, 7.5)

        tell(node, BOB, sync.entry_batches([e.raw for e in members.log(CAROL)]))
        await until(lambda: lag(node)[0] == 0)
        assert lag(node) == (0, 0, 0)  # caught up: no lag, however long it took


@pytest.mark.trio
async def test_heads_a_node_already_holds_are_no_lag_and_a_higher_claim_counts_once() -> None:
    members = Members(BOB, CAROL)
    members.ride(BOB, CAROL)
    raws = members.raw_entries()
    clock = Clock()
    async with alice(clock) as (node, _):
        tell(node, BOB, sync.entry_batches(raws))
        held = sync.heads(ledger_of(raws))
        tell(node, BOB, sync.heads_messages(held))
        tell(node, CAROL, sync.heads_messages(held))
        await until(lambda: sync.heads(node.peer.ledger) == held)
        await trio.testing.wait_all_tasks_blocked(cushion=0.01)  # the heads frames handled too
        assert lag(node) == (0, 0, 0)
        # Two peers claiming Bob's log reaches seq 3 (one more than held): one entry behind.
        (seq, head_id) = held[BOB.public_key]
        claim = SyncHeads((Head(BOB.public_key, seq + 1, head_id),))
        tell(node, BOB, [claim])
        tell(node, CAROL, [claim])
        await until(lambda: lag(node)[0] == 1)
        assert lag(node) == (1, 1, 0)
