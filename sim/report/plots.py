"""The report's figures: matplotlib on the Agg canvas, saved byte-stable.

Figures are built as ``matplotlib.figure.Figure`` objects, never through
pyplot, so no global figure state or GUI backend is involved and plotting is
safe in a Dask worker. ``save`` writes PNGs without the ``Software`` text
chunk and with a fixed SVG hash salt, so the same data give the same bytes:
a report can be regenerated and diffed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.metrics import gini
from sim.report.data import RunData, messages_per_hour, offered_tokens, waits_min

#: File names of one run's plots, in the order the report shows them.
RUN_PLOTS = ("match_rate.png", "wait_cdf.png", "tokens.png", "messages.png")
#: Demand is binned in windows of this many minutes for the match-rate plot.
BIN_MIN = 10
DPI = 100

# Same data, same bytes: no hash randomness in SVG ids, one font family.
matplotlib.rcParams.update(
    {
        "svg.hashsalt": "lazooz",
        "font.family": "DejaVu Sans",
        "axes.grid": True,
        "grid.alpha": 0.3,
    }
)


def save(fig: Figure, path: Path) -> Path:
    """Write ``fig`` as a PNG whose bytes depend only on what was drawn."""
    fig.savefig(path, format="png", dpi=DPI, metadata={"Software": None})
    return path


def write_run_plots(run: RunData, out: Path) -> list[Path]:
    """Draw one run's four plots into ``out``; the paths, in ``RUN_PLOTS`` order."""
    out.mkdir(parents=True, exist_ok=True)
    figures = (match_rate(run), wait_cdf(run), tokens(run), messages(run))
    return [save(fig, out / name) for fig, name in zip(figures, RUN_PLOTS, strict=True)]


def _figure(width: float = 7.0, height: float = 4.0) -> Figure:
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _empty(ax: Axes, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what} in this run", ha="center", va="center", transform=ax.transAxes)


def match_rate(run: RunData) -> Figure:
    """Requests per demand bin (bars) and the share of them matched and completed (lines)."""
    fig = _figure()
    ax = fig.add_subplot()
    riders = run.riders
    asked = riders[riders["requested_s"].notna()] if not riders.empty else riders
    ax.set_title(f"Matched share against demand ({BIN_MIN}-minute bins of request time)")
    ax.set_xlabel("minutes from the start")
    if asked.empty:
        _empty(ax, "requests")
        return fig
    bins = (asked["requested_s"] // (BIN_MIN * 60)).astype(int)
    frame = pd.DataFrame(
        {
            "bin": bins,
            "matched": asked["matched_s"].notna(),
            "done": asked["outcome"] == "done",
        }
    )
    grouped = frame.groupby("bin").agg(
        requests=("matched", "size"), matched=("matched", "mean"), done=("done", "mean")
    )
    left = grouped.index.to_numpy() * BIN_MIN
    centre = left + BIN_MIN / 2
    ax.bar(
        left, grouped["requests"], width=BIN_MIN, align="edge", color="#c6dbef", label="requests"
    )
    ax.set_ylabel("requests per bin")
    share = ax.twinx()
    share.plot(centre, grouped["matched"], "o-", color="#08519c", label="matched")
    share.plot(centre, grouped["done"], "s--", color="#31a354", label="ride completed")
    share.set_ylim(0, 1.05)
    share.set_ylabel("share of the bin's requests")
    share.grid(False)
    handles = ax.get_legend_handles_labels()[0] + share.get_legend_handles_labels()[0]
    share.legend(handles=handles, loc="lower right")
    return fig


def _ecdf(ax: Axes, values: Sequence[float], total: int, label: str, style: str) -> None:
    xs = np.asarray(values, dtype=float)
    if total == 0 or xs.size == 0:
        return
    ys = np.arange(1, xs.size + 1) / total
    ax.step(
        np.concatenate(([0.0], xs)), np.concatenate(([0.0], ys)), style, where="post", label=label
    )


def wait_cdf(run: RunData) -> Figure:
    """Cumulative share of requests matched and picked up within each wait.

    The denominator is every request, so each curve ends at the share that
    was ever matched (picked up): the gap to 1 is the riders left waiting.
    """
    fig = _figure()
    ax = fig.add_subplot()
    ax.set_title("Wait from request: share of all requests")
    ax.set_xlabel("minutes after the request")
    ax.set_ylabel("share of requests")
    match, total = waits_min(run.riders, "matched_s")
    pickup, _ = waits_min(run.riders, "picked_s")
    if total == 0:
        _empty(ax, "requests")
        return fig
    _ecdf(ax, match, total, f"until matched ({len(match)}/{total})", "-")
    _ecdf(ax, pickup, total, f"until picked up ({len(pickup)}/{total})", "--")
    ax.set_ylim(0, 1.05)
    ax.set_xlim(left=0)
    ax.legend(loc="lower right")
    return fig


def tokens(run: RunData) -> Figure:
    """Tokens credited per driver (histogram) and their Lorenz curve, with the Gini."""
    fig = _figure(9.0, 4.0)
    hist, lorenz = fig.subplots(1, 2)
    values = offered_tokens(run.drivers)
    g = gini(values)
    fig.suptitle(f"Tokens per driver ({len(values)} drivers offered; Gini {g:.2f})")
    if not values:
        _empty(hist, "drivers")
        _empty(lorenz, "drivers")
        return fig
    top = max(values)
    edges = np.linspace(0, top if top > 0 else 1.0, 21).tolist()
    hist.hist(values, bins=edges, color="#fd8d3c")
    hist.set_xlabel("tokens credited by the reference ledger")
    hist.set_ylabel("drivers")
    xs = np.sort(np.asarray(values, dtype=float))
    total = xs.sum()
    people = np.arange(xs.size + 1) / xs.size
    share = np.concatenate(([0.0], np.cumsum(xs) / total)) if total > 0 else people
    lorenz.plot(people, share, "-", color="#d94701", label=f"drivers (Gini {g:.2f})")
    lorenz.plot([0, 1], [0, 1], ":", color="grey", label="equal shares")
    lorenz.set_xlabel("share of drivers, fewest tokens first")
    lorenz.set_ylabel("share of all tokens")
    lorenz.legend(loc="upper left")
    return fig


def messages(run: RunData) -> Figure:
    """Messages sent and received per online hour of each rider and driver."""
    fig = _figure()
    ax = fig.add_subplot()
    groups = messages_per_hour(run.peers)
    everyone = groups["riders"] + groups["drivers"]
    ax.set_title("Messages per peer per online hour (sent + received)")
    ax.set_xlabel("messages per hour")
    ax.set_ylabel("peers")
    if not everyone:
        _empty(ax, "peers online")
        return fig
    edges = np.linspace(0, max(everyone) * 1.0001, 31).tolist()
    for label, values, colour in (
        ("riders", groups["riders"], "#6baed6"),
        ("drivers", groups["drivers"], "#fd8d3c"),
    ):
        if values:
            median = float(np.median(values))
            ax.hist(
                values, bins=edges, alpha=0.7, color=colour, label=f"{label} (median {median:,.0f})"
            )
    ax.legend(loc="upper right")
    return fig


def sweep_plot(
    frame: pd.DataFrame, param: str, metrics: Mapping[str, str], group_by: Sequence[str] = ()
) -> Figure:
    """Each metric (column -> label) against ``param``: mean over seeds, bars from min to max.

    Other swept parameters (``group_by``) draw one line per combination.
    """
    cols = 2
    rows = math.ceil(len(metrics) / cols)
    fig = _figure(9.0, 2.8 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    groups = list(frame.groupby(list(group_by), sort=True)) if group_by else [((), frame)]
    for ax, (column, label) in zip(axes, metrics.items(), strict=False):
        for key, part in groups:
            stats = part.groupby(param, sort=True)[column].agg(["mean", "min", "max"])
            xs = _axis_values(stats.index)
            name = ", ".join(
                f"{g}={v}"
                for g, v in zip(group_by, key if isinstance(key, tuple) else (key,), strict=True)
            )
            ax.errorbar(
                xs,
                stats["mean"],
                yerr=[stats["mean"] - stats["min"], stats["max"] - stats["mean"]],
                fmt="o-",
                capsize=3,
                label=name or None,
            )
        if not _numeric(frame[param]):
            ax.set_xticks(range(len(stats.index)), [str(v) for v in stats.index])
        ax.set_title(label, fontsize="medium")
        ax.set_xlabel(param)
        if group_by:
            ax.legend(fontsize="small")
    for ax in axes[len(metrics) :]:
        ax.set_visible(False)
    seeds = frame["seed"].nunique() if "seed" in frame else 1
    fig.suptitle(f"Sweep over {param} ({seeds} seed{'s' if seeds != 1 else ''} a point)")
    return fig


def _numeric(series: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(series)) and not pd.api.types.is_bool_dtype(series)


def _axis_values(index: pd.Index) -> Sequence[float] | range:
    if pd.api.types.is_numeric_dtype(index) and not pd.api.types.is_bool_dtype(index):
        return [float(v) for v in index]
    return range(len(index))
