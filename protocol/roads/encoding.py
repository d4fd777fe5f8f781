"""The canonical ``.roads`` encoding of a ``RoadGraph`` (docs/roads.md).

One msgpack array of nine fields, integers and little-endian binary columns
only (no floats, SPEC §3)::

    ["lazooz/roads", 1, name, attribution,
     nodes      n × (int32 lat_e6, int32 lon_e6),
     edge_src   m × uint32,  edge_dst m × uint32,
     length_cm  m × uint32,  speed_kmh m × uint8]

Edges are sorted by ``(src, dst)`` without repeats, so a graph has exactly one
encoding. Decoding is bounded and strict; every failure is a ``DecodeError``
or ``InvalidMessage`` that names the field (and the element) that broke.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from protocol import wire
from protocol.errors import DecodeError, InvalidMessage, UnknownVersion, describe
from protocol.roads.graph import MAX_EDGES, RoadGraph, _check_edges, _check_lengths, _check_nodes
from protocol.wire import DecodeLimits

MAGIC = "lazooz/roads"
VERSION = 1
#: A binary column may hold every edge of the largest graph allowed.
ROADS_LIMITS = DecodeLimits(max_bytes=MAX_EDGES * 4)

_NODE = np.dtype("<i4")
_U32 = np.dtype("<u4")
_U8 = np.dtype("u1")
_FIELDS = 9


def encode(graph: RoadGraph) -> bytes:
    """The graph's canonical bytes."""
    return wire.pack(
        [
            MAGIC,
            VERSION,
            graph.name,
            graph.attribution,
            graph.coords_e6.astype(_NODE).tobytes(),
            graph.edge_src.astype(_U32).tobytes(),
            graph.edge_dst.astype(_U32).tobytes(),
            graph.edge_length_cm.astype(_U32).tobytes(),
            graph.edge_speed_kmh.astype(_U8).tobytes(),
        ]
    )


def decode(data: bytes, limits: DecodeLimits = ROADS_LIMITS) -> RoadGraph:
    """A graph from its canonical bytes, or a typed error naming what is wrong."""
    fields = wire.unpack(data, "RoadGraph", limits)
    if type(fields) is not tuple or len(fields) != _FIELDS:
        raise DecodeError(
            describe("RoadGraph", wire.shape(fields), f"must be an array of {_FIELDS}")
        )
    magic, version, name, attribution, nodes, src, dst, length, speed = fields
    if wire.text(magic, "RoadGraph.magic") != MAGIC:
        raise DecodeError(describe("RoadGraph.magic", magic, f"must be {MAGIC!r}"))
    if wire.integer(version, "RoadGraph.version") != VERSION:
        raise UnknownVersion(describe("RoadGraph.version", version, f"this reader knows {VERSION}"))
    coords = _column(nodes, "RoadGraph.nodes", _NODE, 2).reshape(-1, 2)
    src_a = _column(src, "RoadGraph.edge_src", _U32)
    m = len(src_a)
    dst_a = _column(dst, "RoadGraph.edge_dst", _U32, edges=m)
    length_a = _column(length, "RoadGraph.length_cm", _U32, edges=m)
    speed_a = _column(speed, "RoadGraph.speed_kmh", _U8, edges=m)
    _check_nodes(coords)
    _check_edges(len(coords), src_a, dst_a, length_a, speed_a)
    keys = src_a * len(coords) + dst_a
    if (where := np.flatnonzero(keys[1:] <= keys[:-1])).size:
        i = int(where[0]) + 1
        raise InvalidMessage(
            describe(
                f"RoadGraph.edges[{i}]",
                (int(src_a[i]), int(dst_a[i])),
                "edges must be sorted by (src, dst) without repeats",
            )
        )
    _check_lengths(coords, src_a, dst_a, length_a)
    return RoadGraph(
        wire.text(name, "RoadGraph.name"),
        wire.text(attribution, "RoadGraph.attribution"),
        coords,
        src_a,
        dst_a,
        length_a,
        speed_a,
    )


def _column(
    value: object,
    field: str,
    dtype: np.dtype[np.generic],
    per_row: int = 1,
    edges: int | None = None,
) -> npt.NDArray[np.int64]:
    raw = wire.binary(value, field)
    row = dtype.itemsize * per_row
    if len(raw) % row:
        raise InvalidMessage(
            describe(field, f"<{len(raw)} bytes>", f"must be a whole number of {row}-byte rows")
        )
    if edges is not None and len(raw) != edges * row:
        raise InvalidMessage(
            describe(field, f"<{len(raw) // row} rows>", f"must have one row per edge ({edges})")
        )
    return np.frombuffer(raw, dtype=dtype).astype(np.int64)
