"""The daemon's core: the Node (a trio shell over one Peer) and ``daemon.run(config)``.

See ``lazooz/node/README.md``; the contract it implements is docs/peer.md §11.14.
"""

from lazooz.node.broadcast import Broadcast
from lazooz.node.clock import WallClock
from lazooz.node.metrics import NodeMetrics
from lazooz.node.outbox import OutboxLimits
from lazooz.node.runtime import Node, NodeLimits, NodeStopped

__all__ = [
    "Broadcast",
    "Node",
    "NodeLimits",
    "NodeMetrics",
    "NodeStopped",
    "OutboxLimits",
    "WallClock",
]
