"""``lazooz demo``: a local swarm of real daemons on loopback, driven through a scripted morning.

``run(members, seed, json_out)`` starts one ``lazooz daemon`` process per
member (2 drivers and 4 riders by default, in Tel Aviv), each in its own
temporary data directory and bootstrapped to all the others; drives them
through their control APIs (a pooled ride, a cancellation, PINs, co-signed
receipts); shows a live summary with rich, or prints a JSON summary; checks
that every node reports the same balances; and stops every daemon and removes
every directory at the end, on an error and on Ctrl-C. Exit status: 0 the
script completed and the balances agree; 1 it failed; 2 bad arguments; 130
interrupted (SIGINT or SIGTERM). Once every daemon is up the demo prints each
member's web UI address (``…/app#token=…``) so the swarm can be watched in a
browser; ``keep`` leaves the daemons running after the script until Ctrl-C
(which then exits 0). With ``--json``, one line
``{"event":"swarm_ready","pids":[...],"ui":{name: url}}`` goes to stderr once
every daemon is up, and the summary carries ``ui`` too.
"""

from __future__ import annotations

import json
import random
import signal
import sys
import time
from types import FrameType
from typing import Any

__all__ = ["run"]


class _Stopped(Exception):
    """SIGTERM (or SIGINT) reached the demo: stop everything."""


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise _Stopped(signal.Signals(signum).name)


def run(members: int = 6, seed: int = 1, json_out: bool = False, keep: bool = False) -> int:
    """Run the demo; the exit status (0 ok, 1 failed, 130 interrupted)."""
    from rich.console import Console
    from rich.live import Live

    from lazooz.demo.script import Cast, Progress, Script
    from lazooz.demo.swarm import Swarm, SwarmError
    from lazooz.demo.view import render

    err = Console(stderr=True)
    started = time.monotonic()
    try:
        cast = Cast.of(members)
    except SwarmError as exc:
        err.print(f"[red]lazooz demo:[/red] {exc}")
        return 2
    rest = cast.riders[2:]
    random.Random(seed).shuffle(rest)  # the seed picks who is left over to cancel
    cast.riders[2:] = rest
    names = cast.names
    drivers = {p.name for p in cast.drivers}
    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    swarm = Swarm(names)
    progress = Progress()
    error: str | None = None
    status = 1
    live: Live | None = None
    codes: dict[str, int | None] = {}
    ui: dict[str, str] = {}
    try:
        if not json_out:
            live = Live(render(progress, names, drivers), console=Console(), auto_refresh=False)
            live.start()
        script = Script(swarm, cast, lambda: None)
        progress = script.progress

        def refresh() -> None:
            if live is not None:
                live.update(render(progress, names, drivers), refresh=True)

        script.refresh = refresh
        refresh()
        swarm.start()
        ui = ui_urls(swarm)
        if json_out:
            # For a supervisor (the tests): every daemon is up. The summary comes on stdout.
            up = {"event": "swarm_ready", "pids": swarm.pids, "ui": ui}
            print(json.dumps(up, separators=(",", ":")), file=sys.stderr, flush=True)
        elif live is not None:
            for name, url in ui.items():
                live.console.print(f"[bold]{name}[/bold] web UI: {url}", soft_wrap=True)
        progress.say(f"{len(names)} daemons up in {time.monotonic() - started:.1f} s")
        script.run()
        status = 0 if progress.balances_agree else 1
        if keep:
            progress.say("script done; daemons kept running for the web UI: Ctrl-C stops them")
            refresh()
            if json_out:
                done = {"event": "script_done", "balances_agree": bool(progress.balances_agree)}
                print(json.dumps(done, separators=(",", ":")), file=sys.stderr, flush=True)
            while True:
                signal.pause()  # _on_signal raises _Stopped out of the wait
    except (_Stopped, KeyboardInterrupt) as exc:
        if keep and status == 0:
            pass  # the user stopped a kept swarm after a successful script
        else:
            error = f"interrupted ({exc or 'SIGINT'})"
            status = 130
    except SwarmError as exc:
        error = str(exc)
    except Exception as exc:  # any failure still stops every daemon below
        error = f"{type(exc).__name__}: {exc}"
    finally:
        progress.phase = "stopping daemons"
        try:
            if live is not None:
                live.update(render(progress, names, drivers), refresh=True)
        finally:
            # A second Ctrl-C must not leave daemons behind: ignore it while closing.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            try:
                codes = swarm.close()
            finally:
                if live is not None:
                    progress.phase = "stopped" if error is None else "failed"
                    live.update(render(progress, names, drivers), refresh=True)
                    live.stop()
                for s, handler in previous.items():
                    signal.signal(s, handler)
    elapsed = time.monotonic() - started
    if json_out:
        summary = _summary(progress, swarm, codes, error, status, elapsed, seed)
        summary["ui"] = ui
        print(json.dumps(summary, indent=2))
    elif error is not None:
        err.print(f"[red]lazooz demo:[/red] {error}")
    elif progress.balances_agree:
        Console().print(
            f"[green]Every node reports the same balances.[/green] "
            f"{len(names)} daemons stopped, run time {elapsed:.1f} s."
        )
    if any(c not in (0, None) for c in codes.values()) and status == 0:
        err.print(f"[red]lazooz demo:[/red] a daemon exited badly: {codes}")
        status = 1
    return status


def ui_urls(swarm: Any) -> dict[str, str]:
    """Each member's web UI address, with the token in the fragment (never sent over HTTP)."""
    return {d.name: f"{d.api.url}/app#token={d.api.token}" for d in swarm.daemons}


def _summary(
    progress: Any,
    swarm: Any,
    codes: dict[str, int | None],
    error: str | None,
    status: int,
    elapsed: float,
    seed: int,
) -> dict[str, Any]:
    from collections import Counter

    # A pooled ride: one driver's offer carrying two riders or more to the end.
    carried: dict[str, list[str]] = {}
    for r in progress.rides:
        if r.outcome == "done":
            carried.setdefault(r.driver, []).append(r.rider)
    pooled = {d: rs for d, rs in carried.items() if len(rs) >= 2}
    rides = [
        {
            "rider": r.rider,
            "driver": r.driver,
            "ride_id": r.ride_id,
            "state": r.outcome,
            "pooled": r.outcome == "done" and r.driver in pooled,
            "cancel_reason": r.cancel_reason,
            "distance_m": r.distance_m,
        }
        for r in progress.rides
    ]
    return {
        "ok": status == 0,
        "exit_status": status,
        "error": error,
        "seed": seed,
        "run_time_s": round(elapsed, 1),
        "members": {
            d.name: {
                "member_id": d.info.get("member_id"),
                "public_key": d.info.get("public_key"),
                "pid": d.process.pid if d.process is not None else None,
                "exit_code": codes.get(d.name),
            }
            for d in swarm.daemons
        },
        "pids": swarm.pids,
        "peers_connected": {n: s["connected"] for n, s in progress.statuses.items()},
        "offers_heard": {n: s["book"]["offers"] for n, s in progress.statuses.items()},
        "requests_heard": {n: s["book"]["requests"] for n, s in progress.statuses.items()},
        "matches": progress.matches,
        "rides": rides,
        "rides_by_state": dict(Counter(r.outcome for r in progress.rides)),
        "pooled_rides": [{"driver": d, "riders": rs} for d, rs in pooled.items()],
        "cancelled_rides": [r for r in rides if r["state"] == "cancelled"],
        "receipts_cosigned": sum(1 for r in progress.rides if r.outcome == "done"),
        "balances_by_node": progress.balances,
        "balances_agree": bool(progress.balances_agree),
        "log": progress.log,
    }


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m lazooz.demo", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--members", type=int, default=6, help="daemons to start (at least 5)")
    parser.add_argument("--seed", type=int, default=1, help="seed for the script's choices")
    parser.add_argument("--json", action="store_true", help="print a JSON summary instead")
    parser.add_argument(
        "--keep", action="store_true", help="keep the daemons running after the script until Ctrl-C"
    )
    args = parser.parse_args(argv)
    return run(args.members, args.seed, args.json, args.keep)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
