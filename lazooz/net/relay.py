"""Circuit relay v2, as far as py-libp2p 0.8.1 carries it (README, "Relay and DCUtR").

Every host accepts relayed connections (the relay's STOP protocol). A host
with ``relay_hop`` also relays for others. A host given ``relays`` keeps a
connection and a reservation at each, so that members who cannot dial it
directly reach it at ``<relay addr>/p2p-circuit/p2p/<its peer id>``, an
address ``NetHost.addrs`` lists once the reservation holds. Over the relay,
Noise still runs end to end: the relay carries bytes it cannot read, and the
peer id a stream reports is still the member on the far end.

py-libp2p's swarm never dials a ``/p2p-circuit`` address itself (it drops
them from every dial), so such an address works only through ``dial``
here, which goes through the circuit transport explicitly.
"""

from __future__ import annotations

from collections.abc import Sequence

import multiaddr
import structlog
import trio
from libp2p.abc import IHost, INetConn
from libp2p.exceptions import BaseLibp2pError
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo
from libp2p.relay.circuit_v2.config import RelayConfig, RelayRole
from libp2p.relay.circuit_v2.protocol import PROTOCOL_ID as HOP_PROTOCOL_ID
from libp2p.relay.circuit_v2.protocol import CircuitV2Protocol
from libp2p.relay.circuit_v2.resources import RelayLimits
from libp2p.relay.circuit_v2.transport import CircuitV2Transport

from lazooz.net.counters import CountHandler

log = structlog.get_logger(__name__)

#: Whatever a relayed dial can raise: libp2p's errors (the relay's included),
#: and the builtin ``ConnectionError`` the circuit transport raises for a bad address.
_DIAL_ERRORS = (BaseLibp2pError, ConnectionError, OSError)


def relay_limits(max_reservations: int, max_circuits: int) -> RelayLimits:
    """What a relaying host grants: lazooz frames are small, so circuits get 64 MiB."""
    return RelayLimits(
        duration=3600,
        data=64 * 1024 * 1024,
        max_circuit_conns=max_circuits,
        max_reservations=max_reservations,
    )


def is_circuit(addr: multiaddr.Multiaddr) -> bool:
    return "/p2p-circuit" in str(addr)


class Relay:
    """The circuit relay side of one host: dial through relays, hold reservations."""

    def __init__(self, host: IHost, hop: bool, limits: RelayLimits, count: CountHandler) -> None:
        self._host = host
        self._count = count
        roles = RelayRole.STOP | RelayRole.CLIENT | (RelayRole.HOP if hop else RelayRole(0))
        self.protocol = CircuitV2Protocol(host, limits=limits, allow_hop=hop)
        self._transport = CircuitV2Transport(
            host, self.protocol, RelayConfig(roles=roles, limits=limits)
        )
        # The connection each reservation was made on: a new connection to
        # the relay needs a new reservation.
        self._reserved_on: dict[ID, INetConn] = {}
        self._relay_addrs: dict[ID, multiaddr.Multiaddr] = {}

    def circuit_addrs(self) -> list[str]:
        """This host's addresses through the relays where its reservation holds."""
        me = self._host.get_id()
        network = self._host.get_network()
        return [
            f"{self._relay_addrs[relay]}/p2p-circuit/p2p/{me}"
            for relay, conn in self._reserved_on.items()
            if conn in network.get_connections(relay)
        ]

    async def dial(self, addr: multiaddr.Multiaddr) -> bool:
        """Connect through the relay named in ``addr`` (``.../p2p-circuit/p2p/<peer>``)."""
        try:
            await self._transport.dial(addr)
        except _DIAL_ERRORS as exc:
            self._count("dial", "relay_failed")
            log.info("relayed dial failed", addr=str(addr), error=repr(exc))
            return False
        return True

    async def keep_reservations(
        self, relays: Sequence[PeerInfo], redial_s: float, dial_timeout_s: float
    ) -> None:
        """Stay connected to every relay and hold a reservation on the current connection."""
        async with trio.open_nursery() as nursery:
            while True:
                for info in relays:
                    with trio.move_on_after(dial_timeout_s):
                        await self._reserve(info, nursery)
                # A period, not a wait: libp2p has no event for "reservation lost".
                await trio.sleep(redial_s)

    async def _reserve(self, info: PeerInfo, nursery: trio.Nursery) -> None:
        network = self._host.get_network()
        conns = network.get_connections(info.peer_id)
        if conns and self._reserved_on.get(info.peer_id) in conns:
            return
        try:
            if not conns:
                await self._host.connect(info)
            stream = await self._host.new_stream(info.peer_id, [HOP_PROTOCOL_ID])
            # reserve() also starts py-libp2p's refresher (once) in ``nursery``.
            ok = await self._transport.reserve(stream, info.peer_id, nursery)
        except _DIAL_ERRORS as exc:
            self._count("dial", "reserve_failed")
            log.info("relay reservation failed", relay=str(info.peer_id), error=repr(exc))
            return
        conns = network.get_connections(info.peer_id)
        if not ok or not conns:
            self._count("dial", "reserve_refused")
            log.info("relay refused a reservation", relay=str(info.peer_id))
            return
        self._reserved_on[info.peer_id] = conns[0]
        self._relay_addrs[info.peer_id] = multiaddr.Multiaddr(f"{info.addrs[0]}/p2p/{info.peer_id}")
        self._count("dial", "reserved")
        log.info("relay reservation held", relay=str(info.peer_id))
