"""The demo's live summary (rich): the swarm, the rides, the balances."""

from __future__ import annotations

from collections import Counter

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table

from lazooz.demo.script import Progress


def render(progress: Progress, names: list[str], drivers: set[str]) -> RenderableType:
    members = Table(title="Members (one daemon each)", expand=True)
    for col in ("member", "role", "peers", "offers heard", "requests heard", "rides", "balance"):
        members.add_column(col, justify="left" if col in ("member", "role", "rides") else "right")
    for name in names:
        s = progress.statuses.get(name)
        if s is None:
            members.add_row(name, "driver" if name in drivers else "rider", "…", "", "", "", "")
            continue
        rides = ", ".join(f"{k} {v}" for k, v in sorted(s["rides"].items())) or "-"
        members.add_row(
            name,
            "driver" if name in drivers else "rider",
            str(s["connected"]),
            str(s["book"]["offers"]),
            str(s["book"]["requests"]),
            rides,
            f"{s['balance_milli'] / 1000:.3f}",
        )
    states = Counter(r.outcome for r in progress.rides)
    cosigned = states.get("done", 0)
    published_offers = sum(sum(s["offers"].values()) for s in progress.statuses.values())
    published_requests = sum(sum(s["requests"].values()) for s in progress.statuses.values())
    pools: dict[str, list[str]] = {}
    for r in progress.rides:
        if r.outcome != "cancelled":
            pools.setdefault(r.driver, []).append(r.rider)
    totals = Table.grid(padding=(0, 2))
    totals.add_row(
        f"[bold]phase[/] {progress.phase}",
        f"[bold]gossiped[/] {published_offers} offers, {published_requests} requests",
        f"[bold]matches[/] {progress.matches}",
        "[bold]rides[/] " + (", ".join(f"{k} {v}" for k, v in sorted(states.items())) or "-"),
        f"[bold]receipts co-signed[/] {cosigned}",
    )
    parts: list[RenderableType] = [members, totals]
    for driver, riders in pools.items():
        if len(riders) >= 2:
            parts.append(f"[bold]pooled[/] {driver} carries {' and '.join(riders)} in one car")
    if progress.balances:
        first = next(iter(progress.balances.values()))
        agree = progress.balances_agree
        verdict = (
            "[green]every node reports the same balances[/]"
            if agree
            else "[yellow]nodes do not agree yet[/]"
            if agree is None or not agree
            else ""
        )
        line = "  ".join(f"{n} {first[n] / 1000:.3f}" for n in names)
        parts.append(f"[bold]balances[/] {line}\n{verdict}")
    parts.append(Panel("\n".join(progress.log[-8:]) or "…", title="what happened"))
    return Panel(Group(*parts), title="lazooz demo: a local swarm on loopback, Tel Aviv")
