"""The ``lazooz-sim`` command line."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from protocol.errors import ConfigError
from sim import coarse

app = typer.Typer(
    name="lazooz-sim",
    help="The lazooz simulator: the real protocol core, driven through a city.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _main() -> None:
    """The lazooz simulator."""


@app.command()
def coarse_cost(
    offers: Annotated[int, typer.Option(min=1, help="Drivers in the synthetic city.")] = 1000,
    requests: Annotated[int, typer.Option(min=1, help="Riders in the synthetic city.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed for the city.")] = 1,
    resolutions: Annotated[str, typer.Option(help="H3 resolutions to try, comma-separated.")] = (
        "6,7,8,9"
    ),
    max_reveals: Annotated[
        int, typer.Option(min=1, help="Drivers a rider reveals its points to, at most.")
    ] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """How much match quality coarse (H3-cell) matching costs against exact points."""
    try:
        res = [int(r) for r in resolutions.split(",")]
    except ValueError:
        raise typer.BadParameter(f"resolutions={resolutions!r}: need integers like 6,7,8") from None
    if bad := [r for r in res if not 5 <= r <= 9]:
        raise typer.BadParameter(f"resolutions={bad}: requests use H3 resolutions 5 to 9")
    console = Console()
    with console.status("matching"):
        outcomes = coarse.sweep(offers, requests, seed, res, max_reveals)
    if as_json:
        typer.echo(json.dumps([asdict(o) for o in outcomes], indent=2))
        return
    table = Table(title=f"{offers} drivers, {requests} riders, seed {seed}")
    columns = ("places", "candidates", "reveals", "matched", "pooled", "shared km", "time")
    for col in columns:
        table.add_column(col, justify="right")
    for o in outcomes:
        table.add_row(
            "exact (oracle)" if o.resolution is None else f"H3 res {o.resolution}",
            f"{o.candidates_per_request:.1f}",
            f"{o.reveals_per_request:.2f}",
            f"{o.matched} ({o.matched / requests:.0%})",
            str(o.pooled_rides),
            f"{o.shared_km:.0f}",
            f"{o.seconds:.2f} s",
        )
    console.print(table)
    console.print(
        "candidates and reveals are per request; a reveal shows a rider's exact points "
        "to one more driver."
    )


@app.command("import-osm")
def import_osm(
    source: Annotated[Path, typer.Argument(help="An OpenStreetMap extract (.osm.pbf).")],
    target: Annotated[Path, typer.Argument(help="Where to write the road graph (.roads).")],
    name: Annotated[str | None, typer.Option(help="Graph name; default: the file's stem.")] = None,
) -> None:
    """Convert an .osm.pbf extract's drivable roads into a .roads graph (docs/roads.md)."""
    from sim.city import osm

    started = time.perf_counter()
    try:
        graph, stats = osm.import_osm(source, name or source.name.split(".")[0].lower())
    except ConfigError as exc:
        raise typer.BadParameter(str(exc), param_hint="SOURCE") from None
    data = graph.encode()
    target.write_bytes(data)
    typer.echo(
        f"{target}: {stats.nodes} nodes, {stats.edges} edges from {stats.ways} drivable ways "
        f"({stats.drivable_nodes} nodes before keeping the largest strongly connected part), "
        f"{len(data)} bytes in {time.perf_counter() - started:.2f} s; {graph.attribution}"
    )


@app.command("shareability")
def shareability_table(
    city: Annotated[str, typer.Option(help="'grid' or an embedded city (helsinki).")] = "grid",
    size_km: Annotated[float, typer.Option(help="Side of the grid city, km.")] = 10.0,
    densities: Annotated[str, typer.Option(help="Trips per hour, comma-separated.")] = (
        "100,200,400,800,1600"
    ),
    delays: Annotated[str, typer.Option(help="Allowed delays in minutes, comma-separated.")] = (
        "1,2,5,10"
    ),
    model: Annotated[str, typer.Option(help="Demand model: uniform, hotspots, commute.")] = (
        "uniform"
    ),
    min_trip_m: Annotated[float, typer.Option(help="Shortest trip, metres.")] = 1000.0,
    seed: Annotated[int, typer.Option(help="Seed for the trips.")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Share of trips that could share a car against density and delay (Santi et al. 2014)."""
    import random

    from sim.city import CitySpec, load_city
    from sim.demand import DemandSpec
    from sim.shareability import shareability

    try:
        lams = [float(x) for x in densities.split(",")]
        deltas = [float(x) for x in delays.split(",")]
        spec = CitySpec(size_km=size_km) if city == "grid" else CitySpec(kind="osm", name=city)
        demand = DemandSpec(model=model, min_trip_m=min_trip_m)
        started = time.perf_counter()
        rows = shareability(load_city(spec), random.Random(seed), lams, deltas, demand=demand)
    except ValueError:
        raise typer.BadParameter("densities and delays are numbers like 100,200") from None
    except ConfigError as exc:
        raise typer.BadParameter(str(exc)) from None
    seconds = time.perf_counter() - started
    if as_json:
        typer.echo(json.dumps([asdict(r) for r in rows], indent=2))
        return
    table = Table(title=f"shared trips, {city} ({model} demand, seed {seed}), {seconds:.1f} s")
    table.add_column("trips/h", justify="right")
    for d in deltas:
        table.add_column(f"Δ {d:g} min", justify="right")
    for lam in lams:
        cells = [r for r in rows if r.trips_per_hour == lam]
        table.add_row(f"{lam:g}", *(f"{r.shared:.0%} ({r.with_partner:.0%})" for r in cells))
    console = Console()
    console.print(table)
    console.print("shared: trips in a maximum matching; in brackets: trips with a partner.")


@app.command("run")
def run_scenario(
    scenario: Annotated[Path, typer.Argument(help="A scenario file (sim/scenarios/*.toml).")],
    seed: Annotated[int | None, typer.Option(help="Seed; default: the scenario's own.")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output directory; default: sim-out/<scenario>-<seed>.")
    ] = None,
) -> None:
    """Run a scenario: real Peer cores in virtual time; metrics.json and CSVs into --out."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from sim import run as sim_run
    from sim import scenario as sim_scenario
    from sim.report import write_report

    try:
        loaded = sim_scenario.load(scenario)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc), param_hint="SCENARIO") from None
    if seed is not None:
        loaded = loaded.with_seed(seed)
    target = out or Path("sim-out") / f"{loaded.name}-{loaded.seed}"
    console = Console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f} sim min"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        minutes = (loaded.end_ms - loaded.start_ms) / 60_000
        task = bar.add_task(f"{loaded.name} seed {loaded.seed}", total=minutes)

        def progress(done_ms: int, total_ms: int) -> None:
            bar.update(task, completed=done_ms / 60_000, total=total_ms / 60_000)

        try:
            results = sim_run.run(loaded, progress=progress)
        except ConfigError as exc:
            raise typer.BadParameter(str(exc), param_hint="SCENARIO") from None
    sim_run.write(results, target)
    write_report(target, loaded)
    m, t = results.metrics, results.timing
    req = m["requests"]
    console.print(
        f"{loaded.name} seed {loaded.seed}: {req['matched']}/{req['requested']} requests matched, "
        f"{m['rides_done']} rides done, {m['pooled_rides']} pooled; "
        f"{t['sim_s'] / 60:.0f} sim min in {t['wall_s']:.1f} s ({t['speedup']:.0f}x real time, "
        f"{t['events_per_s']:.0f} events/s) -> {target}"
    )


@app.command("sweep")
def sweep_command(
    scenario: Annotated[Path, typer.Argument(help="A scenario file (sim/scenarios/*.toml).")],
    param: Annotated[
        list[str],
        typer.Option(
            help="NAME=V1,V2,...: a dotted scenario key (demand.riders, network.loss) and its "
            "values; repeat for a grid."
        ),
    ],
    seeds: Annotated[int, typer.Option(min=1, help="Seeds per point, from the scenario's.")] = 1,
    scheduler: Annotated[
        str | None, typer.Option(help="A running Dask scheduler; default: a local cluster.")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Local cluster worker processes; default: cores.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output directory; default: sim-out/<scenario>-sweep.")
    ] = None,
) -> None:
    """Run a grid of scenario parameters on Dask; sweep.csv and a plot per parameter."""
    from sim import sweep

    try:
        plan = sweep.plan(scenario, param, seeds)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc), param_hint="--param") from None
    target = out or Path("sim-out") / f"{plan.scenario.name}-sweep"
    console = Console(stderr=True)
    with console.status(f"sweep: {len(plan.points)} runs") as status:
        frame, wall = sweep.run(
            plan,
            scheduler=scheduler,
            workers=workers,
            progress=lambda done, total: status.update(f"sweep: {done}/{total} runs"),
        )
    paths = sweep.write(plan, frame, target)
    console.print(f"{len(frame)} runs in {wall:.1f} s -> {', '.join(str(p) for p in paths)}")
