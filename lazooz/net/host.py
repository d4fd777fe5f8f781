"""The libp2p host of a lazooz node: a thin trio shell with no protocol decisions.

``open_host(identity, config, handlers)`` starts a py-libp2p host whose peer
id is the member's own Ed25519 key (``lazooz.net.keys``), with Noise as the
only security transport and yamux as the only muxer, listens, runs gossipsub
and the ``ride``/``sync`` stream handlers, keeps dialling the bootstrap
peers, and yields a ``NetHost``. Everything it starts runs in one nursery
under the context manager; leaving it stops all of it and closes the
listeners. What the node hears comes out through ``Handlers``: plain
functions, called from the host's tasks, that must not block (queue the work
if it needs to wait).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import multiaddr
import structlog
import trio
from libp2p import new_host
from libp2p.abc import IHost, INetConn, INetStream, INetwork, INotifee
from libp2p.crypto.x25519 import create_new_key_pair as new_x25519_key_pair
from libp2p.custom_types import TProtocol
from libp2p.exceptions import BaseLibp2pError
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo, info_from_p2p_addr
from libp2p.peer.peerstore import PeerStoreError
from libp2p.pubsub.gossipsub import PROTOCOL_ID_V11, PROTOCOL_ID_V12, GossipSub
from libp2p.pubsub.pubsub import Pubsub
from libp2p.relay.circuit_v2.dcutr import DCUtRProtocol
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_PROTOCOL_ID
from libp2p.security.noise.transport import Transport as NoiseTransport
from libp2p.stream_muxer.yamux.yamux import PROTOCOL_ID as YAMUX_PROTOCOL_ID
from libp2p.stream_muxer.yamux.yamux import Yamux
from libp2p.tools.anyio_service import background_trio_service

from lazooz.net.counters import Counters, CountHandler
from lazooz.net.discovery import Discovery
from lazooz.net.gossip import Gossip, GossipHandler, Validator
from lazooz.net.keys import key_pair_of, peer_id_of, public_key_of
from lazooz.net.relay import Relay, is_circuit, relay_limits
from lazooz.net.streams import FrameHandler, Streams, StreamTimeouts
from protocol.errors import ConfigError, describe
from protocol.fields import PublicKey
from protocol.identity import Identity
from protocol.peer.actions import Channel

log = structlog.get_logger(__name__)

PeerHandler = Callable[[PublicKey], None]

#: How long closing the host's connections and listeners may take at shutdown.
_CLOSE_TIMEOUT_S = 5.0


def _ignore_peer(key: PublicKey) -> None:
    del key


def _ignore_count(area: str, what: str) -> None:
    del area, what


@dataclass(frozen=True, slots=True)
class NetConfig:
    """Where to listen, whom to dial, and the gossip and stream knobs."""

    #: Multiaddrs to listen on; port 0 picks a free port.
    listen: Sequence[str] = ("/ip4/127.0.0.1/tcp/0",)
    #: Multiaddrs of peers to stay connected to, each ending in ``/p2p/<peer id>``.
    bootstrap: Sequence[str] = ()
    #: How often an unconnected bootstrap peer is dialled again.
    redial_s: float = 10.0
    #: How long one dial may take.
    dial_timeout_s: float = 10.0
    #: How long ``publish`` waits for the topic to have peers.
    publish_timeout_s: float = 5.0
    #: Gossipsub heartbeat (py-libp2p's default is 120 s; whole seconds only).
    heartbeat_s: int = 1
    #: Gossipsub mesh degree D and its bounds.
    degree: int = 6
    degree_low: int = 4
    degree_high: int = 12
    #: py-libp2p drops what one peer forwards beyond this many messages per
    #: topic per second (default 10), busy topics included. The node limits
    #: each *author* in its validator instead, so this only stops floods.
    max_messages_per_topic_per_second: float = 1000.0
    streams: StreamTimeouts = field(default_factory=StreamTimeouts)
    #: Relay for others (circuit relay v2 "hop"): for an always-on node.
    relay_hop: bool = False
    #: With ``relay_hop``: how many members may hold a reservation, and how
    #: many relayed connections may run at once.
    relay_max_reservations: int = 128
    relay_max_circuits: int = 128
    #: Relays (multiaddrs ending in ``/p2p/<peer id>``) to hold reservations
    #: at, for a host that others cannot dial directly.
    relays: Sequence[str] = ()
    #: Try to replace relayed connections by direct ones (DCUtR hole punching;
    #: README: works on loopback, untried through real NATs).
    hole_punch: bool = False
    #: Find members' addresses through connected peers (Kademlia peer routing)
    #: when a stream must be opened to a member without a connection.
    discovery: bool = True


@dataclass(frozen=True, slots=True)
class Handlers:
    """What the host tells the node. Called from the host's tasks; must not block."""

    #: The topic validator: ``True`` delivers and forwards the message, ``False`` drops it.
    validate: Validator
    #: A message accepted on a subscribed topic, from another member.
    gossip: GossipHandler
    #: A frame from ``from_key``, the transport-authenticated peer of the stream.
    frame: FrameHandler
    #: The first connection to a member opened (called on both ends).
    connected: PeerHandler = _ignore_peer
    #: The last connection to a member closed.
    disconnected: PeerHandler = _ignore_peer
    #: A connected member's identify exchange is done: ``NetHost.peer_addrs``
    #: now holds the addresses it listens on.
    identified: PeerHandler = _ignore_peer
    #: A counter of ``NetHost.counters`` went up by one (for the node's metrics).
    count: CountHandler = _ignore_count


class NetHost:
    """A running host; build it with ``open_host``."""

    def __init__(
        self,
        host: IHost,
        gossip: Gossip,
        streams: Streams,
        relay: Relay,
        config: NetConfig,
        counters: Counters,
        discovery: Discovery | None = None,
    ) -> None:
        self._host = host
        self._discovery = discovery
        self._gossip = gossip
        self._streams = streams
        self._relay = relay
        self._config = config
        #: What the host saw by ``(area, what)``: ``("ride", "oversized")``,
        #: ``("gossip", "rejected")``, ``("dial", "failed")``... (README).
        self.counters = counters
        self._connected: set[ID] = set()

    @property
    def peer_id(self) -> ID:
        return self._host.get_id()

    @property
    def peer_key(self) -> PublicKey:
        """The member key this host speaks for (its peer id, ``lazooz.net.keys``)."""
        key = public_key_of(self._host.get_id())
        assert key is not None, "open_host gives every host an Ed25519 key"
        return key

    @property
    def addrs(self) -> list[str]:
        """Where others can dial this host, each ending in ``/p2p/<peer id>``.

        Its own listening addresses first, then one through each relay where
        it holds a reservation (``config.relays``).
        """
        return [str(a) for a in self._host.get_addrs()] + self._relay.circuit_addrs()

    def connected_peers(self) -> list[PublicKey]:
        """Members this host has a connection to."""
        keys = (public_key_of(p) for p in self._connected)
        return sorted(k for k in keys if k is not None)

    def is_connected(self, key: PublicKey) -> bool:
        """Whether this host has a connection to member ``key`` now."""
        return bool(self._host.get_network().get_connections(peer_id_of(key)))

    def peer_addrs(self, key: PublicKey) -> list[str]:
        """Where member ``key`` can be dialled, as far as this host knows, each ending in
        ``/p2p/<peer id>``: the listen addresses its identify reported, and any it was
        dialled at. Empty for a member never heard of."""
        peer = peer_id_of(key)
        try:
            return addrs_with_id(self._host.get_peerstore().addrs(peer), peer)
        except PeerStoreError:
            return []  # py-libp2p's way of saying it knows no address

    @property
    def topics(self) -> frozenset[str]:
        return self._gossip.topics

    def mesh_size(self, topic: str) -> int:
        return self._gossip.mesh_size(topic)

    def stream_count(self) -> int:
        return self._streams.count()

    async def wait_for_peers(self, topic: str, timeout_s: float) -> bool:
        """Wait until ``topic`` has peers to publish to; ``False`` on timeout."""
        return await self._gossip.wait_for_peers(topic, timeout_s)

    async def subscribe(self, topic: str) -> None:
        await self._gossip.subscribe(topic)

    async def unsubscribe(self, topic: str) -> None:
        await self._gossip.unsubscribe(topic)

    async def publish(self, topic: str, data: bytes, timeout_s: float | None = None) -> bool:
        """Gossip ``data`` on ``topic`` once it has peers; ``False`` if it did not go out."""
        wait = self._config.publish_timeout_s if timeout_s is None else timeout_s
        return await self._gossip.publish(topic, data, wait)

    async def send(self, to: PublicKey, channel: Channel, data: bytes) -> bool:
        """Write one frame to ``to`` on ``channel``; ``False`` if it could not."""
        return await self._streams.send(to, channel, data)

    async def connect(self, addr: str) -> PublicKey | None:
        """Dial ``addr`` (ending in ``/p2p/<peer id>``); the member reached, or ``None``.

        ``addr`` may lead through a relay: ``<relay addr>/p2p-circuit/p2p/<peer id>``.
        """
        info = parse_peer_addr(addr, "addr")
        return await self._dial(info)

    async def _dial(self, info: PeerInfo) -> PublicKey | None:
        ok = False
        with trio.move_on_after(self._config.dial_timeout_s):
            if any(is_circuit(a) for a in info.addrs):
                via = multiaddr.Multiaddr(f"{info.addrs[0]}/p2p/{info.peer_id}")
                if not await self._relay.dial(via):
                    return None
                return public_key_of(info.peer_id)
            try:
                await self._host.connect(info)
                ok = True
            except (BaseLibp2pError, OSError) as exc:
                self.counters.add("dial", "failed")
                log.info("dial failed", peer=str(info.peer_id), error=repr(exc))
                return None
        if not ok:
            self.counters.add("dial", "timeout")
            log.info("dial timed out", peer=str(info.peer_id))
            return None
        return public_key_of(info.peer_id)

    async def _keep_bootstrap(self, peers: Sequence[PeerInfo]) -> None:
        while True:
            for info in peers:
                if not self._host.get_network().get_connections(info.peer_id):
                    await self._dial(info)
            # The redial period: a bootstrap peer that is down has no event to wait on.
            await trio.sleep(self._config.redial_s)

    def routing_table_size(self) -> int:
        """Peers in the discovery routing table (0 with discovery off)."""
        return 0 if self._discovery is None else self._discovery.size()

    async def _identified(self, peer: ID, handlers: Handlers) -> None:
        """Once ``peer``'s identify is done: route it, and tell the node."""
        await self._identify(peer)
        if self._discovery is not None:
            await self._discovery.add(peer)
        key = public_key_of(peer)
        if key is not None and peer in self._connected:
            handlers.identified(key)

    async def _identify(self, peer: ID) -> None:
        """Make sure ``peer``'s identify ran (its addresses and protocols are in the peerstore).

        py-libp2p runs identify on every new connection but signals no end to it:
        when the peerstore holds no protocols for ``peer`` yet, run it again here
        and wait (``BasicHost._identify_peer``, private in 0.8.1).
        """
        try:
            if self._host.get_peerstore().get_protocols(peer):
                return
        except PeerStoreError:
            pass  # not even in the peerstore yet
        identify = getattr(self._host, "_identify_peer", None)
        if identify is None:
            return
        with trio.move_on_after(self._config.dial_timeout_s):
            try:
                await identify(peer, reason="lazooz")
            except (BaseLibp2pError, OSError) as exc:
                log.info("identify failed", peer=str(peer), error=repr(exc))

    async def _track_connections(
        self,
        events: trio.MemoryReceiveChannel[tuple[bool, ID]],
        handlers: Handlers,
        nursery: trio.Nursery,
    ) -> None:
        network = self._host.get_network()
        async for opened, peer in events:
            self.counters.add("conn", "opened" if opened else "closed")
            key = public_key_of(peer)
            if opened and peer not in self._connected:
                self._connected.add(peer)
                nursery.start_soon(self._identified, peer, handlers)
                if key is not None:
                    handlers.connected(key)
            elif not opened and peer in self._connected and not network.get_connections(peer):
                self._connected.discard(peer)
                self._streams.forget_peer(peer)
                if key is not None:
                    handlers.disconnected(key)


class _ConnectionEvents(INotifee):
    """Forwards libp2p's connection events to the host's own task, never blocking libp2p."""

    def __init__(self, events: trio.MemorySendChannel[tuple[bool, ID]]) -> None:
        self._events = events

    def _put(self, opened: bool, conn: INetConn) -> None:
        # Closed or broken: the host is shutting down and nobody listens any more.
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            self._events.send_nowait((opened, conn.muxed_conn.peer_id))

    async def connected(self, network: INetwork, conn: INetConn) -> None:
        self._put(True, conn)

    async def disconnected(self, network: INetwork, conn: INetConn) -> None:
        self._put(False, conn)

    async def opened_stream(self, network: INetwork, stream: INetStream) -> None:
        pass

    async def closed_stream(self, network: INetwork, stream: INetStream) -> None:
        pass

    async def listen(self, network: INetwork, multiaddr: multiaddr.Multiaddr) -> None:
        pass

    async def listen_close(self, network: INetwork, multiaddr: multiaddr.Multiaddr) -> None:
        pass


def addrs_with_id(addrs: Sequence[multiaddr.Multiaddr], peer: ID) -> list[str]:
    """``addrs`` as text, each ending in ``/p2p/<peer>`` once, duplicates dropped, in order."""
    out: list[str] = []
    suffix = f"/p2p/{peer}"
    for addr in addrs:
        text = str(addr)
        if not text.endswith(suffix):
            text += suffix
        if text not in out:
            out.append(text)
    return out


def parse_multiaddr(text: str, field: str) -> multiaddr.Multiaddr:
    """``text`` as a multiaddr, or a ``ConfigError`` naming ``field``."""
    try:
        return multiaddr.Multiaddr(text)
    except (ValueError, TypeError) as exc:
        raise ConfigError(describe(field, text, f"not a multiaddr ({exc})")) from None


def parse_peer_addr(text: str, field: str) -> PeerInfo:
    """A dialable peer address: a multiaddr ending in ``/p2p/<peer id>``."""
    addr = parse_multiaddr(text, field)
    try:
        return info_from_p2p_addr(addr)
    except (ValueError, BaseLibp2pError) as exc:
        raise ConfigError(describe(field, text, f"must end in /p2p/<peer id> ({exc})")) from None


def _check(
    config: NetConfig,
) -> tuple[list[multiaddr.Multiaddr], list[PeerInfo], list[PeerInfo]]:
    if not config.listen:
        raise ConfigError(describe("listen", list(config.listen), "give at least one address"))
    listen = [parse_multiaddr(a, f"listen[{i}]") for i, a in enumerate(config.listen)]
    bootstrap = [parse_peer_addr(a, f"bootstrap[{i}]") for i, a in enumerate(config.bootstrap)]
    relays = [parse_peer_addr(a, f"relays[{i}]") for i, a in enumerate(config.relays)]
    if config.heartbeat_s < 1:
        raise ConfigError(describe("heartbeat_s", config.heartbeat_s, "must be at least 1"))
    if not 0 < config.degree_low <= config.degree <= config.degree_high:
        raise ConfigError(
            describe(
                "degree",
                (config.degree_low, config.degree, config.degree_high),
                "need 0 < degree_low <= degree <= degree_high",
            )
        )
    return listen, bootstrap, relays


@asynccontextmanager
async def open_host(
    identity: Identity, config: NetConfig, handlers: Handlers
) -> AsyncIterator[NetHost]:
    """Run a host for ``identity`` until the block ends; raises ``ConfigError`` on bad config."""
    listen, bootstrap, relays = _check(config)
    key_pair = key_pair_of(identity)
    host = new_host(
        key_pair=key_pair,
        # Noise only: py-libp2p's default list also offers TLS, secio and
        # *plaintext*, and a dialler could pick plaintext and claim any peer id.
        sec_opt={
            NOISE_PROTOCOL_ID: NoiseTransport(
                key_pair, noise_privkey=new_x25519_key_pair().private_key
            )
        },
        muxer_opt={TProtocol(YAMUX_PROTOCOL_ID): Yamux},
        listen_addrs=listen,
    )
    router = GossipSub(
        protocols=[PROTOCOL_ID_V12, PROTOCOL_ID_V11],
        degree=config.degree,
        degree_low=config.degree_low,
        degree_high=config.degree_high,
        heartbeat_interval=config.heartbeat_s,
        max_messages_per_topic_per_second=config.max_messages_per_topic_per_second,
    )
    pubsub = Pubsub(host, router, strict_signing=True)
    counters = Counters(handlers.count)
    gossip = Gossip(pubsub, router, handlers.validate, handlers.gossip, counters.add)
    discovery = Discovery(host, counters.add, config.dial_timeout_s) if config.discovery else None
    streams = Streams(
        host,
        handlers.frame,
        config.streams,
        counters.add,
        locate=None if discovery is None else discovery.locate,
    )
    relay = Relay(
        host,
        hop=config.relay_hop,
        limits=relay_limits(config.relay_max_reservations, config.relay_max_circuits),
        count=counters.add,
    )
    net = NetHost(host, gossip, streams, relay, config, counters, discovery)
    events_in, events_out = trio.open_memory_channel[tuple[bool, ID]](math.inf)
    host.get_network().register_notifee(_ConnectionEvents(events_in))

    async with (
        host.run(listen_addrs=listen),
        background_trio_service(pubsub),
        background_trio_service(router),
        background_trio_service(relay.protocol),
        contextlib.AsyncExitStack() as optional,
    ):
        if config.hole_punch:
            await optional.enter_async_context(background_trio_service(DCUtRProtocol(host)))
        if discovery is not None:
            await optional.enter_async_context(background_trio_service(discovery.dht))
        try:
            await pubsub.wait_until_ready()
            async with trio.open_nursery() as nursery:
                gossip.start(nursery)
                streams.start(nursery)
                nursery.start_soon(net._track_connections, events_out, handlers, nursery)
                if bootstrap:
                    nursery.start_soon(net._keep_bootstrap, bootstrap)
                if relays:
                    nursery.start_soon(
                        relay.keep_reservations, relays, config.redial_s, config.dial_timeout_s
                    )
                log.info("host started", peer_id=str(net.peer_id), addrs=net.addrs)
                try:
                    yield net
                finally:
                    streams.stop()
                    events_in.close()
                    nursery.cancel_scope.cancel()
        finally:
            # host.run's exit stops the swarm service but leaves its TCP
            # listeners serving in a system task: only close() ends them.
            # Shielded, so a cancelled node still lets go of its port.
            with trio.CancelScope(shield=True), trio.move_on_after(_CLOSE_TIMEOUT_S):
                await host.close()
    log.info("host stopped", peer_id=str(net.peer_id))
