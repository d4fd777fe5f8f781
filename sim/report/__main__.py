"""``python -m sim.report RUN_DIR SCENARIO.toml [--studies]``: (re)write a finished run's report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from protocol.errors import ConfigError
from sim import scenario as sim_scenario
from sim.report import run_studies, write_report
from sim.report.data import load_run

app = typer.Typer(add_completion=False)


@app.command()
def main(
    run_dir: Annotated[Path, typer.Argument(help="A run's --out directory (metrics.json, CSVs).")],
    scenario: Annotated[Path, typer.Argument(help="The scenario file the run was made from.")],
    studies: Annotated[
        bool, typer.Option(help="Add the resolution sweeps and the shareability table.")
    ] = False,
    synthetic: Annotated[
        bool, typer.Option(help="With --studies: also sweep the synthetic grid city.")
    ] = True,
    studies_from: Annotated[
        Path | None,
        typer.Option(help="Run the studies on this scenario instead (e.g. the full city)."),
    ] = None,
) -> None:
    """Plots, report.md and report.html for a finished run."""
    try:
        # The run may have been made with --seed: its studies use the same one.
        loaded = sim_scenario.load(scenario).with_seed(load_run(run_dir).metrics["run"]["seed"])
        other = sim_scenario.load(studies_from) if studies_from else loaded
        found = run_studies(other, synthetic=synthetic) if studies else None
        paths = write_report(run_dir, loaded, studies=found)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc)) from None
    for path in paths:
        typer.echo(path)


if __name__ == "__main__":
    app()
