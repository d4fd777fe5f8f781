"""Gossip topics: subscriptions with the caller's validator, delivery, and publishing.

The caller's ``validate(topic, data)`` runs as the libp2p topic validator of
every subscribed topic, before a message is delivered or forwarded: what it
refuses goes no further than this host. libp2p runs it on this host's own
publications too. Accepted messages from others are handed to
``on_message(topic, data)``; this host's own, which libp2p would echo back,
are not.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable

import structlog
import trio
from libp2p.abc import ISubscriptionAPI
from libp2p.peer.id import ID
from libp2p.pubsub.gossipsub import GossipSub
from libp2p.pubsub.pb import rpc_pb2
from libp2p.pubsub.pubsub import Pubsub

from lazooz.net.counters import CountHandler

log = structlog.get_logger(__name__)

Validator = Callable[[str, bytes], bool]
GossipHandler = Callable[[str, bytes], None]

#: How often ``publish`` looks at the mesh while it waits for peers.
_POLL_S = 0.05

# The verdict of this host's validator on the message the current task is
# publishing. libp2p runs the validator inside ``Pubsub.publish``, in the
# publishing task, so a context variable carries the verdict back out.
_own_verdict: contextvars.ContextVar[bool | None] = contextvars.ContextVar(
    "lazooz_net_own_verdict", default=None
)


class Gossip:
    """The gossipsub topics of one host."""

    def __init__(
        self,
        pubsub: Pubsub,
        router: GossipSub,
        validate: Validator,
        on_message: GossipHandler,
        count: CountHandler,
    ) -> None:
        self._pubsub = pubsub
        self._router = router
        self._validate = validate
        self._on_message = on_message
        self._count = count
        self._me = pubsub.my_id
        self._readers: dict[str, trio.CancelScope] = {}
        self._nursery: trio.Nursery | None = None

    def start(self, nursery: trio.Nursery) -> None:
        self._nursery = nursery

    @property
    def topics(self) -> frozenset[str]:
        """The topics subscribed to now."""
        return frozenset(self._readers)

    def mesh_size(self, topic: str) -> int:
        """Peers in this host's mesh for ``topic`` (0 when not subscribed)."""
        return len(self._router.mesh.get(topic, ()))

    def topic_peers(self, topic: str) -> int:
        """Connected peers known to be subscribed to ``topic``."""
        return sum(1 for p in self._pubsub.peer_topics.get(topic, ()) if p in self._pubsub.peers)

    async def subscribe(self, topic: str) -> None:
        """Join ``topic``: validate its messages and deliver the accepted ones. Idempotent."""
        if topic in self._readers:
            return
        assert self._nursery is not None, "Gossip.start must run first"
        # The validator goes first so that no message of the topic slips past it.
        self._pubsub.set_topic_validator(topic, self._validator(topic), False)
        subscription = await self._pubsub.subscribe(topic)
        scope = trio.CancelScope()
        self._readers[topic] = scope
        self._nursery.start_soon(self._read, topic, subscription, scope)

    async def unsubscribe(self, topic: str) -> None:
        """Leave ``topic``; nothing more of it is delivered. Idempotent."""
        scope = self._readers.pop(topic, None)
        if scope is None:
            return
        scope.cancel()
        await self._pubsub.unsubscribe(topic)
        self._pubsub.remove_topic_validator(topic)

    async def publish(self, topic: str, data: bytes, timeout_s: float) -> bool:
        """Publish once the topic has peers to take it, waiting up to ``timeout_s``.

        py-libp2p does not flood-publish: a message published before the mesh
        has formed reaches nobody. So this waits until ``topic`` has mesh peers
        (or, on a topic this host is not subscribed to, any peer subscribed to
        it). ``False`` if none came in time or this host's own validator
        refused the message; ``True`` once it is handed to the mesh.
        """
        if not await self.wait_for_peers(topic, timeout_s):
            self._count("gossip", "no_peers")
            log.info("publish found no peers", topic=topic, timeout_s=timeout_s)
            return False
        token = _own_verdict.set(None)
        try:
            await self._pubsub.publish(topic, data)
            verdict = _own_verdict.get()
        finally:
            _own_verdict.reset(token)
        if verdict is False:
            self._count("gossip", "own_rejected")
            return False
        self._count("gossip", "published")
        return True

    async def wait_for_peers(self, topic: str, timeout_s: float) -> bool:
        """Wait until ``topic`` has peers to publish to (see ``publish``); ``False`` on timeout."""
        # py-libp2p has events for one given peer joining a mesh, none for "any
        # peer": look at the mesh every _POLL_S until the deadline.
        with trio.move_on_after(timeout_s):
            while not self._ready(topic):
                await trio.sleep(_POLL_S)
        return self._ready(topic)

    def _ready(self, topic: str) -> bool:
        if topic in self._router.mesh:
            return self.mesh_size(topic) > 0
        return self.topic_peers(topic) > 0

    def _validator(self, topic: str) -> Callable[[ID, rpc_pb2.Message], bool]:
        def check(forwarder: ID, msg: rpc_pb2.Message) -> bool:
            try:
                ok = bool(self._validate(topic, msg.data))
            except Exception:
                # libp2p would let this kill its pubsub service: refuse the
                # message instead, and make the bug loud.
                self._count("gossip", "validator_error")
                log.exception("gossip validator raised", topic=topic)
                ok = False
            if forwarder == self._me:
                _own_verdict.set(ok)
            elif not ok:
                self._count("gossip", "rejected")
            return ok

        return check

    async def _read(
        self, topic: str, subscription: ISubscriptionAPI, scope: trio.CancelScope
    ) -> None:
        me = self._me.to_bytes()
        with scope:
            while True:
                try:
                    msg = await subscription.get()
                except trio.EndOfChannel:
                    return  # unsubscribed
                if msg.from_id == me:
                    continue
                self._count("gossip", "delivered")
                self._on_message(topic, msg.data)
