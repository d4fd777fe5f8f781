"""One run's report: plots, report.md and report.html beside the run's metrics.

``write_report(directory, scenario)`` reads what ``sim.run.write`` left in
``directory`` and adds the four PNGs (``sim.report.plots``), ``report.md``
and ``report.html``. The report is a function of the run's files, the
scenario and the code version only: the same run gives the same bytes. Its
one machine-dependent part is the Timing section, taken from timing.json.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

from sim.city import CitySpec, load_city
from sim.report import markdown as md
from sim.report.data import RunData, flatten, load_run
from sim.report.plots import RUN_PLOTS, write_run_plots
from sim.report.studies import ResolutionStudy, ShareStudy, Studies
from sim.scenario import Scenario

#: (metrics.json key, label) of the headline table.
KEY_METRICS = (
    ("requests.requested", "requests"),
    ("requests.matched_share", "matched"),
    ("requests.done_share", "ride completed"),
    ("requests.gave_up", "gave up waiting"),
    ("requests.no_show", "no-shows"),
    ("rides_done", "rides done"),
    ("pooled_rides", "pooled rides (2+ riders in one car)"),
    ("seats.filled_share", "offered seats filled"),
    ("vehicle_km.saved", "vehicle-km saved"),
    ("vehicle_km.saved_share", "vehicle-km saved, of everyone driving alone: share"),
    ("wait_match_s.p50", "wait until matched, median (s)"),
    ("wait_match_s.p90", "wait until matched, p90 (s)"),
    ("wait_pickup_s.p50", "wait until picked up, median (s)"),
    ("drivers.detour_m_per_driver.p50", "detour per carrying driver, median (m)"),
    ("tokens.gini", "Gini of tokens per driver"),
    ("traffic.msgs_per_peer_hour.p50", "messages per peer per hour, median"),
    ("traffic.bytes_per_peer_hour.p50", "bytes per peer per hour, median"),
    ("privacy.pair_nodes.p50", "road nodes behind a request's cell pair, median"),
)

PLOT_CAPTIONS = {
    "match_rate.png": "Requests per 10-minute bin of request time (bars) and the share of "
    "each bin matched and completed (lines).",
    "wait_cdf.png": "Share of all requests matched (picked up) within each wait; the curves "
    "end at the share ever matched (picked up).",
    "tokens.png": "Tokens per driver whose offer went out, as the reference ledger credits "
    "them, and their Lorenz curve.",
    "messages.png": "Messages sent and received per online hour by each rider and driver.",
}

SUMMARY_SECTIONS = (
    ("wait_match_s", "Wait until matched (s)"),
    ("wait_pickup_s", "Wait until picked up (s)"),
    ("time_to_first_candidate_s", "Time to the first candidate (s)"),
    ("handshake_s", "Proposal to confirmation (s)"),
)


def write_report(
    directory: Path,
    scenario: Scenario,
    *,
    studies: Studies | None = None,
    attribution: str | None = None,
    version: str | None = None,
) -> list[Path]:
    """Plots, report.md and report.html for the run in ``directory``; the paths written."""
    run = load_run(directory)
    if attribution is None:
        attribution = city_attribution(scenario)
    plots = write_run_plots(run, directory)
    text = render(run, scenario, studies, attribution, version or md.code_version())
    title = f"lazooz-sim report: {scenario.name}, seed {run.metrics['run']['seed']}"
    md_path, html_path = directory / "report.md", directory / "report.html"
    md_path.write_text(text, encoding="utf-8")
    html_path.write_text(md.to_html(text, title), encoding="utf-8")
    return [*plots, md_path, html_path]


def city_attribution(scenario: Scenario) -> str:
    """What the scenario's road data asks to be credited with (OSM: ODbL); '' for a grid."""
    if dict(scenario.city).get("kind", "grid") == "grid":
        return ""
    return load_city(CitySpec.from_toml(scenario.city)).attribution


def render(
    run: RunData,
    scenario: Scenario,
    studies: Studies | None,
    attribution: str | None,
    version: str,
) -> str:
    """report.md's text."""
    m = run.metrics
    flat = flatten(m)
    info = m["run"]
    parts = [
        f"# lazooz-sim report: {scenario.name}, seed {info['seed']}\n",
        md.table(
            ("run", ""),
            [
                ("scenario", f"`{scenario.name}` ({scenario.source or 'built in code'})"),
                ("seed", str(info["seed"])),
                ("code version", version),
                ("city", _city(scenario, attribution)),
                ("riders / drivers", f"{info['riders']:,} / {info['drivers']:,}"),
                ("network hosts", f"{info['hosts']:,}"),
                (
                    "simulated",
                    f"{info['sim_minutes']:g} min ({info['demand_minutes']:g} of demand, "
                    "then the drain)",
                ),
                ("events", f"{info['events']:,}"),
            ],
        ),
        "## Key results\n",
        md.table(
            ("metric", "value"), [(label, md.fmt(flat.get(k), k)) for k, label in KEY_METRICS]
        ),
        "## Plots\n",
    ]
    for name in RUN_PLOTS:
        parts.append(f"![{name[:-4]}]({name})\n\n{PLOT_CAPTIONS[name]}\n")
    parts += _summaries(m)
    parts += _groups(m)
    parts += _adversarial(m.get("adversarial") or {})
    parts += _privacy(m.get("privacy") or {})
    if studies is not None:
        parts += [_resolution(s) for s in studies.resolution]
        if studies.shareability is not None:
            parts.append(_shareability(studies.shareability))
    parts += _timing(run.timing)
    parts += _parameters(scenario)
    return "\n".join(parts)


def _city(scenario: Scenario, attribution: str | None) -> str:
    c = dict(scenario.city)
    if c.get("kind", "grid") == "grid":
        text = (
            f"synthetic grid {c.get('size_km', 10)} x {c.get('size_km', 10)} km, "
            f"{c.get('block_m', 200)} m blocks"
        )
    else:
        text = f"OpenStreetMap: {c.get('name') or c.get('path')}"
    return f"{text}; {attribution}" if attribution else text


def _summaries(m: dict[str, Any]) -> list[str]:
    rows = []
    for key, label in (*SUMMARY_SECTIONS, *_more_summaries(m)):
        s = _get(m, key)
        if isinstance(s, dict) and "n" in s:
            rows.append((label, s["n"], s["mean"], s["p50"], s["p90"], s["max"]))
    return ["## Distributions\n", md.table(("quantity", "n", "mean", "median", "p90", "max"), rows)]


def _more_summaries(m: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        ("drivers.detour_m_per_driver", "Detour per carrying driver (m)"),
        ("drivers.riders_per_driver", "Riders per offering driver"),
        ("tokens.per_driver", "Tokens per offering driver"),
        ("traffic.msgs_per_peer_hour", "Messages per peer per hour"),
        ("traffic.bytes_per_peer_hour", "Bytes per peer per hour"),
    ]


def _get(tree: dict[str, Any], dotted: str) -> Any:
    node: Any = tree
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _groups(m: dict[str, Any]) -> list[str]:
    """Every scalar of the grouped metrics, one table per group."""
    out = ["## All metrics\n", "Every key of metrics.json (docs/simulator.md §Metrics).\n"]
    for group in (
        "requests",
        "drivers",
        "seats",
        "vehicle_km",
        "tokens",
        "receipts",
        "traffic",
        "refused_commands",
    ):
        value = m.get(group)
        if not isinstance(value, dict):
            continue
        rows = [
            (f"`{k}`", md.fmt(v, k)) for k, v in flatten(value).items() if not _in_summary(value, k)
        ]
        if rows:
            out += [f"### {group}\n", md.table(("key", "value"), rows)]
    for key in ("pooled_rides", "rides_done"):
        out.append(f"`{key}`: {md.fmt(m.get(key))}\n")
    return out


def _in_summary(group: dict[str, Any], key: str) -> bool:
    """Keys inside a count/mean/median summary are already in the Distributions table."""
    parent = _get(group, key.rsplit(".", 1)[0]) if "." in key else None
    return isinstance(parent, dict) and set(parent) == {"n", "mean", "p50", "p90", "max"}


def _adversarial(adv: dict[str, Any]) -> list[str]:
    if not adv:
        return []
    out = ["## Adversaries\n"]
    if "collusion" in adv:
        col = adv["collusion"]
        c, h = col["colluder_credit"], col["honest_driver_credit"]
        plain = [r for r in col["rings"] if not r["equivocator"]]
        claimed = sum(r["claimed_tokens"] for r in plain)
        credited = sum(r["credited_tokens"] for r in plain)
        kept = f" ({credited / claimed:.0%})" if claimed else ""
        out += [
            "Colluding rings mint receipts for rides that never happened. The credit rule's "
            "anti-abuse terms (SPEC §8–10: repeated pairs halved, a daily cap) decide how "
            "much of it counts:\n",
            f"Ring drivers claimed {md.fmt(claimed)} tokens and were credited "
            f"{md.fmt(credited)}{kept}; an equivocator's lines stop counting once its fork is "
            "known.\n",
            md.table(
                ("drivers", "n", "mean tokens", "median", "max"),
                [
                    ("colluding ring drivers", c["n"], c["mean"], c["p50"], c["max"]),
                    ("honest drivers", h["n"], h["mean"], h["p50"], h["max"]),
                ],
            ),
            md.table(
                (
                    "ring",
                    "fake rides done",
                    "tokens claimed",
                    "tokens credited",
                    "lines halved",
                    "lines capped",
                    "verdicts",
                ),
                [
                    (
                        r["name"] + (" (equivocator)" if r["equivocator"] else ""),
                        r["fake_rides_done"],
                        r["claimed_tokens"],
                        r["credited_tokens"],
                        r["halved"],
                        r["capped"],
                        ", ".join(f"{k} {v}" for k, v in r["lines"].items()) or "–",
                    )
                    for r in col["rings"]
                ],
            ),
        ]
    if "spam" in adv:
        spam = adv["spam"]
        rows = [(f"sent: {k}", v) for k, v in spam["sent"].items()]
        rows += [
            (f"rejected by honest peers: {k}", v) for k, v in spam["rejected_by_honest"].items()
        ]
        out += [f"{spam['spammers']} spammers.\n", md.table(("spam", "count"), rows)]
    if "forks" in adv:
        forks = adv["forks"]
        rows = [(a, n) for a, n in forks["authors_detected_by_honest"].items()]
        known = ", ".join(forks["reference_knows"]) or "none"
        out += [
            "Equivocating authors (two devices, one key, two log histories) and how many "
            "honest peers saw the fork:\n",
            md.table(("author", "honest peers who detected the fork"), rows or [("none", 0)]),
            f"The reference ledger knows the forks of: {known}.\n",
        ]
    return out


def _privacy(p: dict[str, Any]) -> list[str]:
    if not p:
        return []
    rows = [
        (label, p[key]["n"], p[key]["mean"], p[key]["p50"], p[key]["p90"], p[key]["max"])
        for key, label in (
            ("pickup_cell_nodes", "road nodes in the pickup cell"),
            ("dropoff_cell_nodes", "road nodes in the drop-off cell"),
            ("pair_nodes", "(pickup, drop-off) node pairs behind the cell pair"),
        )
        if isinstance(p.get(key), dict)
    ]
    return [
        "## Privacy\n",
        f"A request is gossiped as two H3 cells at resolution {p['resolution']}; an observer "
        "learns only that the rider starts and ends at one of the road nodes inside them "
        f"({p['road_nodes']:,} nodes in the city). {p['requests_in_cells_of_one_node']} "
        "requests came from a cell holding a single road node.\n",
        md.table(("places behind each request", "n", "mean", "median", "p90", "max"), rows),
    ]


def _resolution(study: ResolutionStudy) -> str:
    exact = study.outcomes[0]
    rows = []
    for o in study.outcomes:
        rows.append(
            (
                "exact points (oracle)"
                if o.resolution is None
                else f"H3 resolution {o.resolution}",
                o.candidates_per_request,
                o.reveals_per_request,
                o.matched,
                f"{o.matched / exact.matched:.0%}" if exact.matched else "–",
                o.pooled_rides,
                o.shared_km,
            )
        )
    return (
        f"## Resolution sweep: {study.where}\n\n"
        f"Match quality lost by matching on gossiped cells, then confirming on revealed points "
        f"(at most 3 reveals a rider), against matching on exact points: {study.offers:,} "
        f"offers, {study.requests:,} requests in one batch ({study.seconds:.1f} s).\n\n"
        + md.table(
            (
                "matching on",
                "candidates / request",
                "reveals / request",
                "matched",
                "of the oracle",
                "pooled",
                "shared km",
            ),
            rows,
        )
    )


def _shareability(study: ShareStudy) -> str:
    delays = sorted({r.delay_min for r in study.rows})
    densities = sorted({r.trips_per_hour for r in study.rows})
    cell = {(r.trips_per_hour, r.delay_min): r for r in study.rows}
    rows = [
        (
            f"{lam:g}",
            *(f"{cell[lam, d].shared:.0%} ({cell[lam, d].with_partner:.0%})" for d in delays),
        )
        for lam in densities
    ]
    return (
        f"## Shareability ({study.city}, {study.model} demand)\n\n"
        "Share of trips that could ride shared (in a maximum matching of shareable pairs), "
        "with the share that has any partner in brackets, against trips per hour and the "
        f"allowed delay Δ (Santi et al. 2014; docs/simulator-city.md; {study.seconds:.1f} s).\n\n"
        + md.table(("trips/h", *(f"Δ {d:g} min" for d in delays)), rows)
    )


def _timing(timing: dict[str, float]) -> list[str]:
    if not timing:
        return []
    return [
        "## Timing\n",
        "The one machine-dependent section (timing.json).\n",
        md.table(
            ("", "value"),
            [
                ("wall time (s)", timing.get("wall_s")),
                ("CPU time (s)", timing.get("cpu_s")),
                ("simulated time (s)", timing.get("sim_s")),
                ("simulated / wall time", timing.get("speedup")),
                ("simulated / CPU time", timing.get("speedup_cpu")),
                ("events", timing.get("events")),
                ("events per second", timing.get("events_per_s")),
            ],
        ),
    ]


def _parameters(scenario: Scenario) -> list[str]:
    values = _plain(scenario)
    assert isinstance(values, dict)
    values.pop("source", None)
    rows = [(f"`{k}`", md.fmt(v, k)) for k, v in sorted(flatten(values).items())]
    return [
        "## Scenario parameters\n",
        "Every setting of the run, defaults included (docs/simulator.md §Scenarios).\n",
        md.table(("parameter", "value"), rows),
    ]


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
