"""Finding a member's addresses through the peers this host is connected to (Kademlia).

A ride stream needs a connection to the counterparty, and a swarm is not a
full mesh: in a line A–B–C, A hears C's offers through B's gossip but has no
address for C. Every host with discovery on runs py-libp2p's ``KadDHT`` in
server mode, used for peer routing only (no provider or value records): each
peer it connects to goes into its routing table, and when a stream must be
opened to a member it has no connection to, ``locate`` asks the DHT
(``find_peer``: the routing table and peerstore first, then an iterative
lookup through the closest peers it knows), and puts the addresses found in
the peerstore, so the dial that follows can use them. docs/node.md,
"Rejoining and finding members".
"""

from __future__ import annotations

import structlog
import trio
from libp2p.abc import IHost
from libp2p.kad_dht.kad_dht import DHTMode, KadDHT
from libp2p.peer.id import ID
from libp2p.peer.peerstore import PeerStoreError

from lazooz.net.counters import CountHandler

log = structlog.get_logger(__name__)

#: How long the addresses found stay in the peerstore (seconds).
FOUND_ADDR_TTL_S = 3600


class Discovery:
    """One host's Kademlia peer routing: ``add`` peers as they connect, ``locate`` others."""

    def __init__(self, host: IHost, count: CountHandler, timeout_s: float) -> None:
        self._host = host
        self._count = count
        self._timeout_s = timeout_s
        self.dht = KadDHT(
            host,
            DHTMode.SERVER,
            enable_random_walk=False,
            enable_providers=False,
            enable_values=False,
        )

    async def add(self, peer: ID) -> None:
        """Put a connected, identified peer in the routing table (one without KAD is left out)."""
        try:
            added = await self.dht.add_peer(peer)
        except Exception as exc:  # the DHT's own errors are not typed
            log.debug("routing table refused a peer", peer=str(peer), error=repr(exc))
            added = False
        self._count("discovery", "routed" if added else "not_routed")

    def size(self) -> int:
        """Peers in the routing table."""
        return self.dht.get_routing_table_size()

    async def locate(self, peer: ID) -> bool:
        """Find addresses of ``peer`` and keep them in the peerstore; whether any were found."""
        info = None
        with trio.move_on_after(self._timeout_s):
            try:
                info = await self.dht.find_peer(peer)
            except Exception as exc:  # find_peer raises whatever its peers cause
                log.info("peer lookup failed", peer=str(peer), error=repr(exc))
        if info is None or not info.addrs:
            self._count("discovery", "not_found")
            log.info("peer not found", peer=str(peer))
            return False
        try:
            self._host.get_peerstore().add_addrs(peer, list(info.addrs), FOUND_ADDR_TTL_S)
        except PeerStoreError as exc:
            log.info("peer addresses not kept", peer=str(peer), error=repr(exc))
            return False
        self._count("discovery", "found")
        log.info("peer found", peer=str(peer), addrs=[str(a) for a in info.addrs])
        return True
