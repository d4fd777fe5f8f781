"""The walk-through as a person reads it: one rich table per step."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from lazooz import walkthrough as wt
from protocol import geo
from protocol.identity import member_id
from protocol.matching import Candidate


def show_walkthrough(console: Console, r: wt.Result) -> None:
    """Print the walk-through's steps as tables."""
    console.rule("[bold]lazooz protocol walk-through")
    console.print("Every step below runs the protocol code the node ships; nothing is mocked.\n")

    t = Table(title="1. Members: Ed25519 keys, shown as member ids (bech32 checksum)")
    for col in ("name", "role", "member id", "public key"):
        t.add_column(col)
    for m in r.drivers:
        t.add_row(m.name, "driver", m.identity.member_id, m.identity.public_key.hex()[:16] + "...")
    for m in r.riders:
        t.add_row(m.name, "rider", m.identity.member_id, m.identity.public_key.hex()[:16] + "...")
    console.print(t)

    t = Table(title="2. Offers: privacy zone cut, signed, published on area topics")
    for col in ("driver", "route", "published", "hidden at ends", "seats", "bytes", "topics"):
        t.add_column(col)
    for o in r.offers:
        full_m = geo.route_length_m(o.full_route)
        pub_m = geo.route_length_m(o.signed.message.route)
        t.add_row(
            o.driver.name,
            f"{full_m / 1000:.1f} km, {len(o.full_route)} vertices",
            f"{pub_m / 1000:.1f} km, {len(o.signed.message.route)} vertices",
            f"{full_m - pub_m:.0f} m",
            str(o.signed.message.seats),
            str(len(o.signed.raw)),
            "\n".join(geo.route_topics(o.signed.message.route)),
        )
    console.print(t)

    t = Table(title="3. Requests: only coarse H3 cells leave the rider's device")
    for col in ("rider", "pickup cell", "drop-off cell", "cell edge", "bytes", "message id"):
        t.add_column(col)
    for q in r.requests:
        req = q.signed.message
        t.add_row(
            q.rider.name,
            hex(req.pickup_cell),
            hex(req.dropoff_cell),
            f"~{geo.cell_radius_m(geo.cell_resolution(req.pickup_cell)) / 2:.0f} m",
            str(len(q.signed.raw)),
            q.signed.message_id.hex()[:16],
        )
    console.print(t)

    console.print(
        f"4. A listening peer ran all {len(r.received)} messages through the validation "
        "pipeline (size, decode, schema, signature, freshness, replay, semantics): "
        f"[green]{len(r.received)} accepted[/green], authors "
        + ", ".join(sorted({member_id(s.author)[:10] + "..." for s in r.received}))
    )
    t = Table(title="   ...and rejected every tampered copy, with a reason")
    for col in ("attack", "reason", "error"):
        t.add_column(col)
    for x in r.rejections:
        t.add_row(x.attack, f"[red]{x.reason}[/red]", x.message)
    console.print(t)
    _show_matching(console, r)


def _show_matching(console: Console, r: wt.Result) -> None:

    n = r.names
    t = Table(title="5. Coarse matching: each rider's peer ranks the offers it heard")
    for col in ("rider", "candidates (best first)", "walk", "detour", "wait", "cost share"):
        t.add_column(col)
    for rider, found in r.coarse.items():
        if not found:
            t.add_row(rider, "[yellow]none yet[/yellow]", "", "", "", "")
            continue
        best = found[0]
        t.add_row(
            rider,
            ", ".join(n[c.offer_id] for c in found),
            f"{best.walk_m:.0f} m",
            f"{best.detour_m:.0f} m / {best.detour_s / 60:.1f} min",
            f"{best.wait_s / 60:.1f} min",
            _money(best.cost_minor, r),
        )
    console.print(t)

    t = Table(title="6. Exact check: the rider reveals its points to that driver only")
    for col in (
        "rider",
        "driver",
        "coarse walk",
        "exact walk (both ends)",
        "exact detour",
        "outcome",
    ):
        t.add_column(col)
    for x in r.reveals:
        if isinstance(x.exact, Candidate):
            walk, detour = f"{x.exact.walk_m:.0f} m", f"{x.exact.detour_m:.0f} m"
            outcome = "[green]fits[/green]"
        else:
            walk, detour = "", ""
            outcome = f"[red]{x.exact.misfit.name.lower()}[/red]: {x.exact.detail}"
        t.add_row(x.rider, x.driver, f"{x.coarse.walk_m:.0f} m", walk, detour, outcome)
    console.print(t)

    t = Table(title="7. Batch assignment: best score first, seats and detour budget shared")
    for col in ("driver", "riders in pickup order", "seats used", "detour total", "shared km"):
        t.add_column(col)
    offers = {o.signed.message.offer_id: o.signed.message for o in r.offers}
    seats = {q.signed.message.request_id: q.signed.message.seats for q in r.requests}
    for offer_id, riders in r.assignment.rides.items():
        pooled = " [bold](pooled)[/bold]" if len(riders) > 1 else ""
        t.add_row(
            n[offer_id] + pooled,
            ", ".join(n[c.request_id] for c in riders),
            f"{sum(seats[c.request_id] for c in riders)} of {offers[offer_id].seats}",
            f"{sum(c.detour_m for c in riders):.0f} m of {offers[offer_id].max_detour_m}",
            f"{sum(c.shared_m for c in riders) / 1000:.1f}",
        )
    console.print(t)
    if r.assignment.unmatched:
        console.print("Unmatched: " + ", ".join(n[q] for q in r.assignment.unmatched))
    console.print(
        "\nAfter a match, the ride handshake (propose, accept, reveal, PIN at pickup), "
        "co-signed receipts and credit run in the Peer core (SPEC §7-§11); the node "
        "will run them between real daemons."
    )


def _money(minor: int, r: wt.Result) -> str:
    currency = r.offers[0].signed.message.cost.currency
    return f"{minor / 100:.2f} {currency}"
