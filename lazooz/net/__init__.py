"""The node's network layer: a py-libp2p host, gossip topics and direct streams.

A thin trio shell: it moves bytes and reports who sent them, and decides
nothing about the protocol. See ``lazooz/net/README.md``.
"""

from lazooz.net.frames import RIDE, SYNC, ChannelSpec, FrameTooLarge
from lazooz.net.host import Handlers, NetConfig, NetHost, open_host
from lazooz.net.keys import key_pair_of, peer_id_of, public_key_of
from lazooz.net.streams import StreamTimeouts

__all__ = [
    "RIDE",
    "SYNC",
    "ChannelSpec",
    "FrameTooLarge",
    "Handlers",
    "NetConfig",
    "NetHost",
    "StreamTimeouts",
    "key_pair_of",
    "open_host",
    "peer_id_of",
    "public_key_of",
]
