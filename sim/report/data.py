"""A finished run as the report reads it: the files ``sim.run.write`` leaves in a directory."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from protocol.errors import ConfigError, describe

#: Driver outcomes of drivers whose offer went out (sim.agents.policy.DriverLog).
OFFERED = ("offered", "done")


@dataclass(frozen=True, slots=True)
class RunData:
    """One run's metrics, timing and per-member tables."""

    metrics: dict[str, Any]
    timing: dict[str, float]
    riders: pd.DataFrame
    drivers: pd.DataFrame
    peers: pd.DataFrame


def load_run(directory: Path) -> RunData:
    """Read a run directory (metrics.json, timing.json, riders/drivers/peers.csv)."""
    try:
        metrics = json.loads((directory / "metrics.json").read_text(encoding="utf-8"))
        timing_path = directory / "timing.json"
        timing = json.loads(timing_path.read_text(encoding="utf-8")) if timing_path.exists() else {}
        frames = [pd.read_csv(directory / f"{n}.csv") for n in ("riders", "drivers", "peers")]
    except (OSError, ValueError) as exc:
        raise ConfigError(describe("run directory", str(directory), f"unreadable: {exc}")) from None
    return RunData(metrics, timing, *frames)


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``; lists and scalars are leaves."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def offered_tokens(drivers: pd.DataFrame) -> list[float]:
    """Tokens of each driver whose offer went out, as ``metrics.tokens`` counts them."""
    if drivers.empty:
        return []
    rows = drivers[drivers["outcome"].isin(OFFERED)]
    return [float(x) for x in rows["tokens"].fillna(0.0)]


def messages_per_hour(peers: pd.DataFrame) -> dict[str, list[float]]:
    """Messages sent and received per online hour of each honest host, riders and drivers apart."""
    out: dict[str, list[float]] = {"riders": [], "drivers": []}
    if peers.empty:
        return out
    for name, sent, recv, online_s in zip(
        peers["name"], peers["sent_msgs"], peers["recv_msgs"], peers["online_s"], strict=True
    ):
        # The observer only listens: it is the reference ledger, not a member at work.
        if online_s <= 0 or not str(name).startswith(("rider-", "driver-")):
            continue
        group = "riders" if str(name).startswith("rider-") else "drivers"
        out[group].append((sent + recv) / (online_s / 3600))
    return out


def waits_min(riders: pd.DataFrame, until: str) -> tuple[list[float], int]:
    """Minutes from request to ``until`` (``matched_s`` or ``picked_s``) where both
    happened, and how many riders requested at all (the CDF's denominator)."""
    if riders.empty:
        return [], 0
    asked = riders[riders["requested_s"].notna()]
    both = asked[asked[until].notna()]
    waits = sorted(float(x) / 60 for x in both[until] - both["requested_s"])
    return [w for w in waits if math.isfinite(w)], len(asked)
