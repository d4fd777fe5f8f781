"""RoadGraph: canonical .roads bytes, strict bounded decoding, nearest node and radius queries."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import geo, wire
from protocol.errors import BadGeometry, DecodeError, InvalidMessage, RemoteError, UnknownVersion
from protocol.fields import GeoPoint
from protocol.roads import RoadGraph, UnknownNode, decode, encode

#: Around Tel Aviv; 0.01 degrees is about 1.1 km north and 0.94 km east.
BASE = GeoPoint.from_degrees(32.08, 34.78)


def small_grid(step_e6: int = 1_000) -> RoadGraph:
    """3 x 3 nodes ``row * 3 + col`` (row 0 south), two-way streets, 30 km/h."""
    points = [
        GeoPoint(BASE.lat_e6 + r * step_e6, BASE.lon_e6 + c * step_e6)
        for r in range(3)
        for c in range(3)
    ]
    edges = []
    for r in range(3):
        for c in range(3):
            u = r * 3 + c
            if c < 2:
                edges += [(u, u + 1, 30), (u + 1, u, 30)]
            if r < 2:
                edges += [(u, u + 3, 30), (u + 3, u, 30)]
    return RoadGraph.build(points, edges, name="small grid", attribution="test")


@st.composite
def road_graphs(draw: st.DrawFn, max_nodes: int = 24) -> RoadGraph:
    """Arbitrary valid graphs: points within ~5 km, any directed edges and speeds."""
    n = draw(st.integers(1, max_nodes))
    offsets = st.integers(-25_000, 25_000)
    points = [GeoPoint(BASE.lat_e6 + draw(offsets), BASE.lon_e6 + draw(offsets)) for _ in range(n)]
    pairs = st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.integers(1, 255))
    edges = [(a, b, s) for a, b, s in draw(st.lists(pairs, max_size=4 * n)) if a != b]
    name = draw(st.text(max_size=10))
    return RoadGraph.build(points, edges, name=name, attribution="© test")


def _fields(graph: RoadGraph) -> list[Any]:
    value: Any = wire.unpack(encode(graph), "test", wire.DecodeLimits(1 << 20))
    return list(value)


@given(road_graphs())
def test_encoding_round_trips_and_is_canonical(graph: RoadGraph) -> None:
    data = graph.encode()
    back = RoadGraph.decode(data)
    assert back == graph
    assert back.encode() == data


@settings(max_examples=100)
@given(road_graphs(max_nodes=8), st.data())
def test_corrupted_bytes_are_refused_with_a_remote_error_or_decode_to_a_valid_graph(
    graph: RoadGraph, data: st.DataObject
) -> None:
    raw = bytearray(graph.encode())
    i = data.draw(st.integers(0, len(raw) - 1))
    raw[i] ^= data.draw(st.integers(1, 255))
    cut = data.draw(st.booleans())
    blob = bytes(raw[: data.draw(st.integers(0, len(raw)))] if cut else raw)
    try:
        back = decode(blob)
    except RemoteError:
        return
    assert back.encode() == blob  # whatever decodes is canonical


def test_wrong_magic_version_and_shape_name_the_field() -> None:
    fields = _fields(small_grid())
    with pytest.raises(DecodeError, match=r"RoadGraph\.magic"):
        decode(wire.pack(["lazooz/rides", *fields[1:]]))
    with pytest.raises(UnknownVersion, match=r"RoadGraph\.version=2"):
        decode(wire.pack([fields[0], 2, *fields[2:]]))
    with pytest.raises(DecodeError, match="array of 9"):
        decode(wire.pack(fields[:8]))
    with pytest.raises(InvalidMessage, match=r"RoadGraph\.name"):
        decode(wire.pack([*fields[:2], 7, *fields[3:]]))


def test_edge_pointing_past_the_last_node_is_refused_naming_the_edge() -> None:
    graph = small_grid()
    fields = _fields(graph)
    dst = np.frombuffer(fields[6], dtype="<u4").copy()
    dst[3] = len(graph)
    fields[6] = dst.tobytes()
    with pytest.raises(BadGeometry, match=r"RoadGraph\.edges\[3\]\.dst=9: must be a node 0\.\.8"):
        decode(wire.pack(fields))


def test_unsorted_edges_are_refused_so_each_graph_has_one_encoding() -> None:
    fields = _fields(small_grid())
    for col in (5, 6, 7, 8):
        a = bytearray(fields[col])
        width = len(a) // small_grid().edge_count
        a[:width], a[width : 2 * width] = a[width : 2 * width], a[:width]
        fields[col] = bytes(a)
    with pytest.raises(InvalidMessage, match=r"edges\[1\].*sorted by \(src, dst\)"):
        decode(wire.pack(fields))


def test_an_edge_shorter_than_the_straight_line_is_refused() -> None:
    fields = _fields(small_grid())
    lengths = np.frombuffer(fields[7], dtype="<u4").copy()
    lengths[0] = lengths[0] // 2
    fields[7] = lengths.tobytes()
    with pytest.raises(BadGeometry, match=r"edges\[0\]\.length_cm=.*shorter than the straight"):
        decode(wire.pack(fields))


def test_node_bytes_that_are_not_whole_points_are_refused() -> None:
    fields = _fields(small_grid())
    fields[4] = fields[4][:-3]
    with pytest.raises(InvalidMessage, match=r"RoadGraph\.nodes.*8-byte rows"):
        decode(wire.pack(fields))


def test_a_node_off_the_earth_is_refused() -> None:
    with pytest.raises(BadGeometry, match=r"RoadGraph\.nodes\[1\]"):
        RoadGraph.build([GeoPoint(0, 0), GeoPoint(91_000_000, 0)], [(0, 1, 30)])


def test_build_keeps_the_faster_of_two_edges_between_the_same_nodes() -> None:
    a, b = GeoPoint.from_degrees(32.0, 34.8), GeoPoint.from_degrees(32.001, 34.8)
    graph = RoadGraph.build([a, b], [(0, 1, 30), (0, 1, 50), (1, 0, 20)])
    assert graph.edge_count == 2
    assert graph.edge_speed_kmh.tolist() == [50, 20]
    assert graph.edge_length_cm[0] >= geo.distance_m(a, b) * 100


def test_nearest_finds_the_closest_node_in_metres() -> None:
    graph = small_grid()
    for node in range(len(graph)):
        p = graph.point(node)
        nudged = GeoPoint(p.lat_e6 + 150, p.lon_e6 - 150)  # ~20 m away, blocks are ~110 m
        assert graph.nearest(nudged) == node
    assert graph.nearest_many([graph.point(4), graph.point(0)]).tolist() == [4, 0]


def test_nodes_within_counts_the_nodes_inside_the_radius() -> None:
    graph = small_grid()  # 3 x 3 nodes, ~111 m (north) by ~94 m (east) apart
    centre = graph.point(4)
    assert graph.nodes_within(centre, 10) == (4,)
    assert graph.nodes_within(centre, 120) == (1, 3, 4, 5, 7)
    assert graph.nodes_within(centre, 200) == tuple(range(9))
    with pytest.raises(BadGeometry, match="radius_m"):
        graph.nodes_within(centre, -1)


def test_unknown_node_is_a_local_error_naming_the_range() -> None:
    with pytest.raises(UnknownNode, match=r"node=9: must be 0\.\.8"):
        small_grid().point(9)


def test_cells_give_each_node_its_h3_cell() -> None:
    graph = small_grid(step_e6=20_000)  # ~2 km blocks: res-7 cells (~1.4 km edge) differ
    for resolution in (5, 7, 9):
        cells = graph.cells(resolution)
        assert cells.tolist() == [geo.cell_of(graph.point(i), resolution) for i in range(9)]
    assert len(set(graph.cells(9).tolist())) == 9


def test_a_name_too_long_for_the_wire_is_refused_when_built() -> None:
    with pytest.raises(InvalidMessage, match=r"RoadGraph\.attribution=.*at most 64 bytes"):
        RoadGraph.build([BASE], [], attribution="©" * 33)  # 66 bytes of UTF-8
    RoadGraph.decode(RoadGraph.build([BASE], [], name="n" * 64).encode())
