"""The control API's answers as a person reads them: rich tables and one-line summaries.

Inputs are the JSON the API returns (``views``), so the CLI shows exactly what
a script using ``--json`` gets, only laid out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

Json = dict[str, Any]


def when(ms: int | None) -> str:
    if ms is None:
        return ""
    at = datetime.fromtimestamp(ms / 1000).astimezone()
    today = datetime.now().astimezone().date()
    return at.strftime("%H:%M" if at.date() == today else "%Y-%m-%d %H:%M")


def window(w: Json) -> str:
    return f"{when(w['start_ms'])}-{when(w['end_ms']).split(' ')[-1]}"


def short(hex_id: str) -> str:
    return hex_id[:8]


def money(minor: int, currency: str) -> str:
    return "free" if currency == "XXX" else f"{minor / 100:.2f} {currency}"


def tokens(milli: int) -> str:
    return f"{milli / 1000:.3f} tokens"


def offer(console: Console, o: Json) -> None:
    c = o["cost"]
    cost = money(c["base_minor"], c["currency"])
    if c["per_km_minor"]:
        cost += f" + {money(c['per_km_minor'], c['currency'])}/km"
    console.print(
        f"Offer [bold]{o['offer_id']}[/bold] {o['status']}: {o['free_seats']} of "
        f"{o['seats']} seats free, leaving {window(o['departure'])}, "
        f"{o['duration_s'] // 60} min drive, {len(o['route'])} points "
        f"({len(o['published_route'])} published), cost {cost}"
    )


def request(console: Console, r: Json) -> None:
    console.print(
        f"Request [bold]{r['request_id']}[/bold] {r['status']}: {r['seats']} seat(s), "
        f"pickup {when(r['window']['start_ms'])}-{when(r['window']['end_ms'])} near "
        f"{r['pickup'][0]:.5f},{r['pickup'][1]:.5f}, walking up to {r['max_walk_m']} m"
    )


def ride(console: Console, r: Json) -> None:
    line = (
        f"Ride [bold]{r['ride_id']}[/bold] ({r['role']}) with "
        f"{r['counterparty']['member_id']}: [bold]{r['state']}[/bold]"
    )
    if r["pin"]:
        line += f", PIN [bold]{r['pin']}[/bold] (say it to the driver at pickup)"
    if r["pickup_ms"]:
        line += f", pickup {when(r['pickup_ms'])}"
    if r.get("rating") is not None:
        line += f", you rated them {r['rating']}/5"
    if "counterparty_reputation" in r:
        line += f"; their rating {reputation(r['counterparty_reputation'])}"
    console.print(line)


def reputation(rep: Json) -> str:
    """``{count, mean}`` as a person reads it: "4.8/5 (12 ratings)" or "no ratings yet"."""
    if not rep["count"]:
        return "no ratings yet"
    return f"{rep['mean']:.1f}/5 ({rep['count']} rating{'s' if rep['count'] != 1 else ''})"


def rides(console: Console, rows: list[Json]) -> None:
    if not rows:
        console.print("No rides.")
        return
    t = Table(title="Rides")
    for col in ("ride", "role", "state", "with", "seats", "pickup", "PIN", "ended by"):
        t.add_column(col)
    for r in rows:
        ended = ", ".join(f"{e['by']}: {e['reason']}" for e in r["endings"])
        t.add_row(
            r["ride_id"],
            r["role"],
            r["state"],
            r["counterparty"]["member_id"],
            str(r["seats"]),
            when(r["pickup_ms"]),
            r["pin"] or "",
            ended,
        )
    console.print(t)


def candidates(console: Console, rows: list[Json]) -> None:
    if not rows:
        console.print("No candidates yet: offers and requests arrive by gossip.")
        return
    t = Table(title="Candidates, best first")
    cols = ("offer", "request", "driver", "rated", "walk", "detour", "wait", "pickup", "cost")
    for col in cols:
        t.add_column(col)
    for m in rows:
        t.add_row(
            m["offer_id"],
            m["request_id"],
            m["driver"]["member_id"],
            reputation(m["reputation"]) if "reputation" in m else "",
            f"{m['walk_m']:.0f} m",
            f"{m['detour_m']:.0f} m / {m['detour_s'] / 60:.1f} min",
            f"{m['wait_s'] / 60:.1f} min",
            when(m["pickup_ms"]),
            str(m["cost_minor"]),
        )
    console.print(t)


def balance(console: Console, b: Json) -> None:
    console.print(f"{b['member_id']}: [bold]{tokens(b['balance_milli'])}[/bold]")
    if b["lines"]:
        t = Table(title="Credit, ride by ride")
        for col in ("ride", "verdict", "credited", "how"):
            t.add_column(col)
        for line in b["lines"]:
            credited = tokens(line["credited_milli"])
            t.add_row(short(line["ride_id"]), line["verdict"], credited, line["text"])
        console.print(t)


def receipts(console: Console, rows: list[Json]) -> None:
    if not rows:
        console.print("No receipts in your log yet.")
        return
    t = Table(title="Receipts in your log")
    cols = (
        "seq",
        "ride",
        "half",
        "driver",
        "rider",
        "km",
        "ended",
        "verdict",
        "credited",
        "you rated",
    )
    for col in cols:
        t.add_column(col)
    for h in rows:
        r = h["receipt"]
        t.add_row(
            str(h["seq"]),
            short(r["ride_id"]),
            h["half"],
            r["driver"]["member_id"],
            r["rider"]["member_id"],
            f"{r['distance_m'] / 1000:.1f}",
            when(r["ended_ms"]),
            h["verdict"] or "",
            tokens(h["credited_milli"]),
            "" if h.get("rating") is None else f"{h['rating']}/5",
        )
    console.print(t)


def peers(console: Console, rows: list[Json]) -> None:
    if not rows:
        console.print("No peers connected.")
        return
    t = Table(title=f"{len(rows)} peer(s) connected")
    for col in ("member id", "public key"):
        t.add_column(col)
    for p in rows:
        t.add_row(p["member_id"], p["public_key"])
    console.print(t)


def status(console: Console, s: Json) -> None:
    t = Table(title="Node", show_header=False)
    t.add_column("what")
    t.add_column("value")
    rows = [
        ("member id", s["member_id"]),
        ("peer id", s["peer_id"] or "(no libp2p host)"),
        ("listening on", "\n".join(s["listen_addrs"]) or "-"),
        ("peers connected", str(s["connected"])),
        ("up for", f"{s['uptime_s']:.0f} s"),
        ("store", s["store_path"] or "-"),
        ("balance", tokens(s["balance_milli"])),
        ("own offers", _counts(s["offers"])),
        ("own requests", _counts(s["requests"])),
        ("rides", _counts(s["rides"])),
        ("heard", f"{s['book']['offers']} offers, {s['book']['requests']} requests"),
        ("rejected input", _counts(s["rejected"])),
    ]
    for what, value in rows:
        t.add_row(what, value)
    console.print(t)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {k}" for k, n in counts.items()) or "none"


def route_plan(console: Console, p: Json) -> None:
    via = "straight lines" if p["backend"] == "straight" else (p["network"] or p["backend"])
    line = (
        f"Route of [bold]{p['length_m'] / 1000:.1f} km[/bold], about "
        f"{p['duration_s'] / 60:.0f} min ({via}), {len(p['route'])} points"
    )
    if p.get("cost_minor") is not None:
        line += f"; a rider along all of it pays {p['cost_minor'] / 100:.2f}"
    console.print(line)


def places(console: Console, rows: list[Json]) -> None:
    if not rows:
        console.print("No such place: give lat,lon, or a name from `lazooz places ''`.")
        return
    t = Table(title="Places")
    for col in ("name", "area", "lat, lon"):
        t.add_column(col)
    for p in rows:
        t.add_row(p["name"], p["area"], f"{p['point'][0]:.6f}, {p['point'][1]:.6f}")
    console.print(t)


def offers(console: Console, rows: list[Json]) -> None:
    if not rows:
        console.print("No offers.")
        return
    t = Table(title="Your offers")
    for col in ("offer", "status", "free", "leaving", "detour", "drive"):
        t.add_column(col)
    for o in rows:
        t.add_row(
            o["offer_id"],
            o["status"],
            f"{o['free_seats']}/{o['seats']}",
            window(o["departure"]),
            f"{o['max_detour_m']} m / {o['max_detour_s'] // 60} min",
            f"{o['duration_s'] // 60} min",
        )
    console.print(t)


def requests(console: Console, rows: list[Json]) -> None:
    if not rows:
        console.print("No requests.")
        return
    t = Table(title="Your requests")
    for col in ("request", "status", "seats", "pickup window", "ride"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            r["request_id"], r["status"], str(r["seats"]), window(r["window"]), r["ride_id"] or ""
        )
    console.print(t)


def history(console: Console, h: Json) -> None:
    """Offers, requests and rides, newest first, in one table."""
    rows = [(o["created_ms"], "offer", o["status"], o["offer_id"]) for o in h["offers"]]
    rows += [(r["created_ms"], "request", r["status"], r["request_id"]) for r in h["requests"]]
    rows += [
        (r["pickup_ms"] or 0, f"ride ({r['role']})", r["state"], r["ride_id"]) for r in h["rides"]
    ]
    if not rows:
        console.print("Nothing yet.")
        return
    t = Table(title="History, newest first")
    for col in ("when", "what", "status", "id"):
        t.add_column(col)
    for at, what, state, ident in sorted(rows, key=lambda row: -row[0]):
        t.add_row(when(at) if at else "-", what, state, ident)
    console.print(t)


def schedule(console: Console, s: Json) -> None:
    console.print(
        f"Schedule [bold]{s['schedule_id']}[/bold]: {','.join(s['days'])} at {s['time']} "
        f"(+{s['flex_min']} min), published {s['lead_min']} min ahead; next departure "
        f"{when(s['next_departure_ms'])}, {len(s['published'])} offer(s) so far"
    )


def schedules(console: Console, rows: list[Json]) -> None:
    if not rows:
        console.print("No recurring offers.")
        return
    t = Table(title="Recurring offers")
    for col in ("schedule", "days", "time", "next departure", "published"):
        t.add_column(col)
    for s in rows:
        t.add_row(
            s["schedule_id"],
            ",".join(s["days"]),
            s["time"],
            when(s["next_departure_ms"]),
            str(len(s["published"])),
        )
    console.print(t)
