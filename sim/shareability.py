"""How many trips could share a car: the shareability experiment of Santi et al. (PNAS 2014).

Two trips are *shareable* within a delay ``Δ`` when one car can serve both
(pick up one, then the other, drop them off in either order) and neither
passenger arrives more than ``Δ`` later than riding alone would, counting the
wait for a late pickup. Trips are the nodes of a shareability graph, shareable
pairs its edges; the share of trips that can be shared is the share covered by
a maximum matching (each car carries at most two parties), as in the paper.

The experiment draws one hour (``hours``) of trips at the highest density and
thins it to the lower densities (nested subsamples, as the paper subsamples
New York's taxi trips), so one set of travel times serves the whole table.
Each pair's smallest feasible ``Δ`` is computed once, so every delay in the
table is a threshold on the same numbers. See docs/simulator-city.md
§Shareability.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import rustworkx as rx

from protocol.errors import ConfigError, describe
from sim.city import City
from sim.demand import DemandSpec, generate

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Densities (trips per hour) and delays (minutes) of the default table.
DEFAULT_DENSITIES = (100.0, 200.0, 400.0, 800.0, 1600.0)
DEFAULT_DELAYS_MIN = (1.0, 2.0, 5.0, 10.0)


@dataclass(frozen=True, slots=True)
class ShareRow:
    """One cell of the table: a trip density and an allowed delay."""

    trips_per_hour: float
    delay_min: float
    trips: int
    #: Pairs of trips one car could serve within the delay.
    shareable_pairs: int
    #: Share of trips with at least one partner.
    with_partner: float
    #: Share of trips in a maximum matching: those that would actually ride shared.
    shared: float


@dataclass(frozen=True, slots=True)
class Pairs:
    """Candidate pairs ``(a, b)`` of trip indices and the smallest delay (s) that shares each."""

    a: IntArray
    b: IntArray
    delay_s: FloatArray


def shareability(
    city: City,
    rng: random.Random,
    densities: Sequence[float] = DEFAULT_DENSITIES,
    delays_min: Sequence[float] = DEFAULT_DELAYS_MIN,
    *,
    hours: float = 1.0,
    demand: DemandSpec | None = None,
) -> list[ShareRow]:
    """The shareability table: one row per (density, delay), densities outermost.

    ``demand`` chooses the model and trip lengths (default: uniform, trips of
    at least 1 km); its counts and duration are set from ``densities`` and ``hours``.
    """
    if not densities or min(densities) <= 0 or hours <= 0:
        raise ConfigError(describe("densities", tuple(densities), "need positive trips per hour"))
    if not delays_min or min(delays_min) < 0:
        raise ConfigError(describe("delays_min", tuple(delays_min), "need delays >= 0"))
    most = max(1, round(max(densities) * hours))
    spec = replace(demand or DemandSpec(), riders=most, drivers=0, duration_min=hours * 60)
    trips = generate(spec, city, rng)
    depart_s = np.array([t.depart_ms / 1000 for t in trips])
    nodes = city.graph.nearest_many([p for t in trips for p in (t.origin, t.destination)])
    origin, destination = nodes[0::2], nodes[1::2]
    pairs = shareable_pairs(city, depart_s, origin, destination, max(delays_min) * 60)
    # Nested samples: the first n of one shuffled order are the trips at density n / hours.
    rank = np.empty(len(trips), dtype=np.int64)
    rank[rng.sample(range(len(trips)), len(trips))] = np.arange(len(trips))
    rows = []
    for density in densities:
        n = max(1, round(density * hours))
        inside = (rank[pairs.a] < n) & (rank[pairs.b] < n)
        for delay in delays_min:
            keep = inside & (pairs.delay_s <= delay * 60)
            a, b = rank[pairs.a[keep]], rank[pairs.b[keep]]
            partnered = len(np.union1d(a, b))
            rows.append(
                ShareRow(
                    trips_per_hour=float(density),
                    delay_min=float(delay),
                    trips=n,
                    shareable_pairs=int(keep.sum()),
                    with_partner=partnered / n,
                    shared=2 * _matching_size(n, a, b) / n,
                )
            )
    return rows


def shareable_pairs(
    city: City, depart_s: FloatArray, origin: IntArray, destination: IntArray, max_delay_s: float
) -> Pairs:
    """Every pair of trips shareable within ``max_delay_s``, with its smallest delay.

    Pairs are first narrowed in time: trip ``b`` leaving after ``a`` can only
    share if it leaves by ``a``'s solo arrival plus ``Δ`` (``a`` reaches its
    destination no earlier than ``b``'s pickup, whichever order), so only
    those pairs are checked on the road network.
    """
    ends = np.unique(np.concatenate((origin, destination)))
    where = {int(node): i for i, node in enumerate(ends)}
    # Travel times between every pair of trip ends: one Dijkstra per end.
    tau = np.stack([city.router.durations_from(int(u))[ends] for u in ends])
    o = np.array([where[int(x)] for x in origin], dtype=np.int64)
    d = np.array([where[int(x)] for x in destination], dtype=np.int64)
    order = np.argsort(depart_s, kind="stable")
    t, o, d = depart_s[order], o[order], d[order]
    solo = tau[o, d]
    last = np.searchsorted(t, t + solo + max_delay_s, side="right")
    counts = np.maximum(last - np.arange(len(t)) - 1, 0)
    a = np.repeat(np.arange(len(t)), counts)
    b = a + 1 + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
    delay = np.minimum(
        _first_picked_delay_s(tau, t, o, d, a, b), _first_picked_delay_s(tau, t, o, d, b, a)
    )
    keep = delay <= max_delay_s
    return Pairs(order[a[keep]], order[b[keep]], delay[keep])


def _first_picked_delay_s(
    tau: FloatArray, t: FloatArray, o: IntArray, d: IntArray, i: IntArray, j: IntArray
) -> FloatArray:
    """The larger passenger delay when ``i`` is picked up first, in the better drop-off order.

    The car leaves ``i``'s origin as early as it can while reaching ``j``'s
    origin no earlier than ``j`` leaves; a delay is the arrival against riding
    alone from one's own departure time.
    """
    hop = tau[o[i], o[j]]
    pick_j = np.maximum(t[i], t[j] - hop) + hop
    alone_i, alone_j = t[i] + tau[o[i], d[i]], t[j] + tau[o[j], d[j]]
    # i off first, then j
    at_di = pick_j + tau[o[j], d[i]]
    i_first = np.maximum(at_di - alone_i, at_di + tau[d[i], d[j]] - alone_j)
    # j off first, then i
    at_dj = pick_j + tau[o[j], d[j]]
    j_first = np.maximum(at_dj - alone_j, at_dj + tau[d[j], d[i]] - alone_i)
    return np.minimum(i_first, j_first)


def _matching_size(n: int, a: IntArray, b: IntArray) -> int:
    """Pairs in a maximum matching of the graph on ``n`` trips with edges ``a[k]-b[k]``."""
    if len(a) == 0:
        return 0
    graph = rx.PyGraph(multigraph=False)
    graph.add_nodes_from(range(n))
    graph.add_edges_from_no_data(list(zip(a.tolist(), b.tolist(), strict=True)))
    return len(rx.max_weight_matching(graph, max_cardinality=True, default_weight=1))
