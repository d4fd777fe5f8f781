"""Road networks: a compact graph of roads, its canonical bytes, and a cached router.

Sans-IO like the rest of ``protocol/``: shells read ``.roads`` files (the
embedded ones live in ``protocol/roads/data/``) and pass the bytes to
``RoadGraph.decode``. See docs/roads.md.
"""

from protocol.roads.encoding import MAGIC, ROADS_LIMITS, VERSION, decode, encode
from protocol.roads.graph import MAX_NODES, MAX_SPEED_KMH, RoadGraph, UnknownNode
from protocol.roads.grid import grid_graph
from protocol.roads.router import (
    DEFAULT_CACHE_SIZE,
    DEFAULT_ROW_CACHE_SIZE,
    CacheInfo,
    Route,
    Router,
)

__all__ = [
    "DEFAULT_CACHE_SIZE",
    "DEFAULT_ROW_CACHE_SIZE",
    "MAGIC",
    "MAX_NODES",
    "MAX_SPEED_KMH",
    "ROADS_LIMITS",
    "VERSION",
    "CacheInfo",
    "RoadGraph",
    "Route",
    "Router",
    "UnknownNode",
    "decode",
    "encode",
    "grid_graph",
]
