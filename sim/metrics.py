"""What a run measured: metrics.json, and one table per rider, driver and network host.

``collect(model)`` reads the agents' logs, the hosts' traffic counters and a
reference Peer's ledger (the observer's: an honest member online throughout)
after a run. ``dumps`` writes the metrics canonically — keys sorted, floats
rounded to ``DIGITS`` decimals, no machine-dependent value — so a scenario
and seed give the same bytes on every run. docs/simulator.md §Metrics
defines every key; the CSV columns are the DataFrames' columns.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from protocol import geo
from protocol.fields import GeoPoint, PublicKey
from protocol.ledger.credit import CreditLine, Verdict
from protocol.peer.peer import Peer
from sim.agents.policy import DriverLog, RiderLog
from sim.hosts import Host

if TYPE_CHECKING:
    from sim.model import Model

#: Decimals kept of every float in metrics.json.
DIGITS = 4
#: Version of the metrics.json layout; bump when a key changes meaning.
FORMAT = 2
HOUR_MS = 3_600_000


@dataclass(frozen=True, slots=True)
class Collected:
    metrics: dict[str, Any]
    riders: pd.DataFrame
    drivers: pd.DataFrame
    peers: pd.DataFrame


def gini(values: Sequence[float]) -> float:
    """The Gini coefficient of non-negative ``values`` (0: all equal; 0 for none or all zero)."""
    xs = sorted(values)
    n, total = len(xs), sum(xs)
    if n == 0 or total <= 0:
        return 0.0
    weighted = sum((2 * (i + 1) - n - 1) * x for i, x in enumerate(xs))
    return weighted / (n * total)


def summary(values: Iterable[float]) -> dict[str, float | int | None]:
    """Count, mean, median, p90 and max of ``values`` (None when there are none)."""
    xs = sorted(values)
    n = len(xs)
    if n == 0:
        return {"n": 0, "mean": None, "p50": None, "p90": None, "max": None}
    return {
        "n": n,
        "mean": math.fsum(xs) / n,
        "p50": _quantile(xs, 0.5),
        "p90": _quantile(xs, 0.9),
        "max": xs[-1],
    }


def _quantile(xs: Sequence[float], q: float) -> float:
    """Linear interpolation between order statistics (numpy's default)."""
    at = (len(xs) - 1) * q
    lo = math.floor(at)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (at - lo)


def canonical(value: Any) -> Any:
    """``value`` with floats rounded to ``DIGITS`` and non-finite floats as None."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        rounded = round(value, DIGITS)
        return 0.0 if rounded == 0 else rounded
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    return value


def dumps(metrics: dict[str, Any]) -> str:
    """metrics.json's text: canonical, sorted keys, two-space indent, newline at the end."""
    return json.dumps(canonical(metrics), sort_keys=True, indent=2, allow_nan=False) + "\n"


def _s(ms: int | None) -> float | None:
    return None if ms is None else ms / 1000


def _gaps(pairs: Iterable[tuple[int | None, int | None]]) -> list[float]:
    """Seconds from each first time to its second, where both happened."""
    return [(b - a) / 1000 for a, b in pairs if a is not None and b is not None]


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def collect(model: Model) -> Collected:
    """Everything measured in a finished run."""
    s = model.scenario
    riders = [r.log for r in model.riders]
    drivers = [d.log for d in model.drivers]
    reference = _reference(model)
    balances = reference.balances() if reference is not None else {}
    lines = reference.explain() if reference is not None else []
    key_of = {d.log.name: d.identity.public_key for d in model.drivers}

    requested = [r for r in riders if r.requested_ms is not None]
    matched = [r for r in requested if r.matched_ms is not None]
    outcomes = Counter(r.outcome for r in riders)

    driver_rides = [ride for d in drivers for ride in d.rides.values()]
    done_rides = [ride for ride in driver_rides if ride.outcome == "done"]
    offered = [d for d in drivers if d.offer_id is not None]
    carried = {d.name: [r for r in d.rides.values() if r.outcome == "done"] for d in drivers}
    pooled = sum(1 for rides in carried.values() if len(rides) >= 2)
    seats_offered = sum(d.seats for d in offered)
    seats_filled = sum(min(d.seats, sum(r.seats for r in carried[d.name])) for d in offered)

    drivers_km = math.fsum(d.route_m or 0.0 for d in offered) / 1000
    riders_km = math.fsum(r.solo_m or 0.0 for r in requested) / 1000
    riders_done = [r for r in riders if r.outcome == "done"]
    shared_km = math.fsum(r.solo_m or 0.0 for r in riders_done) / 1000
    detour_km = math.fsum(ride.detour_m for ride in done_rides) / 1000
    baseline_km = drivers_km + riders_km

    tokens = [balances.get(key_of[d.name], 0) / 1000 for d in offered]
    honest_keys = [key_of[d.name] for d in offered]

    metrics: dict[str, Any] = {
        "format": FORMAT,
        "run": {
            "scenario": s.name,
            "seed": s.seed,
            "sim_minutes": (s.end_ms - s.start_ms) / 60_000,
            "demand_minutes": s.duration_ms / 60_000,
            "riders": len(riders),
            "drivers": len(drivers),
            "hosts": len(model.net.hosts),
            "events": model.engine.events,
        },
        "requests": {
            "riders": len(riders),
            "requested": len(requested),
            "refused": outcomes.get("refused", 0),
            "matched": len(matched),
            "matched_share": _share(len(matched), len(requested)),
            "done": outcomes.get("done", 0),
            "done_share": _share(outcomes.get("done", 0), len(requested)),
            "gave_up": outcomes.get("gave_up", 0),
            "no_show": outcomes.get("no_show", 0),
            "lost_after_match": outcomes.get("lost", 0),
            "still_open": sum(
                outcomes.get(k, 0) for k in ("searching", "proposing", "confirmed", "riding")
            ),
            "proposals_per_request": _share(sum(r.proposals for r in requested), len(requested)),
        },
        "wait_match_s": summary(_gaps((r.requested_ms, r.matched_ms) for r in requested)),
        "wait_pickup_s": summary(_gaps((r.requested_ms, r.picked_ms) for r in requested)),
        "time_to_first_candidate_s": summary(
            _gaps((r.requested_ms, r.first_candidate_ms) for r in requested)
        ),
        "handshake_s": summary(_gaps((r.proposed_ms, r.matched_ms) for r in requested)),
        "drivers": {
            "drivers": len(drivers),
            "offered": len(offered),
            "no_route": sum(1 for d in drivers if d.outcome == "no_route"),
            "refused": sum(1 for d in drivers if d.outcome == "refused"),
            "carried_someone": sum(1 for d in offered if carried[d.name]),
            "detour_m_per_driver": summary(
                math.fsum(r.detour_m for r in carried[d.name]) for d in offered if carried[d.name]
            ),
            "riders_per_driver": summary(len(carried[d.name]) for d in offered),
        },
        "seats": {
            "offered": seats_offered,
            "filled": seats_filled,
            "filled_share": _share(seats_filled, seats_offered),
        },
        "pooled_rides": pooled,
        "rides_done": len(done_rides),
        "vehicle_km": {
            "baseline_everyone_alone": baseline_km,
            "drivers_alone": drivers_km,
            "riders_alone": riders_km,
            "riders_carried_alone": shared_km,
            "detour": detour_km,
            "saved": shared_km - detour_km,
            "saved_share": (shared_km - detour_km) / baseline_km if baseline_km else None,
        },
        "tokens": {
            "reference": None if reference is None else _name(model, reference),
            "per_driver": summary(tokens),
            "gini": gini(tokens),
            "total": math.fsum(tokens),
        },
        "receipts": _receipts(model, lines, honest_keys, balances),
        "traffic": _traffic(model),
        "privacy": _privacy(model, requested),
        "adversarial": _adversarial(model, lines, balances, tokens),
        "refused_commands": {f"{a}:{b}": n for (a, b), n in sorted(model.world.refused.items())},
    }
    return Collected(
        metrics=metrics,
        riders=_riders_frame(riders),
        drivers=_drivers_frame(drivers, balances, key_of),
        peers=_peers_frame(model.net.hosts, s.start_ms),
    )


def _reference(model: Model) -> Peer | None:
    if model.observer is not None and model.observer.host is not None:
        return model.observer.host.peer
    hosts = [h for h in model.net.hosts if h.left_ms is None]
    return max(hosts, key=lambda h: (len(h.peer.ledger), -h.index)).peer if hosts else None


def _name(model: Model, peer: Peer) -> str:
    return next(h.name for h in model.net.hosts if h.peer is peer)


def _honest(host: Host) -> bool:
    return host.name.startswith(("rider-", "driver-", "observer"))


def _receipts(
    model: Model,
    lines: list[CreditLine],
    honest_drivers: list[PublicKey],
    balances: dict[PublicKey, int],
) -> dict[str, Any]:
    honest = set(honest_drivers)
    verdicts = Counter(ln.verdict.value for ln in lines if ln.driver in honest)
    online = [h for h in model.net.hosts if _honest(h) and h.left_ms is None]
    agree = sum(1 for h in online if _agrees(h.peer, balances))
    return {
        "honest_lines": dict(sorted(verdicts.items())),
        "honest_counted": verdicts.get(Verdict.COUNTED.value, 0),
        "online_honest_peers": len(online),
        "online_light_peers": sum(1 for h in online if h.peer.follows() is not None),
        "views_agree": agree,
        "views_agree_share": _share(agree, len(online)),
    }


def _agrees(peer: Peer, reference: dict[PublicKey, int]) -> bool:
    """Does ``peer`` compute what the reference does, of what it can know? A full Peer
    every balance; a light one (SPEC §10.6) its own, the one its wallet shows."""
    if peer.follows() is None:
        return peer.balances() == reference
    me = peer.public_key
    return peer.balances().get(me, 0) == reference.get(me, 0)


def _traffic(model: Model) -> dict[str, Any]:
    hosts = [h for h in model.net.hosts if _honest(h) and h.online_ms > 0]
    t = model.net.totals
    return {
        "msgs_per_peer_hour": summary(
            (h.sent_msgs + h.recv_msgs) / (h.online_ms / HOUR_MS) for h in hosts
        ),
        "bytes_per_peer_hour": summary(
            (h.sent_bytes + h.recv_bytes) / (h.online_ms / HOUR_MS) for h in hosts
        ),
        "sent_msgs": sum(h.sent_msgs for h in hosts),
        "received_msgs": sum(h.recv_msgs for h in hosts),
        "published": t.published,
        "gossip_deliveries": t.gossip_deliveries,
        "stream_frames": t.frames,
        "lost": t.lost,
        "cut_by_partition": t.cut,
        "to_offline": t.to_offline,
        "connections": t.connections,
        "reconnections": t.reconnections,
        "restarts": sum(h.restarts for h in model.net.hosts),
    }


def _privacy(model: Model, requested: list[RiderLog]) -> dict[str, Any]:
    """Road-network nodes in the published cells of each request: the places it could be."""
    res = model.scenario.peer.request_resolution
    graph = model.city.graph
    per_cell = Counter(geo.cell_of(graph.point(i), res) for i in range(len(graph)))
    pickup = [per_cell.get(geo.cell_of(r.origin, res), 0) for r in requested]
    dropoff = [per_cell.get(geo.cell_of(r.destination, res), 0) for r in requested]
    return {
        "resolution": res,
        "road_nodes": len(graph),
        "pickup_cell_nodes": summary(pickup),
        "dropoff_cell_nodes": summary(dropoff),
        "pair_nodes": summary(a * b for a, b in zip(pickup, dropoff, strict=True)),
        "requests_in_cells_of_one_node": sum(1 for a in pickup if a <= 1),
    }


def _adversarial(
    model: Model, lines: list[CreditLine], balances: dict[PublicKey, int], honest: list[float]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if model.spammers:
        rejected: Counter[str] = Counter()
        for h in model.net.hosts:
            if _honest(h):
                for (channel, reason), n in h.peer.rejected().items():
                    rejected[f"{channel}:{reason}"] += n
        sent: Counter[str] = Counter()
        for sp in model.spammers:
            sent.update(sp.log.sent)
        out["spam"] = {
            "spammers": len(model.spammers),
            "sent": dict(sorted(sent.items())),
            "rejected_by_honest": dict(sorted(rejected.items())),
        }
    if model.rings:
        rings = []
        for ring in model.rings:
            key = ring.driver.identity.public_key
            mine = [ln for ln in lines if ln.driver == key]
            rings.append(
                {
                    "name": ring.log.name,
                    "equivocator": ring.log.equivocator,
                    "fake_rides_started": ring.log.started,
                    "fake_rides_done": ring.log.done,
                    "claimed_tokens": ring.log.claimed_m / 1000,
                    "credited_tokens": balances.get(key, 0) / 1000,
                    "lines": dict(sorted(Counter(ln.verdict.value for ln in mine).items())),
                    "halved": sum(1 for ln in mine if ln.pair_index > 1),
                    "capped": sum(1 for ln in mine if ln.capped),
                    "base_tokens": math.fsum(ln.base_milli for ln in mine) / 1000,
                }
            )
        colluders = [
            balances.get(r.driver.identity.public_key, 0) / 1000
            for r in model.rings
            if not r.log.equivocator
        ]
        out["collusion"] = {
            "rings": rings,
            "colluder_credit": summary(colluders),
            "honest_driver_credit": summary(honest),
        }
    forked = {}
    honest_members = {h.name for h in model.net.hosts if _honest(h)}
    for author, seen in model.world.forks_seen.items():
        forked[_author_name(model, author)] = len(seen & honest_members)
    if forked or any(r.log.equivocator for r in model.rings):
        ref = _reference(model)
        out["forks"] = {
            "authors_detected_by_honest": dict(sorted(forked.items())),
            "reference_knows": sorted(
                _author_name(model, a)
                for a in {r.driver.identity.public_key for r in model.rings if r.log.equivocator}
                if ref is not None and ref.ledger.fork_seq(a) is not None
            ),
        }
    return out


def _author_name(model: Model, key: PublicKey) -> str:
    names = sorted(h.name for h in model.net.by_key.get(key, []))
    return names[0] if names else key.hex()[:16]


def _point(p: GeoPoint) -> tuple[float, float]:
    return (p.lat, p.lon)


def _riders_frame(logs: list[RiderLog]) -> pd.DataFrame:
    rows = []
    for r in logs:
        rows.append(
            {
                "name": r.name,
                "trip_id": r.trip_id,
                "seats": r.seats,
                "outcome": r.outcome,
                "window_start_s": _s(r.window_start_ms),
                "window_end_s": _s(r.window_end_ms),
                "requested_s": _s(r.requested_ms),
                "first_candidate_s": _s(r.first_candidate_ms),
                "proposals": r.proposals,
                "matched_s": _s(r.matched_ms),
                "picked_s": _s(r.picked_ms),
                "dropped_s": _s(r.dropped_ms),
                "done_s": _s(r.done_ms),
                "solo_m": r.solo_m,
                "no_show": r.will_not_show,
                "origin_lat": r.origin.lat,
                "origin_lon": r.origin.lon,
                "destination_lat": r.destination.lat,
                "destination_lon": r.destination.lon,
            }
        )
    return pd.DataFrame(rows)


def _drivers_frame(
    logs: list[DriverLog], balances: dict[PublicKey, int], key_of: dict[str, PublicKey]
) -> pd.DataFrame:
    rows = []
    for d in logs:
        done = [r for r in d.rides.values() if r.outcome == "done"]
        rows.append(
            {
                "name": d.name,
                "trip_id": d.trip_id,
                "seats": d.seats,
                "outcome": d.outcome,
                "departure_s": _s(d.departure_ms),
                "route_m": d.route_m,
                "duration_s": d.duration_s,
                "proposals": len(d.rides),
                "rides_done": len(done),
                "riders": ";".join(r.rider or "" for r in done),
                "shared_m": math.fsum(r.shared_m for r in done),
                "detour_m": math.fsum(r.detour_m for r in done),
                "tokens": balances.get(key_of[d.name], 0) / 1000,
            }
        )
    return pd.DataFrame(rows)


def _peers_frame(hosts: list[Host], start_ms: int) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "name": h.name,
                "member": h.identity.member_id,
                "joined_s": (h.joined_ms - start_ms) / 1000,
                "online_s": h.online_ms / 1000,
                "sent_msgs": h.sent_msgs,
                "sent_bytes": h.sent_bytes,
                "recv_msgs": h.recv_msgs,
                "recv_bytes": h.recv_bytes,
                "restarts": h.restarts,
                "ledger_entries": len(h.peer.ledger),
                "rejected": sum(h.peer.rejected().values()),
            }
            for h in hosts
        ]
    )
