"""The ``lazooz`` command line: set up and run a node, and use it through its control API.

Every command but ``init``, ``daemon`` and ``walkthrough`` calls the API of
the node running on ``--data-dir`` (docs/node.md, "Control API"). Exit
status: 0 done; 1 the node refused (its detail is printed) or is not
running; 2 the command line itself was wrong.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from lazooz import keyfile
from lazooz.control import show, typed
from lazooz.control.client import ApiError, Client, NodeUnreachable
from lazooz.control.files import TOKEN_FILE, load_or_create_token
from protocol.errors import ConfigError

# The commands that call a node's API import only what they need: numpy, pyproj
# and libp2p (the walk-through, the configuration, the daemon) are imported by
# the commands that use them, so `lazooz rides` answers in a fraction of a second.

app = typer.Typer(
    name="lazooz",
    help="Cooperative peer-to-peer ride sharing: your own node, no company in the middle.",
    no_args_is_help=True,
    add_completion=False,
)

#: The configuration ``lazooz init`` writes and ``lazooz daemon`` reads when no --config is given.
CONFIG_FILE = "lazooz.toml"

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="The node's data directory [default: $LAZOOZ_DATA_DIR, else $XDG_DATA_HOME/lazooz].",
        show_default=False,
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print the API's JSON answer instead.")]


@app.callback()
def _main() -> None:
    """Cooperative peer-to-peer ride sharing."""


@app.command()
def walkthrough(
    seed: Annotated[int, typer.Option(help="Seed for keys, ids and privacy cuts.")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary instead.")] = False,
) -> None:
    """Walk through the protocol on embedded Tel Aviv data: sign, gossip-validate, match."""
    from lazooz import walkthrough as wt
    from lazooz.walkthrough_view import show_walkthrough

    result = wt.run(random.Random(seed))
    if as_json:
        typer.echo(json.dumps(wt.summary(result), indent=2))
        return
    show_walkthrough(Console(), result)


@app.command()
def demo(
    members: Annotated[int, typer.Option(min=5, help="Daemons to start (drivers and riders).")] = 6,
    seed: Annotated[int, typer.Option(help="Seed for the script's choices.")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary instead.")] = False,
    keep: Annotated[
        bool, typer.Option(help="Keep the daemons running after the script until Ctrl-C.")
    ] = False,
) -> None:
    """Run a local swarm of real daemons on loopback through a scripted morning of rides."""
    from lazooz import demo as swarm_demo

    raise typer.Exit(swarm_demo.run(members=members, seed=seed, json_out=as_json, keep=keep))


# -- setting up and running a node


@app.command()
def init(data_dir: DataDir = None, as_json: AsJson = False) -> None:
    """Make a data directory: identity key, control token and a configuration file.

    Safe to run again: what exists is kept, never overwritten.
    """
    where = _data_dir(data_dir)
    try:
        where.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not where.is_dir():
            raise ConfigError(f"data dir={str(where)!r}: is not a directory")
        key_existed = (where / keyfile.KEY_FILE).exists()
        from lazooz import config as lazooz_config

        identity = keyfile.load_or_create(where / keyfile.KEY_FILE)
        load_or_create_token(where)
        config_path = where / CONFIG_FILE
        config_existed = config_path.exists()
        if not config_existed:
            config = lazooz_config.defaults().with_data_dir(where)
            config_path.write_text(lazooz_config.dump(config), "utf-8")
    except (ConfigError, OSError) as exc:
        _fail(as_json, "config", str(exc))
    summary = {
        "member_id": identity.member_id,
        "public_key": identity.public_key.hex(),
        "data_dir": str(where),
        "key_file": str(where / keyfile.KEY_FILE),
        "token_file": str(where / TOKEN_FILE),
        "config_file": str(config_path),
        "new_key": not key_existed,
        "new_config": not config_existed,
    }
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    console = Console()
    kept = "kept" if key_existed else "new"
    console.print(f"Member [bold]{identity.member_id}[/bold] ({kept} key)")
    console.print(f"Data directory {where}: identity.key, control.token, {CONFIG_FILE}")
    key_path = where / keyfile.KEY_FILE
    console.print(f"Back up {key_path}: a lost key loses your identity and its credit.")
    console.print(f"Start the node with: lazooz daemon --data-dir {where}")


@app.command()
def daemon(
    config: Annotated[
        Path | None,
        typer.Option(help=f"TOML configuration [default: DATA_DIR/{CONFIG_FILE} if it exists]."),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Run this member's node, and its control API, until SIGINT or SIGTERM."""
    path = config
    if path is None:
        candidate = _data_dir(data_dir) / CONFIG_FILE
        path = candidate if candidate.exists() else None
    from lazooz import config as lazooz_config

    try:
        loaded = lazooz_config.load(path)
    except ConfigError as exc:
        Console(stderr=True).print(f"[red]lazooz:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    if data_dir is not None:
        loaded = loaded.with_data_dir(data_dir)
    # Imported here: the node pulls in libp2p, seconds to import, which no other command needs.
    from lazooz.control.service import control_service
    from lazooz.node.daemon import run

    raise typer.Exit(run(loaded, [control_service]))


# -- offers and requests


@app.command()
def offer(
    route: Annotated[str | None, typer.Option(help="lat,lon;lat,lon;... in degrees.")] = None,
    route_file: Annotated[
        Path | None, typer.Option(help="A GeoJSON LineString or a GPX track.")
    ] = None,
    start: Annotated[
        str | None,
        typer.Option("--from", help="Start (lat,lon or a place): routed on the node's roads."),
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Destination (lat,lon or a place).")
    ] = None,
    via: Annotated[
        list[str] | None, typer.Option(help="A point to pass on the way (repeatable).")
    ] = None,
    depart: Annotated[str, typer.Option(help="now, +15m, 18:30 or ISO 8601.")] = "now",
    flex: Annotated[int, typer.Option(help="Minutes you may leave after --depart.")] = 15,
    duration: Annotated[
        int | None, typer.Option(help="Minutes the whole drive takes [default: at 30 km/h].")
    ] = None,
    seats: Annotated[int, typer.Option(help="Seats offered.")] = 3,
    detour_m: Annotated[int, typer.Option(help="Most metres you will detour.")] = 1000,
    detour_min: Annotated[int, typer.Option(help="Most minutes you will detour.")] = 10,
    currency: Annotated[
        str | None, typer.Option(help="ISO 4217 currency of the cost share [default: none].")
    ] = None,
    base_minor: Annotated[int, typer.Option(help="Cost share per rider, minor units.")] = 0,
    per_km_minor: Annotated[int, typer.Option(help="Cost share per km, minor units.")] = 0,
    repeat: Annotated[
        str | None,
        typer.Option(
            help="Offer it again every one of these days (mon,tue,...) at --depart's time of "
            "day, published --lead minutes before."
        ),
    ] = None,
    lead: Annotated[int, typer.Option(help="With --repeat: minutes ahead to publish.")] = 60,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Offer seats along your route (driver): --route, --route-file, or --from/--to [--via]."""
    routed = start is not None or end is not None
    try:
        given = [route is not None, route_file is not None, routed]
        if sum(given) != 1 or (routed and (start is None or end is None)):
            raise ValueError("give one of --route, --route-file, or --from with --to")
        path: object = None
        if route is not None:
            path = typed.route(route)
        elif route_file is not None:
            path = typed.route_file(route_file)
        leave = typed.time_ms(depart, datetime.now())
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--route") from None
    body: dict[str, Any] = {
        "route": path,
        "departure": {"start_ms": leave, "end_ms": leave + flex * 60_000},
        "seats": seats,
        "max_detour_m": detour_m,
        "max_detour_s": detour_min * 60,
    }
    if duration is not None:
        body["duration_s"] = duration * 60
    if currency is not None:
        body["cost"] = {
            "currency": currency,
            "base_minor": base_minor,
            "per_km_minor": per_km_minor,
        }
    if routed:
        assert start is not None and end is not None
        stops = [start, *(via or []), end]
        names = ["--from", *(["--via"] * len(via or [])), "--to"]
        _check_points(stops, names)

    def call(c: Client) -> Any:
        if routed:
            plan = c.post("/v1/route", {"waypoints": _points(c, stops, names)})
            body["route"] = plan["route"]
            body.setdefault("duration_s", max(1, round(plan["duration_s"])))
        if repeat is None:
            return c.post("/v1/offers", body)
        departure = body.pop("departure")
        at = datetime.fromtimestamp(departure["start_ms"] / 1000).strftime("%H:%M")
        return c.post(
            "/v1/schedules",
            {"offer": body, "days": days, "time": at, "flex_min": flex, "lead_min": lead},
        )

    days = [d.strip() for d in (repeat or "").split(",") if d.strip()]
    if repeat is not None and not days:
        raise typer.BadParameter("give days such as mon,tue,wed", param_hint="--repeat")
    _api(data_dir, as_json, call, show.offer if repeat is None else show.schedule)


@app.command()
def schedules(data_dir: DataDir = None, as_json: AsJson = False) -> None:
    """Your recurring offers (`offer --repeat`), with their next departure."""
    _api(data_dir, as_json, lambda c: c.get("/v1/schedules"), show.schedules)


@app.command()
def unschedule(
    schedule_id: Annotated[str, typer.Argument(help="The schedule's id (see `schedules`).")],
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Stop a recurring offer; offers already published stay until withdrawn."""
    _api(data_dir, as_json, lambda c: c.post(f"/v1/schedules/{schedule_id}/delete"), show.schedule)


@app.command()
def request(
    pickup: Annotated[str, typer.Option("--from", help="Pickup: lat,lon or a place name.")],
    dropoff: Annotated[str, typer.Option("--to", help="Drop-off: lat,lon or a place name.")],
    at: Annotated[str, typer.Option(help="Earliest pickup: now, +15m, 18:30 or ISO.")] = "now",
    flex: Annotated[int, typer.Option(help="Minutes of pickup window after --at.")] = 30,
    seats: Annotated[int, typer.Option(help="Seats needed.")] = 1,
    walk: Annotated[int, typer.Option(help="Most metres you will walk, each end.")] = 500,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Ask for a seat (rider). Only coarse cells are published; exact points stay home."""
    _check_points([pickup, dropoff], ["--from", "--to"])
    try:
        start = typed.time_ms(at, datetime.now())
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--at") from None

    def call(c: Client) -> Any:
        points = _points(c, [pickup, dropoff], ["--from", "--to"])
        body = {
            "pickup": points[0],
            "dropoff": points[1],
            "window": {"start_ms": start, "end_ms": start + flex * 60_000},
            "seats": seats,
            "max_walk_m": walk,
        }
        return c.post("/v1/requests", body)

    _api(data_dir, as_json, call, show.request)


@app.command()
def offers(data_dir: DataDir = None, as_json: AsJson = False) -> None:
    """Your offers, and their state."""
    _api(data_dir, as_json, lambda c: c.get("/v1/offers"), show.offers)


@app.command()
def requests(data_dir: DataDir = None, as_json: AsJson = False) -> None:
    """Your requests, and their state."""
    _api(data_dir, as_json, lambda c: c.get("/v1/requests"), show.requests)


@app.command()
def candidates(
    own_id: Annotated[str, typer.Argument(help="Your offer's or request's id.")],
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Ranked matches of your offer or request."""
    _api(data_dir, as_json, lambda c: c.get(f"/v1/candidates/{own_id}"), show.candidates)


@app.command()
def withdraw(
    own_id: Annotated[str, typer.Argument(help="Your offer's or request's id.")],
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Stop publishing your offer or request; rides already agreed go on."""

    def call(c: Client) -> Any:
        try:
            answer = c.post(f"/v1/offers/{own_id}/withdraw")
        except ApiError as exc:
            if exc.status != 404:
                raise
            answer = c.post(f"/v1/requests/{own_id}/withdraw")
        return answer

    def shown(console: Console, answer: Any) -> None:
        (show.offer if "offer_id" in answer else show.request)(console, answer)

    _api(data_dir, as_json, call, shown)


# -- rides

RideId = Annotated[str, typer.Argument(help="The ride's id, or enough of its start to be unique.")]


@app.command()
def rides(data_dir: DataDir = None, as_json: AsJson = False) -> None:
    """Your rides, as rider and driver."""
    _api(data_dir, as_json, lambda c: c.get("/v1/rides"), show.rides)


@app.command()
def propose(
    request_id: Annotated[str, typer.Argument(help="Your request.")],
    offer_id: Annotated[str, typer.Argument(help="A candidate offer (see `candidates`).")],
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Ask a candidate offer's driver for a seat (rider)."""
    body = {"request_id": request_id, "offer_id": offer_id}
    _api(data_dir, as_json, lambda c: c.post("/v1/rides", body), show.ride)


def _ride_step(
    command: str, ride_id: str, body: dict[str, Any], data_dir: Path | None, as_json: bool
) -> None:
    def call(c: Client) -> Any:
        return c.post(f"/v1/rides/{_full_ride_id(c, ride_id)}/{command}", body)

    _api(data_dir, as_json, call, show.ride)


@app.command()
def accept(ride_id: RideId, data_dir: DataDir = None, as_json: AsJson = False) -> None:
    """Accept a rider's proposal (driver)."""
    _ride_step("accept", ride_id, {}, data_dir, as_json)


@app.command()
def decline(
    ride_id: RideId,
    reason: Annotated[
        str, typer.Option(help="other, no_seats, off_route, too_late, changed_mind, unsafe.")
    ] = "other",
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Decline a proposal, or points that do not suit you (driver)."""
    _ride_step("decline", ride_id, {"reason": reason}, data_dir, as_json)


@app.command()
def confirm(
    ride_id: RideId,
    at: Annotated[str | None, typer.Option(help="Pickup time [default: the planned one].")] = None,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Confirm a ride whose exact points fit (driver)."""
    body: dict[str, Any] = {}
    if at is not None:
        try:
            body["pickup_ms"] = typed.time_ms(at, datetime.now())
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--at") from None
    _ride_step("confirm", ride_id, body, data_dir, as_json)


@app.command()
def cancel(
    ride_id: RideId,
    reason: Annotated[
        str, typer.Option(help="changed_mind, no_show, too_late, unsafe, other...")
    ] = "changed_mind",
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Cancel a ride, signed, with a reason (either party)."""
    _ride_step("cancel", ride_id, {"reason": reason}, data_dir, as_json)


@app.command()
def pickup(
    ride_id: RideId,
    pin: Annotated[str, typer.Argument(help="The PIN the rider tells you.")],
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """The rider is aboard and told you the PIN (driver)."""
    _ride_step("pickup", ride_id, {"pin": pin}, data_dir, as_json)


@app.command()
def finish(
    ride_id: RideId,
    distance_m: Annotated[
        int | None, typer.Option(help="Metres ridden [default: as planned].")
    ] = None,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Drop-off: the ride is over and its receipt is signed (driver)."""
    body = {} if distance_m is None else {"distance_m": distance_m}
    _ride_step("finish", ride_id, body, data_dir, as_json)


@app.command()
def sign(ride_id: RideId, data_dir: DataDir = None, as_json: AsJson = False) -> None:
    """Countersign the ride's receipt, once you agree with it (rider)."""
    _ride_step("sign", ride_id, {}, data_dir, as_json)


@app.command()
def rate(
    ride_id: RideId,
    stars: Annotated[int, typer.Argument(help="1..5 stars for the other party.")],
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Rate the other party of a done ride, once; the rating is public in your log (either)."""
    _ride_step("rating", ride_id, {"stars": stars}, data_dir, as_json)


# -- the web UI and the map


@app.command("app")
def open_app(
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open it in this machine's web browser too.")
    ] = False,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Print the web UI's address (with your token, so keep it to yourself)."""
    where = _data_dir(data_dir)

    def call(c: Client) -> Any:
        status = c.get("/v1/status")
        return {"url": f"{c.url}/app#token={c.token}", "member_id": status["member_id"]}

    def shown(console: Console, answer: Any) -> None:
        console.print(f"Web UI of {answer['member_id']}:")
        console.print(answer["url"], soft_wrap=True, highlight=False)
        console.print("[dim]The link holds your node's token: share it with no one.[/dim]")

    answer = _api(data_dir, as_json, call, shown)
    if open_browser:
        import webbrowser

        if not webbrowser.open(answer["url"]):
            Console(stderr=True).print(f"No web browser found here; open the link above ({where}).")


@app.command()
def route(
    stops: Annotated[
        list[str], typer.Argument(help="Two or more points in order: lat,lon or place names.")
    ],
    currency: Annotated[
        str | None, typer.Option(help="Estimate a rider's share in this ISO 4217 currency.")
    ] = None,
    base_minor: Annotated[int, typer.Option(help="Cost share per rider, minor units.")] = 0,
    per_km_minor: Annotated[int, typer.Option(help="Cost share per km, minor units.")] = 0,
    save: Annotated[
        Path | None, typer.Option(help="Write the route as GeoJSON, for `offer --route-file`.")
    ] = None,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """A drivable route through the stops on your node's roads: length, time, cost share."""

    names = [f"STOPS[{i}]" for i in range(len(stops))]
    _check_points(stops, names)

    def call(c: Client) -> Any:
        body: dict[str, Any] = {"waypoints": _points(c, stops, names)}
        if currency is not None:
            body["cost"] = {
                "currency": currency,
                "base_minor": base_minor,
                "per_km_minor": per_km_minor,
            }
        return c.post("/v1/route", body)

    plan = _api(data_dir, as_json, call, show.route_plan)
    if save is not None:
        line = {"type": "LineString", "coordinates": [[lon, lat] for lat, lon in plan["route"]]}
        save.write_text(json.dumps(line) + "\n", "utf-8")


@app.command()
def places(
    query: Annotated[str, typer.Argument(help="A place name, part of one, or lat,lon.")],
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Places your node knows by name (no internet lookup)."""
    _api(data_dir, as_json, lambda c: c.get("/v1/places", q=query), show.places)


@app.command()
def history(data_dir: DataDir = None, as_json: AsJson = False) -> None:
    """Your offers, requests and rides, newest first."""

    def call(c: Client) -> Any:
        return {
            "offers": c.get("/v1/offers"),
            "requests": c.get("/v1/requests"),
            "rides": c.get("/v1/rides"),
        }

    _api(data_dir, as_json, call, show.history)


@app.command()
def share(ride_id: RideId, data_dir: DataDir = None, as_json: AsJson = False) -> None:
    """A read-only live link to a ride, for a contact (ends with `unshare` or a node restart)."""

    def call(c: Client) -> Any:
        made = c.post(f"/v1/rides/{_full_ride_id(c, ride_id)}/share")
        return {**made, "url": c.url + made["path"]}

    def shown(console: Console, answer: Any) -> None:
        console.print(f"Anyone with this link sees ride {answer['ride_id'][:8]} live (no PIN):")
        console.print(answer["url"], soft_wrap=True, highlight=False)

    _api(data_dir, as_json, call, shown)


@app.command()
def unshare(ride_id: RideId, data_dir: DataDir = None, as_json: AsJson = False) -> None:
    """End every share link of a ride."""

    def call(c: Client) -> Any:
        return c.post(f"/v1/rides/{_full_ride_id(c, ride_id)}/unshare")

    def shown(console: Console, answer: Any) -> None:
        console.print(f"Ended {answer['revoked']} link(s) to ride {answer['ride_id'][:8]}.")

    _api(data_dir, as_json, call, shown)


# -- ledger, peers, status


@app.command()
def balance(
    member: Annotated[str | None, typer.Option(help="Another member's public key (hex).")] = None,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """A balance, and how each ride earned its part."""
    query = {} if member is None else {"member": member}
    _api(data_dir, as_json, lambda c: c.get("/v1/balance", **query), show.balance)


@app.command()
def receipts(data_dir: DataDir = None, as_json: AsJson = False) -> None:
    """The receipts in your log, and what credit made of each."""
    _api(data_dir, as_json, lambda c: c.get("/v1/receipts"), show.receipts)


@app.command()
def peers(data_dir: DataDir = None, as_json: AsJson = False) -> None:
    """The members your node is connected to now."""
    _api(data_dir, as_json, lambda c: c.get("/v1/peers"), show.peers)


@app.command()
def status(data_dir: DataDir = None, as_json: AsJson = False) -> None:
    """Your node: identity, addresses, peers, offers, rides, balance."""
    _api(data_dir, as_json, lambda c: c.get("/v1/status"), show.status)


@app.command()
def watch(data_dir: DataDir = None, as_json: AsJson = False) -> None:
    """Follow your node's notifications live, one line each, until Ctrl-C."""
    from lazooz.node.notify_text import describe, needs_ride

    # Ctrl-C is how this ends, as for the daemon and the demo, which take their
    # signals themselves: a shell starts background jobs with SIGINT ignored, and
    # Python then never raises KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    out, err = Console(highlight=False), Console(stderr=True, highlight=False)
    try:
        client = Client.of(_data_dir(data_dir))

        def ready() -> None:
            err.print(f"Watching the node at {client.url} (Ctrl-C to stop).")

        for data in client.events(subscribed=ready):
            if as_json:
                typer.echo(json.dumps(data, separators=(",", ":")))
                continue
            ride = None
            if needs_ride(data):
                with contextlib.suppress(ApiError):
                    ride = client.get(f"/v1/rides/{data['ride_id']}")
            m = describe(data, ride)
            text = f"{datetime.now():%H:%M:%S} [bold]{escape(m.title)}[/bold] {escape(m.body)}"
            out.print(text if m.alert else f"[dim]{text}[/dim]")
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
    except ApiError as exc:
        _fail(as_json, exc.reason, exc.detail, exc.status)
    except NodeUnreachable as exc:
        _fail(as_json, "unreachable", str(exc))
    _fail(as_json, "unreachable", "the node stopped")


# -- calling the API


def _data_dir(given: Path | None) -> Path:
    if given is not None:
        return given.expanduser().absolute()
    # lazooz.config.default_data_dir, without importing the configuration (numpy, pyproj).
    env = os.environ
    if env.get("LAZOOZ_DATA_DIR"):
        return Path(env["LAZOOZ_DATA_DIR"]).expanduser().absolute()
    if env.get("XDG_DATA_HOME"):
        return Path(env["XDG_DATA_HOME"]).expanduser().absolute() / "lazooz"
    home = Path(env["HOME"]) if env.get("HOME") else Path.home()
    return home.absolute() / ".local" / "share" / "lazooz"


def _api(
    data_dir: Path | None,
    as_json: bool,
    call: Callable[[Client], Any],
    shown: Callable[[Console, Any], None],
) -> Any:
    """Call the node's API; print the answer as JSON or for people; exit 1 on a refusal."""
    try:
        answer = call(Client.of(_data_dir(data_dir)))
    except ApiError as exc:
        _fail(as_json, exc.reason, exc.detail, exc.status)
    except NodeUnreachable as exc:
        _fail(as_json, "unreachable", str(exc))
    except ConfigError as exc:
        _fail(as_json, "config", str(exc))
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
    else:
        shown(Console(), answer)
    return answer


def _check_points(texts: list[str], names: list[str]) -> None:
    """A usage error (exit 2) for text that is meant as coordinates and is not a point."""
    for text, name in zip(texts, names, strict=True):
        if re.fullmatch(r"[\d\s.,;+-]+", text):
            try:
                typed.point(text)
            except ValueError as exc:
                raise typer.BadParameter(str(exc), param_hint=name) from None


def _points(client: Client, texts: list[str], names: list[str]) -> list[list[float]]:
    """Each text as ``[lat, lon]``: coordinates as they are, a name looked up on the node."""
    out = []
    for text, name in zip(texts, names, strict=True):
        try:
            out.append(typed.point(text))
            continue
        except ValueError:
            pass
        found = client.get("/v1/places", q=text)
        if len(found) != 1:
            rule = (
                "unknown address: give lat,lon or a place `lazooz places` knows"
                if not found
                else f"names {len(found)} places ({', '.join(p['name'] for p in found[:4])})"
            )
            raise ApiError(400, "unknown_place", f"{name}={text!r}: {rule}")
        out.append(found[0]["point"])
    return out


def _fail(as_json: bool, reason: str, detail: str, status: int | None = None) -> NoReturn:
    if as_json:
        typer.echo(json.dumps({"error": reason, "detail": detail, "status": status}))
    Console(stderr=True).print(f"[red]lazooz:[/red] {escape(detail)}", highlight=False)
    raise typer.Exit(1)


def _full_ride_id(client: Client, given: str) -> str:
    """``given``, or the one ride id it starts (so a person can type eight characters)."""
    if len(given) == 32:
        return given
    found = [
        r["ride_id"] for r in client.get("/v1/rides") if r["ride_id"].startswith(given.lower())
    ]
    if len(found) != 1:
        what = "no ride" if not found else f"{len(found)} rides"
        raise typer.BadParameter(f"{given!r}: {what} start(s) with it; see `lazooz rides`")
    return str(found[0])
