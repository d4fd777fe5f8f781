"""The daemon's core: the Node (a trio shell over one Peer) and ``daemon.run(config)``.

See ``lazooz/node/README.md``; the contract it implements is docs/peer.md §11.14.
The names below load on first use, so that ``lazooz.node.ready`` (used by
supervisors: the demo, the tests) does not import trio and libp2p.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lazooz.node.broadcast import Broadcast
    from lazooz.node.clock import WallClock
    from lazooz.node.contracts import NodeLimits, NodeStopped
    from lazooz.node.metrics import NodeMetrics
    from lazooz.node.outbox import OutboxLimits
    from lazooz.node.runtime import Node

_WHERE = {
    "Broadcast": "lazooz.node.broadcast",
    "Node": "lazooz.node.runtime",
    "NodeLimits": "lazooz.node.contracts",
    "NodeMetrics": "lazooz.node.metrics",
    "NodeStopped": "lazooz.node.contracts",
    "OutboxLimits": "lazooz.node.outbox",
    "WallClock": "lazooz.node.clock",
}

__all__ = [
    "Broadcast",
    "Node",
    "NodeLimits",
    "NodeMetrics",
    "NodeStopped",
    "OutboxLimits",
    "WallClock",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'lazooz.node' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
